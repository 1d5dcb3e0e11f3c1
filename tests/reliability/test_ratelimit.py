"""The app-level rate limiter (core/ratelimit.py) at the ASGI level against the real Redis: the budget is
shared by every process (two middleware instances = two daphnes), per client address, only on the
configured prefixes; over it a JSON 429 with Retry-After; with Redis down requests are let through."""

from __future__ import annotations

from typing import Any

import orjson
from django.test import override_settings

from core.ratelimit import RateLimitMiddleware
from core.redisurl import redis_url_parse
from tests.conftest import free_port


async def _app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


async def _get(app: Any, path: str, client: str = "10.0.0.1") -> tuple[int, dict[bytes, bytes], bytes]:
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "GET", "path": path, "client": (client, 5555), "headers": []}
    await app(scope, None, send)
    return sent[0]["status"], dict(sent[0]["headers"]), sent[1]["body"]


@override_settings(RATELIMIT_EXPENSIVE_PER_WINDOW=3, RATELIMIT_WINDOW_S=20)
async def test_budget_is_shared_across_processes_and_per_address() -> None:
    one, two = RateLimitMiddleware(_app), RateLimitMiddleware(_app)
    statuses = [(await _get(app, "/api/price-history/123"))[0] for app in (one, two, one)]
    assert statuses == [200, 200, 200]
    status, headers, body = await _get(two, "/api/price-history/batch")
    assert status == 429 and 1 <= int(headers[b"retry-after"]) <= 20
    assert orjson.loads(body)["retryAfter"] == int(headers[b"retry-after"])
    assert (await _get(one, "/api/price-history/123", client="10.0.0.2"))[0] == 200  # another address
    assert (await _get(one, "/api/games/frontend"))[0] == 200  # not a limited prefix


async def test_requests_pass_when_redis_is_down() -> None:
    dead = f"redis://127.0.0.1:{free_port()}/0"
    with override_settings(REDIS_URL=dead, REDIS_TARGET=redis_url_parse(dead), RATELIMIT_EXPENSIVE_PER_WINDOW=1):
        app = RateLimitMiddleware(_app)
        assert [(await _get(app, "/api/price-history/1"))[0] for _ in range(3)] == [200, 200, 200]
