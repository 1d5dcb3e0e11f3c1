"""Two real stream workers (+ beat): one holder at a time, fast failover, stale holders fenced out.

Scenario: A streams. A is frozen (SIGSTOP: a GC pause or partition) -> B takes over within 15 s. A is
thawed -> its writes are rejected and it stops within one renew period. B is SIGKILLed -> A takes over
within 15 s. A gets SIGTERM -> it releases the lease and exits cleanly.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
import time
from typing import Any
from urllib.parse import urlsplit

import psutil
import pytest
from django.conf import settings

from actions.prices import do_persist_stream_prices
from core.lease import StaleFenceError, fenced_hset, lease_status
from core.publish import game_events_publish
from markets.prices import prices_key
from simulator.testing import run_simulator
from stream.program import stream_metrics_read
from tests.conftest import wait_until
from tests.stream.simhelpers import games_ingest, sim_env

pytestmark = pytest.mark.timeout(240)

CELERY = [sys.executable, "-m", "celery", "-A", "mevu"]
RENEW_S = settings.STREAM_LEASE_TTL_S / 3


def _worker_argv(name: str) -> list[str]:
    return [*CELERY, "worker", "-Q", "stream", "-c", "1", "--prefetch-multiplier", "1", "-n", f"{name}@%h",
            "--without-mingle", "--without-gossip", "-l", "INFO"]


def _tree(pid: int) -> list[psutil.Process]:
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def _upstream_sockets(pid: int, port: int) -> int:
    count = 0
    for proc in _tree(pid):
        with contextlib.suppress(psutil.Error):
            count += sum(1 for c in proc.net_connections(kind="tcp")
                         if c.raddr and c.raddr.port == port and c.status == psutil.CONN_ESTABLISHED)
    return count


def _holder_pid() -> int | None:
    status = lease_status("stream")
    return int(status["holder"].rsplit(":", 1)[1]) if status["held"] else None


def _streaming(pid: int) -> bool:
    metrics = stream_metrics_read()
    return bool(
        metrics and metrics["holder"].endswith(f":{pid}") and metrics["sockets"]
        and all(s["connected"] for s in metrics["sockets"]) and metrics["counters"]["books"] > 0
        and time.time() * 1000 - metrics["ts"] < 3000
    )


class Sampler(threading.Thread):
    """Samples the lease every 50 ms: one holder value at a time, and the fence never goes back."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.samples: list[tuple[float, str | None, int]] = []
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            status = lease_status("stream")
            self.samples.append((time.monotonic(), status["holder"], status["fence"]))
            time.sleep(0.05)


def _signal_tree(pid: int, sig: int) -> None:
    for proc in _tree(pid):
        with contextlib.suppress(psutil.Error):
            proc.send_signal(sig)


def test_one_holder_fast_failover_and_stale_holder_fenced(service_env: dict[str, str], spawn: Any) -> None:
    with run_simulator(seed=5, rate=100, extra_args=("--games", "6")) as sim:
        tokens = games_ingest(sim)
        port = urlsplit(sim.base).port
        env = sim_env(service_env, sim, STREAM_BACKOFF_MAX_S="2")
        workers = {name: spawn(f"stream-{name}", _worker_argv(name), env) for name in ("a", "b")}
        spawn("beat", [*CELERY, "beat", "-l", "INFO"], env)
        # The watchdog (and the games syncs beat schedules) run on the `sports` queue.
        spawn("sports", [*CELERY, "worker", "-Q", "sports", "-c", "1", "-n", "sports@%h", "--without-mingle",
                         "--without-gossip", "-l", "INFO"], env)
        by_pid = {w.proc.pid: w for w in workers.values()}
        sampler = Sampler()
        sampler.start()
        try:
            first = wait_until(_holder_pid, 60)
            assert first in by_pid
            wait_until(lambda: _streaming(first), 30)
            second = next(pid for pid in by_pid if pid != first)
            assert _upstream_sockets(first, port) > 0 and _upstream_sockets(second, port) == 0
            old_token = lease_status("stream")["token"]

            # 1. Freeze the holder: the other worker streams within 15 s.
            _signal_tree(first, signal.SIGSTOP)
            frozen_at = time.monotonic()
            wait_until(lambda: _streaming(second), 20, interval_s=0.2)
            takeover_s = time.monotonic() - frozen_at
            assert takeover_s < 15, takeover_s
            new_token = lease_status("stream")["token"]
            assert new_token > old_token

            # 2. Thaw it: its writes bounce off the fence and it drops its sockets within one renew period.
            _signal_tree(first, signal.SIGCONT)
            thawed_at = time.monotonic()
            wait_until(lambda: _upstream_sockets(first, port) == 0, 10, interval_s=0.1)
            assert time.monotonic() - thawed_at <= RENEW_S + 1.5
            wait_until(lambda: "lease lost" in by_pid[first].log(), 5)
            assert _holder_pid() == second and _upstream_sockets(second, port) > 0

            stale = ("stream", old_token)
            with pytest.raises(StaleFenceError):
                fenced_hset(stale, prices_key(), {next(iter(tokens)): b'{"bid":0.01}'})
            with pytest.raises(StaleFenceError):
                game_events_publish([{"type": "price_update", "game": {"id": "1", "slug": "s", "sport": "nba"}}],
                                    fence=stale)
            with pytest.raises(StaleFenceError):
                do_persist_stream_prices(stale, {}, set(), [], {})

            # 3. Kill the new holder outright: the first worker is idle again and takes over within 15 s.
            _signal_tree(second, signal.SIGKILL)
            killed_at = time.monotonic()
            wait_until(lambda: _streaming(first), 20, interval_s=0.2)
            failover_s = time.monotonic() - killed_at
            assert failover_s < 15, failover_s
            assert lease_status("stream")["token"] > new_token

            # 4. SIGTERM (warm shutdown): the holder flushes, releases the lease and exits cleanly.
            code = by_pid[first].stop(timeout_s=20)
            # -9: SIGTERM did not stop it; after STOP_STACKS_AFTER_S its log holds every thread's stack.
            assert code == 0, by_pid[first].log()[-12000:]
            assert not lease_status("stream")["held"]
            assert "stream ended: stopped" in by_pid[first].log()
        finally:
            sampler.done.set()
            sampler.join()
        fences = [f for _, _, f in sampler.samples]
        assert fences == sorted(fences)  # the fencing token only ever increases
        sequence: list[str] = []
        for _, holder, _ in sampler.samples:
            if holder and (not sequence or sequence[-1] != holder):
                sequence.append(holder)
        assert [h.rsplit(":", 1)[1] for h in sequence] == [str(first), str(second), str(first)]
        print(f"takeover after freeze {takeover_s:.1f}s, failover after SIGKILL {failover_s:.1f}s")
