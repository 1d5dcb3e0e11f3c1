"""Helpers the stream program's loops run on: a periodic step under one guard, the reconnect back-off of the
upstream sockets, and the one thread all its ORM work runs on."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import random
from collections.abc import Awaitable, Callable
from typing import Any

from django.db import close_old_connections, connections

from core.errors import StaleFenceError

log = logging.getLogger("mevu.stream")


class Fatal(Exception):
    """Base of the errors that must stop the whole program (besides StaleFenceError)."""


async def every(period_s: float, step: Callable[[], Awaitable[Any]], what: str) -> None:
    """Run `step` now and then every `period_s` seconds, forever. A failed step is logged and retried next period
    (a Redis or PostgreSQL hiccup must not stop prices); a stale fence or a Fatal error ends the loop, and so the
    program."""
    while True:
        try:
            await step()
        except (StaleFenceError, Fatal):
            raise
        except Exception:
            log.warning("stream: %s failed; retrying in %.2fs", what, period_s, exc_info=True)
        await asyncio.sleep(period_s)


def backoff_delay(failures: int, base_s: float, max_s: float, rng: random.Random = random._inst) -> float:  # type: ignore[attr-defined]
    """Reconnect delay of an upstream socket: full-jitter exponential back-off over consecutive failures;
    `failures` = 0 means the last connection was stable (retry fast). tenacity's waits need a retry loop
    around one call; these loops keep the failure count across sessions and reset it on a stable one."""
    if failures <= 0:
        return rng.uniform(0.1, 0.5)
    ceiling = min(max_s, base_s * 2 ** (failures - 1))
    return rng.uniform(ceiling / 2, ceiling)


class DbThread:
    """All ORM work of the program runs on one thread (Django connections are per thread)."""

    def __init__(self) -> None:
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="stream-db")

    async def run(self, fn: Callable[..., Any], *args: Any) -> Any:
        def call() -> Any:
            close_old_connections()
            return fn(*args)

        return await asyncio.get_running_loop().run_in_executor(self._pool, call)

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self.run(connections.close_all)
        self._pool.shutdown(wait=False)
