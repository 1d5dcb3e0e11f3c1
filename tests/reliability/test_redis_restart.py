"""Redis restarted (SIGKILL, empty on restart: no persistence) while the whole application streams and
serves: every component recovers WITHOUT a process restart within 10 s, WebSocket clients get a resync
or snapshot, prices converge to the simulator's final state, and never two stream holders (the
simulator's count of open market sockets never exceeds one program's)."""

from __future__ import annotations

import contextlib
import os
import threading
import time

import httpx
import orjson
import pytest

from simulator.testing import run_simulator
from tests.conftest import free_port, wait_until
from tests.reliability.helpers import WsRecorder
from tests.reliability.servers import redis_server
from tests.reliability.stack import process_tree, stack_env, stack_ready, stack_start

pytestmark = pytest.mark.timeout(240)
RECOVERY_BOUND_S = 10.0


def _num(value: object) -> float | None:
    return None if value in (None, "") else float(value)  # type: ignore[arg-type]


def test_redis_restart_recovers_every_component_without_restarts(service_env) -> None:
    prefix = os.environ["REDIS_PREFIX"]
    with redis_server() as redis, run_simulator(seed=21, rate=60, extra_args=("--games", "6")) as sim:
        env = stack_env(service_env, sim, REDIS_URL=redis.url)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        app = stack_start("stack-redis-restart", env, port)
        sockets_seen: list[int] = []
        sampling = threading.Event()

        def sample_sockets() -> None:
            while not sampling.is_set():
                with contextlib.suppress(Exception):  # the simulator is busy; the next sample counts
                    sockets_seen.append(sim.control("GET", "/_sim/stats")["connected_sockets"]["market"])
                time.sleep(0.2)

        sampler = threading.Thread(target=sample_sockets, daemon=True)
        try:
            stack_ready(base)
            client = redis.client()
            wait_until(lambda: client.hlen(f"{prefix}:prices") > 10, 60)
            with WsRecorder(f"ws://127.0.0.1:{port}/ws/games?protocol=2",
                            first={"type": "subscribe", "all": True}) as ws:
                wait_until(lambda: any(e["type"] == "price_update" for _, e in ws.events()), 30)
                sampler.start()
                time.sleep(1.0)
                steady_sockets = max(sockets_seen)
                pids_before = process_tree(app)

                redis.kill()
                redis.start()  # same port, empty: every key, queue, lease and sequence is gone
                restarted_at = time.time()

                wait_until(lambda: httpx.get(f"{base}/api/health", timeout=5).status_code == 200, RECOVERY_BOUND_S)
                health_s = time.time() - restarted_at
                resync_at = wait_until(lambda: next(
                    (at for at, f in list(ws.frames) if at >= restarted_at and f.get("type") in ("resync", "snapshot")),
                    None), RECOVERY_BOUND_S)
                events_at = wait_until(lambda: next(
                    (at for at, e in ws.events(restarted_at) if e["type"] == "price_update"), None), RECOVERY_BOUND_S)
                wait_until(lambda: client.get(f"{prefix}:lease:stream") is not None, RECOVERY_BOUND_S)
                lease_s = time.time() - restarted_at
                recovered_s = max(float(resync_at) - restarted_at, float(events_at) - restarted_at,  # type: ignore[arg-type]
                                  health_s, lease_s)
                assert recovered_s < RECOVERY_BOUND_S

                sim.control("POST", "/_sim/pause")
                books = sim.control("GET", "/_sim/books")

                def price_gaps() -> dict[str, str]:
                    raw = client.hgetall(f"{prefix}:prices")
                    have = {k.decode(): orjson.loads(v) for k, v in raw.items()}
                    gaps = {}
                    for token, book in books.items():
                        want = (_num(book["best_bid"]), _num(book["best_ask"]), _num(book["last_trade_price"]))
                        got = have.get(token)
                        if got is None or (got["bid"], got["ask"], got["last"]) != want:
                            gaps[token] = f"{got} != {want}"
                    return gaps

                wait_until(lambda: not price_gaps(), 30, interval_s=0.5)
                converged_s = time.time() - restarted_at
            sampling.set()
            sampler.join(5)
            assert process_tree(app) == pids_before, "a process was restarted"
            assert max(sockets_seen) <= steady_sockets, f"more market sockets than one holder opens: {sockets_seen}"
            holder = client.get(f"{prefix}:lease:stream").decode()
            assert int(holder.rsplit(":", 1)[-1].split("|")[0]) in pids_before
            print(f"\nREDIS RESTART health_s={health_s:.1f} ws_resync_s={float(resync_at) - restarted_at:.1f} "  # type: ignore[arg-type]
                  f"events_s={float(events_at) - restarted_at:.1f} lease_s={lease_s:.1f} "  # type: ignore[arg-type]
                  f"converged_s={converged_s:.1f} market_sockets_max={max(sockets_seen)}")
        finally:
            sampling.set()
            app.stop()
