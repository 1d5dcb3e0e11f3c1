"""Waiting with a time limit without losing a cancellation.

Python 3.11's asyncio.wait_for returns normally when its task is cancelled in the loop iteration where the
awaited thing completes, and a loop around it then never stops: a stream program's shutdown waited forever on
one. asyncio.timeout re-raises every cancellation, so the product waits through it (ruff bans wait_for there).
"""

from __future__ import annotations

import asyncio
import contextlib


async def event_wait(event: asyncio.Event, timeout_s: float) -> bool:
    """Wait until `event` is set, at most `timeout_s`; returns whether it is set."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(timeout_s):
            await event.wait()
    return event.is_set()
