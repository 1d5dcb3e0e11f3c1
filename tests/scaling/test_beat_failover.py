"""Beat runs once across the deployment: two real `celery beat` processes, one holds the RedBeat lock.

The holder extends the lock (BEAT_LOCK_TIMEOUT_S=10 here) every tick; the standby retries every
max-loop-interval (BEAT_LOOP_S=1 here). After SIGKILL the lock expires and the standby schedules within
lock timeout + loop interval (<= 11 s); after SIGTERM the holder releases it and takeover takes <= 1 s.
"""

from __future__ import annotations

import signal
import sys
import time

from core.heartbeats import heartbeats_alive
from tests.conftest import wait_until
from tests.scaling.harness import Server

LOCK_TIMEOUT_S = 10
LOOP_S = 1  # BEAT_LOOP_S: CELERY_BEAT_MAX_LOOP_INTERVAL


def _beat(name: str, env: dict[str, str]) -> Server:
    return Server(name, [sys.executable, "-m", "celery", "-A", "mevu", "beat", "-l", "INFO",
                         "-s", f"/tmp/{name}-schedule"], env)


def _holder_pids() -> set[int]:
    return {int(b["pid"]) for b in heartbeats_alive("beat")}  # type: ignore[call-overload]


def _standby_pids() -> set[int]:
    return {int(b["pid"]) for b in heartbeats_alive("beat-standby")}  # type: ignore[call-overload]


def _sent_after(server: Server, mark: int) -> bool:
    return "Sending due task" in server.log()[mark:]


def test_second_beat_waits_then_takes_over_after_sigkill_and_sigterm(service_env) -> None:
    env = {**service_env, "BEAT_LOCK_TIMEOUT_S": str(LOCK_TIMEOUT_S), "BEAT_LOOP_S": str(LOOP_S),
           "STREAM_WATCHDOG_EVERY_S": "1"}
    first = _beat("beat-a", env)
    second = _beat("beat-b", env)
    third: Server | None = None
    try:
        # Exactly one holder; the other reports standby and sends nothing.
        wait_until(lambda: len(_holder_pids()) == 1 and len(_standby_pids()) == 1, 40, 0.2)
        by_pid = {first.pid: first, second.pid: second}
        holder = by_pid[_holder_pids().pop()]
        standby = second if holder is first else first
        wait_until(lambda: _sent_after(holder, 0), 10, 0.2)
        time.sleep(LOOP_S)
        assert not _sent_after(standby, 0), "the standby beat scheduled while the holder was alive"

        # SIGKILL: no release; the lock must expire first.
        mark = len(standby.log())
        killed_at = time.monotonic()
        holder.kill_group()
        wait_until(lambda: _holder_pids() == {standby.pid} and _sent_after(standby, mark),
                   LOCK_TIMEOUT_S + LOOP_S + 4, 0.1)
        failover_s = time.monotonic() - killed_at
        assert failover_s <= LOCK_TIMEOUT_S + LOOP_S + 2, failover_s
        print(f"\nbeat failover after SIGKILL: {failover_s:.1f}s")

        # A new standby joins; a graceful stop of the holder hands over within one loop interval.
        third = _beat("beat-c", env)
        wait_until(lambda: third.pid in _standby_pids(), 40, 0.2)
        mark = len(third.log())
        stopped_at = time.monotonic()
        standby.proc.send_signal(signal.SIGTERM)
        wait_until(lambda: _holder_pids() == {third.pid} and _sent_after(third, mark), LOOP_S + 5, 0.1)
        print(f"beat handover after SIGTERM: {time.monotonic() - stopped_at:.1f}s")
    finally:
        for server in (first, second, third):
            if server is not None:
                server.stop()
