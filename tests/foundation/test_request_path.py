"""The Django request path stays on the event loop: every MIDDLEWARE is async-capable (an async view never
hops threads), and static files keep WhiteNoise's response and caching headers on the async path."""

from __future__ import annotations

import logging

import pytest
from django.conf import settings
from django.core.handlers.asgi import ASGIHandler
from django.test import Client
from django.utils.module_loading import import_string

from tests.api.test_fastpath import get

ASSET = "/static/board/board.js"


def test_every_middleware_class_is_async_capable() -> None:
    for dotted in settings.MIDDLEWARE:
        middleware = import_string(dotted)
        # Django's defaults when a class says nothing: sync_capable=True, async_capable=False.
        assert getattr(middleware, "async_capable", False), f"{dotted} is sync-only: a thread hop per request"


@pytest.mark.parametrize("extra", [[], ["whitenoise.middleware.WhiteNoiseMiddleware"]], ids=["project", "control"])
def test_the_async_handler_adapts_no_middleware(settings, caplog, extra: list[str]) -> None:
    """Django logs (with DEBUG on) every handler it has to wrap in sync_to_async/async_to_sync; the
    control (WhiteNoise's own sync-only middleware appended) shows the check would see one."""
    settings.DEBUG = True
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, *extra]
    caplog.set_level(logging.DEBUG, logger="django.request")
    ASGIHandler()
    adapted = [r.getMessage() for r in caplog.records if "adapted" in r.getMessage()]
    if extra:
        assert adapted and all("whitenoise.middleware.WhiteNoiseMiddleware" in message for message in adapted)
    else:
        assert adapted == []


async def asgi_get(path: str, headers: dict[str, str] | None = None, method: str = "GET") -> tuple[int, dict, bytes]:
    """One request through Django's ASGI handler (the async middleware chain)."""
    return await get(ASGIHandler(), path, headers=headers, method=method)


def sync_get(path: str, **headers: str) -> tuple[int, dict, bytes]:
    """The same request through the sync handler (WhiteNoise's own code path)."""
    response = Client().get(path, HTTP_HOST="127.0.0.1", **headers)
    return response.status_code, {k.lower(): v for k, v in response.items()}, b"".join(response.streaming_content)


async def test_static_files_keep_whitenoise_headers_on_the_async_path() -> None:
    status, headers, body = await asgi_get(ASSET)
    sync_status, sync_headers, sync_body = sync_get(ASSET)
    assert (status, headers, body) == (sync_status, sync_headers, sync_body)
    assert status == 200 and len(body) > 500 and int(headers["content-length"]) == len(body)
    assert headers["cache-control"].startswith("max-age=") and "public" in headers["cache-control"]
    assert headers["etag"] and headers["last-modified"] and headers["access-control-allow-origin"] == "*"
    assert headers["x-content-type-options"] == "nosniff"  # SecurityMiddleware still runs before WhiteNoise


async def test_static_files_answer_conditional_and_head_requests_on_the_async_path() -> None:
    _, headers, _ = await asgi_get(ASSET)
    status, not_modified, body = await asgi_get(ASSET, {"If-None-Match": headers["etag"]})
    assert (status, body) == (304, b"") and not_modified["cache-control"] == headers["cache-control"]
    status, head, body = await asgi_get(ASSET, method="HEAD")
    assert (status, body, head["content-length"]) == (200, b"", headers["content-length"])


async def test_other_requests_pass_through_the_async_whitenoise() -> None:
    status, headers, _ = await asgi_get("/static/board/missing.js")
    assert status == 404 and "etag" not in headers
