"""A client that stops reading neither delays the others nor grows server memory: resync, then close."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import statistics
import time

import psutil
import pytest
import websockets

from core.publish import game_events_publish_async
from tests.realtime.helpers import FeedClient, daphne_start, game

pytestmark = pytest.mark.timeout(120)
PAD = "x" * 65536  # 64 KB per game state: 40 events/s offer ~2.5 MB/s to each client


def p99(values: list[float]) -> float:
    return statistics.quantiles(values, n=100)[98]


async def _publish_for(seconds: float, counter: list[int]) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        i = counter[0]
        counter[0] += 1
        await game_events_publish_async(
            [{"type": "price_update", "game": game(f"s{i % 10}", price=i, sentAt=time.time(), pad=PAD)}]
        )
        await asyncio.sleep(0.025)


async def _stalled_client(port: int) -> websockets.ClientConnection:
    """A client with a tiny receive buffer whose library stops reading after one queued message."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", port))
    sock.setblocking(False)
    return await websockets.connect(f"ws://127.0.0.1:{port}/ws/games?protocol=2", sock=sock, max_queue=1, max_size=None)


async def test_slow_client_does_not_delay_others_and_memory_stays_bounded(spawn, service_env) -> None:
    port, proc = daphne_start(
        spawn, service_env, "daphne-slow",
        REALTIME_SLOW_CLIENT_BYTES=262144, REALTIME_SLOW_CLIENT_CLOSE_S=5, REALTIME_WINDOW_MS=100,
    )
    server = psutil.Process(proc.proc.pid)
    readers = [FeedClient(port, f"reader{i}") for i in range(4)]
    for reader in readers:
        await reader.connect()
    counter = [0]

    # Phase A: no slow client.
    await _publish_for(1.0, counter)  # warm-up
    for reader in readers:
        reader.latencies.clear()
    await _publish_for(4.0, counter)
    await asyncio.sleep(0.3)
    baseline = [lat for r in readers for lat in r.latencies]

    # Phase B: one client never reads, one pauses for 4 s then reads again.
    never = await _stalled_client(port)
    pauser = await _stalled_client(port)
    for reader in readers:
        reader.latencies.clear()
    rss_before = server.memory_info().rss
    rss_max = rss_before
    publishing = asyncio.create_task(_publish_for(10.0, counter))
    resumed_reading = asyncio.get_running_loop().time() + 4.0
    pauser_frames: list[str] = []
    while not publishing.done():
        rss_max = max(rss_max, server.memory_info().rss)
        if asyncio.get_running_loop().time() > resumed_reading:
            with contextlib.suppress(TimeoutError):
                while True:
                    pauser_frames.append(await asyncio.wait_for(pauser.recv(), 0.05))
        await asyncio.sleep(0.2)
    await asyncio.sleep(0.3)
    loaded = [lat for r in readers for lat in r.latencies]

    # The others were not delayed (generous tolerance: the machine is shared).
    assert len(loaded) > 100 and len(baseline) > 50
    assert p99(loaded) <= 3 * p99(baseline) + 0.5, (p99(baseline), p99(loaded))
    # Every reader ends with the latest state of every game.
    last = counter[0] - 1
    for reader in readers:
        await reader.wait_for(lambda r=reader: max(g["price"] for g in r.state["all"].values()) == last)
    # ~25 MB were offered to the stalled client; the server kept at most its limit of it.
    assert rss_max - rss_before < 15 * 1024 * 1024, (rss_before, rss_max)

    # The pausing client was told to resync once it caught up; the stalled one was disconnected.
    pauser_types = [frame.split('"type":"', 1)[1].split('"', 1)[0] for frame in pauser_frames]
    assert "resync" in pauser_types, pauser_types[:20]
    resync = next(f for f in pauser_frames if '"type":"resync"' in f)
    assert '"reason":"slow_client"' in resync
    got = 0
    with pytest.raises(websockets.ConnectionClosed):
        while True:
            await asyncio.wait_for(never.recv(), 5)
            got += 1
    assert got < counter[0] / 4  # it got a fraction of the updates before being dropped
    await pauser.close()
    for reader in readers:
        await reader.close()


async def test_client_asking_without_reading_is_closed(spawn, service_env) -> None:
    """Replies to requests bypass the drop-when-lagging rule (they are answers), but not without limit."""
    port, proc = daphne_start(spawn, service_env, "daphne-asker", REALTIME_SLOW_CLIENT_BYTES=262144)
    reader = FeedClient(port, "bystander")
    await reader.connect()
    await game_events_publish_async(  # a big `initial`: 10 games x 64 KB
        [{"type": "game_added", "game": game(f"r{i}", price=i, pad=PAD)} for i in range(10)]
    )
    await reader.wait_for(lambda: len(reader.state["all"]) == 10)
    server = psutil.Process(proc.proc.pid)
    rss_before = server.memory_info().rss
    asker = await _stalled_client(port)
    closed = False
    for _ in range(200):  # up to 130 MB of answers if nothing stopped it
        try:
            await asker.send('{"type":"refresh"}')
        except websockets.ConnectionClosed:
            closed = True
            break
        await asyncio.sleep(0.02)
    if not closed:
        with pytest.raises(websockets.ConnectionClosed):
            while True:
                await asyncio.wait_for(asker.recv(), 5)
    assert server.memory_info().rss - rss_before < 30 * 1024 * 1024
    await reader.send({"type": "ping"})
    await reader.next_frame("heartbeat")  # the server is fine and still answering others
    await reader.close()
