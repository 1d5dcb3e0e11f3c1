"""Liveness heartbeats of background processes, kept in Redis with a TTL.

Any HTTP instance can then tell, cluster-wide, whether Celery workers and beat are alive.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time

import orjson

from core.redis import redis_key, redis_sync

HEARTBEAT_EVERY_S = 5
HEARTBEAT_TTL_S = 15


def heartbeat_key(role: str, name: str) -> str:
    """One process's heartbeat (`name` may be a glob pattern when scanning)."""
    return redis_key("hb", role, name)


def heartbeat_write(role: str, name: str, info: dict[str, object] | None = None) -> None:
    body = {"role": role, "name": name, "host": socket.gethostname(), "pid": os.getpid(), "ts": time.time()}
    body.update(info or {})
    redis_sync().set(heartbeat_key(role, name), orjson.dumps(body), ex=HEARTBEAT_TTL_S)


def heartbeat_clear(role: str, name: str) -> None:
    redis_sync().delete(heartbeat_key(role, name))


def heartbeats_alive(role: str) -> list[dict[str, object]]:
    client = redis_sync()
    keys = list(client.scan_iter(match=heartbeat_key(role, "*"), count=500))
    values = client.mget(keys) if keys else []
    return [orjson.loads(v) for v in values if v]


def heartbeat_start_thread(role: str, name: str, info: dict[str, object] | None = None) -> threading.Event:
    """Beat every few seconds from a daemon thread until the returned event is set."""
    stop = threading.Event()

    def run() -> None:
        while not stop.is_set():
            # Redis down: readiness reports it; keep trying.
            with contextlib.suppress(Exception):
                heartbeat_write(role, name, info)
            stop.wait(HEARTBEAT_EVERY_S)
        with contextlib.suppress(Exception):
            heartbeat_clear(role, name)

    threading.Thread(target=run, name=f"heartbeat-{role}", daemon=True).start()
    return stop
