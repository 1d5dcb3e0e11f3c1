"""A paused workers instance is fenced out: two real `APP_MODE=workers` instances (`manage.py serve`, each in its
own process group), real PostgreSQL and Redis, the simulator upstream.

Instance A holds the stream lease and the beat lock; B stands by for both. A is frozen whole (SIGSTOP of its
process group: a VM pause, a long GC, a partition), B takes both over, A is thawed. Then A's token is rejected
by every fenced write path (the PostgreSQL price transaction, the Redis price hash, keys and publishes), A
steps down (drops its upstream sockets, goes back to standing by, its beat to standby) and B keeps streaming.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from urllib.parse import urlsplit

import psutil
import pytest

from actions.prices import do_persist_stream_prices, do_write_prices
from core.heartbeats import heartbeats_alive
from core.keys import stream_metrics_key
from core.lease import StaleFenceError, fenced_hset, fenced_set_async, lease_status
from core.publish import game_events_publish, game_events_publish_async
from core.redis import redis_sync
from markets.models import StreamFence
from markets.prices import prices_key
from simulator.testing import run_simulator
from stream.holding import standby_key
from stream.program import stream_metrics_read
from tests.conftest import free_port, wait_until
from tests.scaling.harness import Server
from tests.stream.simhelpers import games_ingest, sim_env

pytestmark = pytest.mark.timeout(300)


def _pids(server: Server) -> set[int]:
    try:
        root = psutil.Process(server.pid)
        return {root.pid, *(c.pid for c in root.children(recursive=True))}
    except psutil.NoSuchProcess:
        return set()


def _pid_of(value: str | bytes | None) -> int | None:
    if not value:
        return None
    text = value.decode() if isinstance(value, bytes) else value
    return int(text.rsplit(":", 1)[1])


def _stream_holder() -> int | None:
    return _pid_of(lease_status("stream")["holder"])


def _stream_standby() -> int | None:
    return _pid_of(redis_sync().get(standby_key()))


def _beat(role: str) -> set[int]:
    return {int(b["pid"]) for b in heartbeats_alive(role)}  # type: ignore[call-overload]


def _streaming(server: Server) -> bool:
    metrics = stream_metrics_read()
    return bool(metrics and _pid_of(metrics["holder"]) in _pids(server) and metrics["counters"]["books"] > 0
                and metrics["sockets"] and all(s["connected"] for s in metrics["sockets"]))


def _upstream_sockets(server: Server, port: int) -> int:
    count = 0
    for pid in _pids(server):
        with contextlib.suppress(psutil.Error):
            count += sum(1 for c in psutil.Process(pid).net_connections(kind="tcp")
                         if c.raddr and c.raddr.port == port and c.status == psutil.CONN_ESTABLISHED)
    return count


def _holds_both(holder: Server, standby: Server) -> bool:
    beats = _beat("beat")
    return (_stream_holder() in _pids(holder) and _stream_standby() in _pids(standby)
            and bool(beats) and beats <= _pids(holder) and bool(_beat("beat-standby") & _pids(standby)))


def _workers(name: str, env: dict[str, str]) -> Server:
    return Server(name, [sys.executable, "manage.py", "serve"],
                  {**env, "APP_MODE": "workers", "MEVU_NODE_NAME": name, "METRICS_PORT": str(free_port())})


def _stale_writes_rejected(stale: tuple[str, int], token: str) -> None:
    """Every write path of the holder, with the old holder's token: each one raises, nothing is written."""
    game = {"id": "1", "slug": "s", "sport": "nba"}
    price = {"bid": 0.01, "ask": 0.02, "last": 0.01, "mid": 0.015, "ts": 1}
    with pytest.raises(StaleFenceError):  # the PostgreSQL price transaction (fence row FOR UPDATE)
        do_persist_stream_prices(stale, {token: price}, {token}, [], {token: price})  # type: ignore[dict-item]
    with pytest.raises(StaleFenceError):  # the Redis price hash, then the price_update publish
        asyncio.run(do_write_prices(stale, {token: price}, [], game_events_publish_async))  # type: ignore[dict-item]
    with pytest.raises(StaleFenceError):
        fenced_hset(stale, prices_key(), {token: b'{"bid":0.01}'})
    with pytest.raises(StaleFenceError):  # the holder's keys (metrics, status)
        asyncio.run(fenced_set_async(stale, stream_metrics_key(), b"{}", ttl_ms=1000))
    with pytest.raises(StaleFenceError):  # a publish guarded by the fence
        game_events_publish([{"type": "price_update", "game": game}], fence=stale)


def test_a_paused_workers_instance_is_fenced_out_and_steps_down(service_env: dict[str, str]) -> None:
    with run_simulator(seed=11, rate=100, extra_args=("--games", "6", "--new-game-every-s", "0")) as sim:
        tokens = games_ingest(sim)
        port = urlsplit(sim.base).port
        env = sim_env(service_env, sim, BIND_HOST="127.0.0.1", SPORTS_CONCURRENCY="1", STREAM_WATCHDOG_EVERY_S="1")
        a = _workers("paused-a", env)
        b: Server | None = None
        try:
            wait_until(lambda: _stream_holder() in _pids(a) and _beat("beat") <= _pids(a) and _beat("beat"), 120, 0.2)
            b = _workers("paused-b", env)
            wait_until(lambda: _holds_both(a, b) and _streaming(a), 120, 0.2)  # type: ignore[arg-type]
            old_token = lease_status("stream")["token"]

            # 1. Freeze A whole: B takes the stream lease and the beat lock, and streams.
            os.killpg(a.pid, signal.SIGSTOP)
            wait_until(lambda: _streaming(b) and _beat("beat") <= _pids(b) and _beat("beat"), 60, 0.2)  # type: ignore[arg-type]
            new_token = lease_status("stream")["token"]
            assert new_token > old_token
            assert StreamFence.objects.get(name="stream").token == new_token  # B registered in PostgreSQL too
            mark = len(a.log())

            # 2. Thaw A: it finds the lease gone (a refused renewal or a rejected write), drops its upstream
            # sockets and stands by again; its beat finds the lock gone and stands by.
            os.killpg(a.pid, signal.SIGCONT)
            wait_until(lambda: "lease lost" in a.log()[mark:], 60, 0.1)
            wait_until(lambda: _upstream_sockets(a, port) == 0, 60, 0.1)
            wait_until(lambda: _holds_both(b, a), 60, 0.2)  # type: ignore[arg-type]
            assert lease_status("stream")["token"] == new_token  # B kept it throughout: no flapping
            assert _streaming(b) and _upstream_sockets(b, port) > 0  # type: ignore[arg-type]
            assert "child exited; restarting" not in a.log()[mark:]  # stepped down, did not crash

            # 3. Whatever A still had in flight is rejected on every path: its token is stale everywhere.
            _stale_writes_rejected(("stream", old_token), next(iter(tokens)))
            assert StreamFence.objects.get(name="stream").token == new_token
            assert _pid_of(stream_metrics_read()["holder"]) in _pids(b)  # type: ignore[index,arg-type]
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(a.pid, signal.SIGCONT)
            for server in (a, b):
                if server is not None:
                    server.stop()
