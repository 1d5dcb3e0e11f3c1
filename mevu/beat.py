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
import socket
import threading
import time
from typing import Any

from redbeat import RedBeatScheduler

from mevu.redis import redis_key, redis_sync
from realtime.heartbeats import HEARTBEAT_EVERY_S, heartbeat_clear, heartbeat_write

STATE_POLL_S = 0.5


class LeaderRedBeatScheduler(RedBeatScheduler):
    lock_held_until = 0.0

    def tick(self, *args: Any, **kwargs: Any) -> float:
        started = time.monotonic()
        # RedBeat extends the lock first and raises LockNotOwnedError if another beat took it.
        interval = super().tick(*args, **kwargs)
        if self.lock_key and self.lock is not None:
            self.lock_held_until = started + float(self.lock_timeout)
        return interval

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
            redis_sync().pexpire(redis_key("hb", "beat", name), scheduler.lock_remaining_ms())  # type: ignore[attr-defined]
        state["role"] = role

    def run() -> None:
        last_write = 0.0
        while not stop.is_set():
            role = beat_role(scheduler)
            now = time.monotonic()
            if stop.is_set():
                break
            if role != state["role"] or now - last_write >= min(HEARTBEAT_EVERY_S, 2):
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
