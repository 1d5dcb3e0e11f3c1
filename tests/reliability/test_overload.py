"""Overload: a burst of 5,000 WebSocket connection attempts at one daphne instance.

The per-process bound (REALTIME_MAX_CONNECTIONS, delivery/wslimit.py) refuses attempts beyond it in the
handshake (HTTP 403). Clients connected before the burst keep receiving every published event, the
process's memory (RSS, sampled throughout) stays under a bound, and afterwards new clients are served.
"""

from __future__ import annotations

import asyncio
import resource
import subprocess
import sys
import threading
import time
from collections import Counter

import orjson
import psutil
import pytest
import websockets

from core.publish import game_events_publish
from tests.conftest import REPO, httpserver_argv
from tests.realtime.helpers import daphne_start

ATTEMPTS = 5000
LIMIT = 400
EXISTING = 20
RSS_GROWTH_BOUND_MB = 250  # over the process's RSS before the burst


def _raise_fd_limit(needed: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < needed:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(needed, hard), hard))


async def _existing_clients(url: str, received: list[list[tuple[float, int]]], stop: asyncio.Event) -> None:
    async def one(index: int) -> None:
        async with websockets.connect(url, open_timeout=20) as ws:
            while not stop.is_set():
                try:
                    frame = orjson.loads(await asyncio.wait_for(ws.recv(), 0.5))
                except TimeoutError:
                    continue
                for event in frame.get("events", ()):
                    received[index].append((time.time(), int(event["game"]["n"])))

    await asyncio.gather(*(one(i) for i in range(EXISTING)))


@pytest.mark.timeout(200)
def test_connection_burst_leaves_existing_clients_served_and_memory_bounded(service_env, spawn) -> None:
    _raise_fd_limit(ATTEMPTS * 2 + 1000)
    # The production server: it refuses over-limit handshakes before an application instance exists.
    port, daphne = daphne_start(spawn, {**service_env, "REALTIME_MAX_CONNECTIONS": str(LIMIT)}, "daphne-overload",
                                argv=httpserver_argv, REALTIME_WINDOW_MS=50)
    url = f"ws://127.0.0.1:{port}/ws/games?protocol=2"
    process = psutil.Process(daphne.proc.pid)
    received: list[list[tuple[float, int]]] = [[] for _ in range(EXISTING)]
    stop = asyncio.Event()
    loop = asyncio.new_event_loop()
    clients = threading.Thread(target=lambda: loop.run_until_complete(_existing_clients(url, received, stop)))
    clients.start()

    published = 0
    published_at: dict[int, float] = {}

    def publish() -> None:
        nonlocal published
        published += 1
        published_at[published] = time.time()
        # One game per event: the hub coalesces events of the same game within a window (latest wins).
        game = {"id": f"ovl{published}", "slug": f"nba-ovl{published}", "sport": "nba", "n": published}
        game_events_publish([{"type": "game_update", "game": game}])  # type: ignore[typeddict-item]

    deadline = time.time() + 20
    while time.time() < deadline and not all(received):
        publish()
        time.sleep(0.2)
    assert all(received), "existing clients did not start receiving"
    rss_before = process.memory_info().rss

    burst = subprocess.Popen([sys.executable, "-m", "tests.reliability.ws_burst", url, str(ATTEMPTS)], cwd=REPO,
                             stdout=subprocess.PIPE, text=True)
    burst_started = time.time()
    rss_peak = rss_before
    while burst.poll() is None:
        publish()
        rss_peak = max(rss_peak, process.memory_info().rss)
        time.sleep(0.1)
    burst_s = time.time() - burst_started
    outcomes = Counter(orjson.loads(burst.stdout.read()))  # type: ignore[union-attr]
    for _ in range(10):
        publish()
        time.sleep(0.1)
    time.sleep(1.0)
    loop.call_soon_threadsafe(stop.set)
    clients.join(15)

    assert sum(outcomes.values()) == ATTEMPTS
    # Never more than the bound admitted. An admitted attempt is accepted in the same step that counts
    # it, so no server timeout drops it afterwards; a handshake dropped without an answer
    # (InvalidMessage) could still have been admitted, so it counts. When the machine is busy, some
    # attempts time out in the listen backlog (TimeoutError): those never reached the server.
    admitted = outcomes["accepted"] + outcomes["InvalidMessage"]
    assert admitted <= LIMIT - EXISTING, outcomes
    assert set(outcomes) <= {"accepted", "refused_403", "InvalidMessage", "TimeoutError"}, outcomes
    assert outcomes["refused_403"] >= 0.9 * (ATTEMPTS - LIMIT), outcomes
    assert f"websocket refused: {LIMIT} open (limit {LIMIT})" in daphne.log()  # refused by the bound itself

    # Existing clients got every event published during the burst, in order, promptly.
    worst_lag = 0.0
    lags = sorted(at - published_at[n] for events in received for at, n in events)
    for events in received:
        numbers = [n for _, n in events]
        missing = sorted(set(range(numbers[0], published + 1)) - set(numbers))
        assert numbers == sorted(numbers) and missing == [], (missing, outcomes)
        worst_lag = max(worst_lag, max(at - published_at[n] for at, n in events))
    # Both cores are shared by daphne, the 5,000-client burst process and this test: lag grows while the
    # handshakes are processed, but nothing is lost and it stays bounded.
    assert worst_lag < 10.0

    growth_mb = (rss_peak - rss_before) / 1e6
    assert growth_mb < RSS_GROWTH_BOUND_MB
    assert daphne.proc.poll() is None

    async def fresh() -> str:
        async with websockets.connect(url, open_timeout=10) as ws:
            return orjson.loads(await ws.recv())["type"]

    assert asyncio.run(fresh()) == "subscribed"  # slots were released when the burst went away
    print(f"\nOVERLOAD outcomes={dict(outcomes)} burst_s={burst_s:.1f} rss_before_mb={rss_before / 1e6:.0f} "
          f"growth_mb={growth_mb:.0f} lag_p50_s={lags[len(lags) // 2]:.2f} worst_event_lag_s={worst_lag:.2f} "
          f"events={published}")
