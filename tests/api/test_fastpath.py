"""The ASGI fast path answers warm listing hits exactly as Django would, and leaves everything else to Django."""

from __future__ import annotations

import asyncio
import gc
import time
from typing import Any

import orjson
import pytest
from asgiref.sync import sync_to_async
from django.core.asgi import get_asgi_application
from django.db import connections

from api.fastpath import ListingFastPath
from games.models import Game
from markets.models import Outcome
from readmodels import listing as listing_module
from readmodels.listing import listing_invalidate_async, listing_shutdown
from tests.api.seed import price_write, seed

pytestmark = pytest.mark.django_db(transaction=True)
ORIGIN = "https://app.example"


class Spy:
    """The Django ASGI app, counting the requests that reached it."""

    def __init__(self) -> None:
        self.django = get_asgi_application()
        self.calls = 0

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        self.calls += 1
        await self.django(scope, receive, send)


async def get(app: Any, path: str, query: str = "", headers: dict[str, str] | None = None,
              method: str = "GET") -> tuple[int, dict[str, str], bytes]:
    sent: list[dict[str, Any]] = []
    raw = [(k.lower().encode(), v.encode()) for k, v in {"host": "127.0.0.1", **(headers or {})}.items()]
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
             "scheme": "http", "path": path, "raw_path": path.encode(), "root_path": "",
             "query_string": query.encode(), "headers": raw, "client": ("127.0.0.1", 5000),
             "server": ("127.0.0.1", 8000)}

    done = asyncio.Event()
    requested = False

    async def receive() -> dict[str, Any]:
        nonlocal requested
        if not requested:
            requested = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await done.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)
        if message["type"] == "http.response.body" and not message.get("more_body"):
            done.set()

    await app(scope, receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    headers_out = {k.decode().lower(): v.decode() for k, v in start["headers"]}
    return start["status"], headers_out, body


def seed_and_close() -> None:
    seed()
    connections.close_all()


@pytest.fixture
async def app(settings) -> Any:
    settings.CORS_ALLOWED_ORIGINS, settings.CORS_ALLOW_ALL_ORIGINS = [ORIGIN], False
    # Request threads of the in-process ASGI handler must not keep connections past the test database.
    shared = connections["default"].settings_dict
    max_age, shared["CONN_MAX_AGE"] = shared["CONN_MAX_AGE"], 0
    await sync_to_async(seed_and_close)()
    spy = Spy()
    yield ListingFastPath(spy), spy
    await listing_shutdown()
    await sync_to_async(connections.close_all)()
    shared["CONN_MAX_AGE"] = max_age
    gc.collect()  # connections of finished request threads close when collected


@pytest.mark.parametrize(
    "headers",
    [{}, {"Origin": ORIGIN, "Accept-Encoding": "gzip, br"}, {"Origin": "https://evil.example"}],
    ids=["plain", "cors-gzip", "foreign-origin"],
)
async def test_warm_hit_skips_django_with_identical_headers(app, headers) -> None:
    fast, spy = app
    cold = await get(fast, "/api/games/frontend", "limit=5&sport=nba", headers)
    assert spy.calls == 1 and cold[0] == 200
    warm = await get(fast, "/api/games/frontend", "sport=NBA&limit=5", headers)  # same query, other spelling
    assert spy.calls == 1, "a warm hit must not enter Django"
    assert warm == cold

    etag = cold[1]["etag"]
    cold_304 = await get(spy, "/api/games/frontend", "limit=5&sport=nba", {**headers, "If-None-Match": etag})
    warm_304 = await get(fast, "/api/games/frontend", "limit=5&sport=nba", {**headers, "If-None-Match": etag})
    assert spy.calls == 2
    assert cold_304 == warm_304 and warm_304[0] == 304 and warm_304[2] == b""
    if headers.get("Origin") == ORIGIN:
        assert warm[1]["access-control-allow-origin"] == ORIGIN and warm[1]["content-encoding"] == "gzip"
    else:
        assert "access-control-allow-origin" not in warm[1]


async def test_everything_else_falls_through_to_django(app) -> None:
    fast, spy = app
    await get(fast, "/api/games/frontend")
    assert spy.calls == 1
    cases = [
        ("GET", "/api/games/frontend", "page=abc", {}, 400),  # invalid parameters: Django's 400
        ("GET", "/api/games/frontend", "", {"host": "evil.example"}, 400),  # DisallowedHost
        ("HEAD", "/api/games/frontend", "", {}, 405),
        ("GET", "/api/games/frontend", "limit=5&limit=6", {}, 200),  # repeated parameter
        ("GET", "/api/games", "", {}, 200),
    ]
    for n, (method, path, query, headers, status) in enumerate(cases, start=2):
        result = await get(fast, path, query, headers, method=method)
        assert result[0] == status and spy.calls == n, (method, path, query, headers)
    bad = await get(fast, "/api/games/frontend", "page=abc")
    assert bad[1]["content-type"].startswith("application/json")


async def test_version_move_is_refreshed_in_background_not_through_django(app) -> None:
    fast, spy = app
    seeded = await sync_to_async(Game.objects.get)(status="live")
    first = await get(fast, "/api/games/frontend", "live=true")
    assert spy.calls == 1 and orjson.loads(first[2])["games"][0]["id"] == seeded.gamma_id
    token = await sync_to_async(home_token)(seeded)
    await sync_to_async(price_write)(token, 0.79, 0.81)
    before = listing_version()
    await listing_invalidate_async()
    deadline = time.monotonic() + 3
    while listing_version() == before and time.monotonic() < deadline:  # the watcher sees the move
        await asyncio.sleep(0.02)

    stale = await get(fast, "/api/games/frontend", "live=true")
    assert stale == first and spy.calls == 1  # previous version served while one task refreshes
    fresh = stale
    while fresh[2] == first[2] and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
        fresh = await get(fast, "/api/games/frontend", "live=true")
    assert orjson.loads(fresh[2])["games"][0]["homeTeam"]["probability"] == 80
    assert spy.calls == 1, "the refresh went through the listing singleflight, not Django"


def listing_version() -> int | None:
    return listing_module._cluster().version


def home_token(game: Game) -> str:
    return Outcome.objects.get(market__game=game, team=game.home_team).token_id


async def test_default_cors_allows_any_origin_on_both_paths(app, settings) -> None:
    """Without CORS_ALLOWED_ORIGINS the public listing answers every origin with `*`, warm or cold."""
    settings.CORS_ALLOWED_ORIGINS, settings.CORS_ALLOW_ALL_ORIGINS = [], True
    fast, spy = app
    foreign = {"Origin": "https://anywhere.example"}
    cold = await get(fast, "/api/games/frontend", "limit=3", foreign)
    warm = await get(fast, "/api/games/frontend", "limit=3", foreign)
    assert spy.calls == 1 and warm == cold and cold[0] == 200
    assert cold[1]["access-control-allow-origin"] == "*" and "access-control-allow-credentials" not in cold[1]
