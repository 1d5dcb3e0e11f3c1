"""Client protocol of /ws/games: bad input gets an error frame and the socket stays usable; Origin;
limits; server heartbeats; close 1001 on shutdown."""

from __future__ import annotations

import asyncio
import time

import orjson
import pytest
import websockets

from core.publish import game_events_publish_async
from tests.realtime.helpers import FeedClient, daphne_start, game

pytestmark = pytest.mark.timeout(60)


async def _roundtrip_ok(client: FeedClient) -> None:
    await client.send({"type": "ping"})
    await client.next_frame("heartbeat")


async def test_bad_input_gets_error_frames_and_the_connection_stays_usable(spawn, service_env) -> None:
    port, _ = daphne_start(
        spawn, service_env, "daphne-proto", REALTIME_MAX_SUBSCRIPTIONS=3, REALTIME_MAX_TRANSPORT_BYTES=4_194_304
    )
    client = FeedClient(port)
    await client.connect()
    cases: list[tuple[str | bytes, str]] = [
        ("{not json", "invalid JSON"),
        ('{"type":"launch_rockets"}', "unknown message type 'launch_rockets'"),
        ('["subscribe"]', "expected a JSON object"),
        ('{"type":7}', "expected a JSON object"),
        ('{"type":"subscribe","sports":"nba"}', "invalid 'subscribe' message: sports"),
        ('{"type":"subscribe","topics":["weather:rain"]}', "invalid topic"),
        ('{"type":"resume","seqs":{"all":-4}}', "invalid 'resume' message"),
        ('{"type":"subscribe"}', "subscribe needs"),
        ('{"type":"subscribe","sports":["a","b","c","d"]}', "too many subscriptions (limit 3"),
        ("x" * 200_000, "frame too large"),
        ('{"type":"ping","pad":"' + "y" * 2_000_000 + '"}', "frame too large"),  # over daphne's default 1 MiB
        (b"\x00\x01binary", "binary frames are not supported"),
    ]
    for raw, expected in cases:
        await client.send(raw)
        error = await client.next_frame("error")
        assert expected in error["message"], (raw[:40], error)
        await _roundtrip_ok(client)

    # Still a working subscriber after all that.
    await client.send({"type": "subscribe", "sports": ["nba"]})
    await client.next_frame("snapshot")
    await game_events_publish_async([{"type": "game_added", "game": game("p1")}])
    await client.wait_for(lambda: "p1" in client.state["sport:nba"])
    assert client.closed is None
    await client.close()


async def test_origin_check(spawn, service_env) -> None:
    port, _ = daphne_start(spawn, service_env, "daphne-origin", CORS_ALLOWED_ORIGINS="https://app.mevu.example")
    url = f"ws://127.0.0.1:{port}/ws/games?protocol=2"
    with pytest.raises(websockets.InvalidStatus) as refused:
        await websockets.connect(url, origin="https://evil.example")
    assert refused.value.response.status_code == 403
    for origin in ("https://app.mevu.example", "http://localhost:3000", None):  # allowed, ALLOWED_HOSTS, no Origin
        async with websockets.connect(url, origin=origin) as ws:
            assert orjson.loads(await ws.recv())["type"] == "subscribed"


async def test_any_origin_by_default_and_missing_origin_refused_when_configured(spawn, service_env) -> None:
    port, _ = daphne_start(spawn, service_env, "daphne-noorigin", REALTIME_ALLOW_NO_ORIGIN="false")
    async with websockets.connect(f"ws://127.0.0.1:{port}/ws/games", origin="https://another-site.example") as ws:
        assert orjson.loads(await ws.recv())["type"] == "subscribed"  # public, cookie-less: like the REST API
    with pytest.raises(websockets.InvalidStatus):
        await websockets.connect(f"ws://127.0.0.1:{port}/ws/games")


async def test_server_heartbeat_and_close_1001_on_shutdown(spawn, service_env) -> None:
    port, proc = daphne_start(spawn, service_env, "daphne-heartbeat", REALTIME_HEARTBEAT_S=0.5)
    client = FeedClient(port)
    await client.connect()
    started = time.monotonic()
    await client.wait_for(lambda: len(client.of_type("heartbeat")) >= 2, 5)
    assert time.monotonic() - started < 3
    proc.terminate()
    await client.wait_for(lambda: client.closed is not None, 10)
    assert client.closed == 1001
    assert client.of_type("error")[-1]["message"] == "Server shutting down"
    await asyncio.to_thread(proc.proc.wait, 10)
