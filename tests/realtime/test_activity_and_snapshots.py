"""/ws/activity (one game by slug, all markets) and /ws/games snapshots built from the database."""

from __future__ import annotations

import asyncio

import orjson
import pytest
import websockets
from django.db import connection

from core.publish import game_events_publish_async
from markets.prices import prices_read
from readmodels.frontend import frontend_game_build, game_views_load
from readmodels.selectors import frontend_games_build
from tests.api.seed import price_write, seed
from tests.realtime.helpers import FeedClient, daphne_start

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def data(service_env):
    """Seeded rows (sync fixture: the ORM is not called from the test's event loop)."""
    return seed()


async def _recv(ws: websockets.ClientConnection, kind: str, timeout_s: float = 5) -> dict:
    while True:
        frame = orjson.loads(await asyncio.wait_for(ws.recv(), timeout_s))
        if frame["type"] == kind:
            return frame


def _in_thread(func, *args, **kwargs):
    """Run an ORM read in a worker thread and close that thread's connection (the test DB is dropped later)."""
    def run():
        try:
            return func(*args, **kwargs)
        finally:
            connection.close()
    return asyncio.to_thread(run)


def _outcome(activity_game: dict, token: str) -> dict:
    return next(o for m in activity_game["markets"] for o in m["outcomes"] if o["clobTokenId"] == token)


async def test_activity_feed_by_slug(spawn, service_env, data) -> None:
    price_write(data.home_token, 0.59, 0.61)
    port, _ = daphne_start(spawn, service_env, "daphne-activity", REALTIME_WINDOW_MS=50)
    async with websockets.connect(f"ws://127.0.0.1:{port}/ws/activity?protocol=2") as ws:
        await ws.send(orjson.dumps({"type": "subscribe", "slug": "no-such-game"}).decode())
        error = await _recv(ws, "error")
        assert error["message"] == "Game not found: no-such-game"

        await ws.send(orjson.dumps({"type": "subscribe", "slug": data.live.slug}).decode())
        subscribed = await _recv(ws, "subscribed")
        assert subscribed["slug"] == data.live.slug
        initial = (await _recv(ws, "initial"))["game"]
        assert initial["id"] == data.live.gamma_id and initial["slug"] == data.live.slug
        assert initial["markets"][0]["conditionId"] == data.condition_id
        assert _outcome(initial, data.home_token)["price"] == 60.0  # the live mid from Redis
        assert initial["homeTeam"]["abbr"] == "BOS"

        views = await _in_thread(game_views_load, [data.live.gamma_id])
        changed = {"token_id": data.home_token, "market_id": data.condition_id,
                   "bid": 0.70, "ask": 0.72, "mid": 0.71, "last": 0.71}
        front = frontend_game_build(views[data.live.gamma_id], {})
        price_write(data.home_token, 0.70, 0.72)  # the stream worker writes the hash, then publishes
        await game_events_publish_async([{"type": "price_update", "game": front, "outcomes": [changed]}])
        update = await _recv(ws, "price_update")
        assert _outcome(update["game"], data.home_token)["price"] == 71.0
        assert _outcome(update["game"], data.home_token)["buyPrice"] == 72.0
        assert update["seq"] == 1

        await ws.send('{"type":"ping"}')
        assert (await _recv(ws, "heartbeat"))["type"] == "heartbeat"
        await ws.send('{"type":"refresh"}')
        refreshed = await _recv(ws, "initial")
        assert _outcome(refreshed["game"], data.home_token)["price"] == 71.0

        await ws.send('{"type":"unsubscribe"}')
        await _recv(ws, "unsubscribed")
        await game_events_publish_async([{"type": "price_update", "game": front, "outcomes": [changed]}])
        with pytest.raises(TimeoutError):
            await _recv(ws, "price_update", timeout_s=0.6)


async def test_games_snapshot_and_refresh_come_from_the_database(spawn, service_env, data) -> None:
    price_write(data.home_token, 0.63, 0.65)
    port, _ = daphne_start(spawn, service_env, "daphne-snapshot")
    client = FeedClient(port)
    hello = await client.connect()
    assert hello["type"] == "subscribed" and hello["clientCount"] == 1
    await client.send({"type": "subscribe", "sports": ["nba"], "games": [data.live.gamma_id]})
    nba = await client.next_frame("snapshot")
    await client.wait_for(lambda: len(client.of_type("snapshot")) == 2)
    one = client.of_type("snapshot")[1]

    views = await _in_thread(game_views_load, None, include_ended=False)
    prices = await _in_thread(prices_read, [t for v in views.values() for t in v.token_ids])
    # The REST FrontendGame, stored history (chartData, percentChange) included.
    built = await _in_thread(frontend_games_build, views, prices)
    want = {gid: orjson.loads(orjson.dumps(game)) for gid, game in built.items()}
    nba_ids = {gid for gid, g in want.items() if g["sport"] == "nba"}
    assert {g["id"] for g in nba["games"]} == nba_ids
    assert data.final.gamma_id not in nba_ids  # ended games are not in the feed
    live = next(g for g in nba["games"] if g["id"] == data.live.gamma_id)
    assert live == want[data.live.gamma_id]
    assert live["homeTeam"]["probability"] == 64 and live["isLive"] is True
    assert one["topic"] == f"game:{data.live.gamma_id}" and one["games"] == [live]

    await client.send({"type": "refresh"})
    initial = await client.next_frame("initial")
    assert {g["id"] for g in initial["games"]} == set(want)
    await client.close()
