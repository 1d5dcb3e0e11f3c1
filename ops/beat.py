"""Beat scheduling exactly once per deployment, and observably so.

Every `workers` instance runs a beat; RedBeat lets only the holder of a Redis lock schedule (the others
block in `lock.acquire()`, retrying every max-loop-interval). The holder extends the lock on every
tick; if it dies, the lock expires after BEAT_LOCK_TIMEOUT_S and a waiting beat takes over.

LeaderRedBeatScheduler records until when the lock is known to be held (each successful extend), and
the heartbeat thread reports role "beat" only while that is true; a waiting beat reports "beat-standby".
The holder's heartbeat expires when its lock would (not after the usual heartbeat TTL), and a stopping
beat deletes it, so `/api/health` never counts a dead holder next to its successor.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
from typing import Any

from redbeat import RedBeatScheduler
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import LockNotOwnedError
from redis.exceptions import TimeoutError as RedisTimeoutError

from core.heartbeats import HEARTBEAT_EVERY_S, heartbeat_clear, heartbeat_key, heartbeat_write
from core.redis import redis_sync

STATE_POLL_S = 0.5
log = logging.getLogger("celery.beat")


class LeaderRedBeatScheduler(RedBeatScheduler):
    lock_held_until = 0.0

    def tick(self, *args: Any, **kwargs: Any) -> float:
        started = time.monotonic()
        # RedBeat extends the lock first and raises LockNotOwnedError if another beat took it.
        try:
            interval = super().tick(*args, **kwargs)
        except (LockNotOwnedError, RedisConnectionError, RedisTimeoutError) as exc:
            return self._lock_lost(exc)
        if self.lock_key and self.lock is not None:
            self.lock_held_until = started + float(self.lock_timeout)
        return interval

    def _lock_lost(self, exc: Exception) -> float:
        """Redis away, or the lock gone (Redis restarted empty / failed over, or this beat stalled past the
        lock timeout): never schedule without the lock, and do not exit (RedBeat's default: a restart of
        the process). Take the lock again once it is free, re-installing the schedule, which may have
        vanished with Redis; else stay a standby. Found by tests/reliability/test_redis_restart.py."""
        self.lock_held_until = 0.0
        retry_s = min(float(self.max_interval), 1.0)
        if self.lock is None or isinstance(exc, (RedisConnectionError, RedisTimeoutError)):
            log.warning("beat: Redis unavailable (%s); not scheduling", exc)
            return retry_s
        try:
            if self.lock.acquire(blocking=False):
                log.warning("beat: lock was lost; re-acquired it, re-installing the schedule")
                self.setup_schedule()
        except (RedisConnectionError, RedisTimeoutError) as again:
            log.warning("beat: Redis unavailable (%s); not scheduling", again)
        return retry_s

    def holds_lock(self) -> bool:
        return self.lock is not None and time.monotonic() < self.lock_held_until

    def lock_remaining_ms(self) -> int:
        return max(1, int((self.lock_held_until - time.monotonic()) * 1000))

    def close(self) -> None:
        # RedBeat releases the lock here; from now on this beat is neither holder nor standby.
        self.lock_held_until = 0.0
        stop = getattr(self, "heartbeat_stop", None)
        if stop is not None:
            stop()
        super().close()


def beat_role(scheduler: object) -> str:
    holds = getattr(scheduler, "holds_lock", None)
    return "beat" if holds is not None and holds() else "beat-standby"


def beat_heartbeat_start(scheduler: object) -> threading.Event:
    """Report this beat as "beat" (lock holder) or "beat-standby" from a daemon thread."""
    import os

    name = f"{socket.gethostname()}:{os.getpid()}"
    stop = threading.Event()
    state = {"role": ""}

    def write(role: str) -> None:
        if state["role"] and role != state["role"]:
            heartbeat_clear(state["role"], name)
        heartbeat_write(role, name, {"holds_lock": role == "beat"})
        if role == "beat":
            # Expire with the lock: a SIGKILLed holder stops counting when its successor can start.
            redis_sync().pexpire(heartbeat_key("beat", name), scheduler.lock_remaining_ms())  # type: ignore[attr-defined]
        state["role"] = role

    # The holder's heartbeat lives only as long as its lock: rewrite it well within the lock timeout.
    every_s = min(HEARTBEAT_EVERY_S, 2, float(getattr(scheduler, "lock_timeout", 6) or 6) / 3)

    def run() -> None:
        last_write = 0.0
        while not stop.is_set():
            role = beat_role(scheduler)
            now = time.monotonic()
            if stop.is_set():
                break
            if role != state["role"] or now - last_write >= every_s:
                with contextlib.suppress(Exception):  # Redis down: readiness reports it; keep trying
                    write(role)
                    last_write = now
            stop.wait(STATE_POLL_S)

    def finish() -> None:
        stop.set()
        with contextlib.suppress(Exception):
            heartbeat_clear(state["role"] or "beat-standby", name)

    threading.Thread(target=run, name="heartbeat-beat", daemon=True).start()
    scheduler.heartbeat_stop = finish  # type: ignore[attr-defined]
    return stop
