"""Waiting and cancelling without losing a cancellation.

Python 3.11's asyncio.wait_for returns normally when its task is cancelled in the loop iteration where the
awaited thing completes. A loop around it then never stops: the stream program's shutdown waited forever on
one. The product waits through asyncio.timeout instead (ruff bans wait_for there), but libraries still use
wait_for (redis-py around every command it sends), so a single cancel of a task is not enough either.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable
from typing import Any

# Long enough for a cancelled task's own short cleanup to finish undisturbed, short enough that a stale stream
# holder still drops its upstream sockets within about one lease renewal period.
RECANCEL_S = 0.5


async def event_wait(event: asyncio.Event, timeout_s: float) -> bool:
    """Wait until `event` is set, at most `timeout_s`; returns whether it is set."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(timeout_s):
            await event.wait()
    return event.is_set()


async def tasks_cancel(tasks: Iterable[asyncio.Task[Any]], recancel_s: float = RECANCEL_S) -> None:
    """Cancel `tasks` and wait until every one has ended, cancelling again those still running after
    `recancel_s`. Their exceptions are retrieved (not logged as never retrieved): read them with task.exception()."""
    tasks = list(tasks)
    pending = {task for task in tasks if not task.done()}
    while pending:
        for task in pending:
            task.cancel()
        _, pending = await asyncio.wait(pending, timeout=recancel_s)
    for task in tasks:
        if not task.cancelled():
            task.exception()
