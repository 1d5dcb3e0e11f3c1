"""Upstream faults from the simulator while the whole application runs: market sockets dropped every 5 s,
2% malformed frames, HTTP 5xx and 429 with Retry-After, 5 s latency on REST. The service keeps serving
and streaming, Retry-After is honoured (measured by a recording proxy in front of the REST APIs), and
once the faults stop, prices in Redis and PostgreSQL converge to the simulator's books."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from typing import NamedTuple

import httpx
import pytest

from simulator.testing import run_simulator
from tests.conftest import free_port, wait_until
from tests.reliability.helpers import WsRecorder
from tests.reliability.recording_proxy import RecordingProxy
from tests.reliability.stack import process_tree, stack_env, stack_ready, stack_start
from tests.stream.simhelpers import price_differences

pytestmark = [pytest.mark.timeout(240), pytest.mark.django_db(transaction=True)]
# Phases (at least 21 s in all), with 2% malformed frames throughout. REST answers 429 (Retry-After: 2) to EVERY
# request, then 5xx to every request, each until the app has met one (its REST calls come from 3-5 s schedules,
# so a fixed window can see none, or only lucky 200s). Then every socket is dropped and reconnects meet 10% 5xx
# and 20% 429 on their upgrade for 6 s; a drop is never followed straight by the last phase (5 s latency on
# upgrades too), which would keep a backing-off stream away for longer than the drop itself tests.
BASE = {"malformed_rate": 0.02, "retry_after_s": 2, "latency_ms": 0}


class Phase(NamedTuple):
    least_s: float
    faults: dict[str, float]
    must_meet: Callable[[int], bool] | None = None  # an upstream answer the app must have met before it ends
    drop_first: bool = False  # drop every upstream socket as it starts


PHASES = [
    Phase(3.0, {**BASE, "http_429_rate": 1.0, "http_error_rate": 0.0}, lambda status: status == 429),
    Phase(2.0, {**BASE, "http_429_rate": 0.0, "http_error_rate": 1.0}, lambda status: status >= 500),
    Phase(6.0, {**BASE, "http_429_rate": 0.2, "http_error_rate": 0.1}, drop_first=True),
    Phase(10.0, {**BASE, "http_429_rate": 0.2, "http_error_rate": 0.1, "latency_ms": 5000}),
]
MET_WITHIN_S = 20  # the app calls Gamma at least every 3-5 s; this long without a call is a failure
NO_FAULTS = {"drop_every_s": 0, "malformed_rate": 0, "http_error_rate": 0, "http_429_rate": 0, "latency_ms": 0}


SWEEP_S = 10  # every book re-read from REST this often (production: 60 s)


def _met(proxy: RecordingProxy, since: float, must_meet: Callable[[int], bool] | None) -> bool:
    """Whether an upstream answer the app got since then satisfies `must_meet` (always, when there is none)."""
    return must_meet is None or any(hit.at >= since and must_meet(hit.status) for hit in list(proxy.hits))


def test_upstream_faults_service_continues_and_converges(service_env) -> None:
    with run_simulator(seed=31, rate=80, extra_args=("--games", "6")) as sim, RecordingProxy(sim.base) as proxy:
        env = stack_env(service_env, sim, GAMMA_URL=f"{proxy.base}/gamma", CLOB_URL=f"{proxy.base}/clob",
                        UPSTREAM_TIMEOUT_S="15", STREAM_RESNAPSHOT_SWEEP_S=str(SWEEP_S))
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        app = stack_start("stack-upstream-faults", env, port)
        try:
            stack_ready(base)
            with WsRecorder(f"ws://127.0.0.1:{port}/ws/games?protocol=2",
                            first={"type": "subscribe", "all": True}) as ws:
                wait_until(lambda: any(e["type"] == "price_update" for _, e in ws.events()), 60)
                pids = process_tree(app)

                faults_at = time.time()
                statuses, phase_s = [], []
                for least_s, faults, must_meet, drop_first in PHASES:
                    sim.control("POST", "/_sim/faults", json=faults)
                    if drop_first:
                        sim.control("POST", "/_sim/drop", json={"socket": "all"})
                    started = time.monotonic()
                    while time.monotonic() < started + least_s or (
                            not _met(proxy, started, must_meet) and time.monotonic() < started + MET_WITHIN_S):
                        statuses.append(httpx.get(f"{base}/api/games/frontend", timeout=10).status_code)
                        statuses.append(httpx.get(f"{base}/api/health", timeout=10).status_code)
                        time.sleep(max(0.05, min(1.0, started + least_s - time.monotonic())))
                    assert _met(proxy, started, must_meet), (faults, proxy.timeline(since=started - 5))
                    phase_s.append(round(time.monotonic() - started, 1))
                sim.control("POST", "/_sim/faults", json=NO_FAULTS)
                cleared_at = time.time()

                during = [at for at, e in ws.events(faults_at) if e["type"] == "price_update" and at < cleared_at]
                stamps = [faults_at, *during, cleared_at]
                longest_gap = max(b - a for a, b in itertools.pairwise(stamps))
                stats = sim.control("GET", "/_sim/stats")

                sim.control("POST", "/_sim/pause")
                books = sim.control("GET", "/_sim/books")
                tokens = set(books)
                # A book damaged by a lost frame with no later frame to reveal it waits for the stream's
                # periodic REST sweep, so allow one sweep period plus its duration.
                wait_until(lambda: not price_differences(books, tokens), SWEEP_S + 15, interval_s=0.5)
                converged_s = time.time() - cleared_at

            assert set(statuses) == {200}, statuses  # REST kept serving throughout
            # Prices keep flowing through the drop (a reconnect that meets 429/5xx backs off).
            assert len(during) > 20 and longest_gap < 12.0, (len(during), longest_gap)
            assert stats["dropped_sockets"] >= 2  # the drop really hit (the market and sports sockets)
            upstream_statuses = [h.status for h in proxy.hits]
            followed, early = proxy.retry_after_violations()
            assert followed >= 1 and early == [], early
            assert process_tree(app) == pids, "a process was restarted"
            print(f"\nUPSTREAM FAULTS phases_s={phase_s} price_updates_during={len(during)} "
                  f"longest_gap_s={longest_gap:.1f} "
                  f"dropped_sockets={stats['dropped_sockets']} upstream_requests={len(proxy.hits)} "
                  f"upstream_5xx={sum(code >= 500 for code in upstream_statuses)} "
                  f"retries_after_429={followed} early_retries={len(early)} converged_s={converged_s:.1f}")
        finally:
            app.stop()
