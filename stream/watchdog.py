"""Keeping exactly one stream program alive: the beat watchdog and the task's process plumbing.

The watchdog (beat, every STREAM_WATCHDOG_EVERY_S) enqueues `markets.tasks.stream_run` when the lease
is free, or when it is held but no stand-by waits for it: a stand-by (a second stream worker, usually in
another `workers` instance) takes the lease as soon as it expires, so failover does not wait for beat's
own failover. Duplicates are not piled up: a short "enqueued" marker (SET NX with a TTL, cleared by the
task when it starts) and the queue length both have to say "nothing pending".
"""

from __future__ import annotations

import asyncio
import contextlib
import faulthandler
import os
import signal
import sys
from collections.abc import Callable
from typing import Any

from django.conf import settings

from core.lease import lease_status
from core.redis import redis_key, redis_sync
from stream.program import LEASE_NAME, StreamProgram, standby_key, stream_config_from_settings


def enqueued_marker_key() -> str:
    return redis_key("stream", "enqueued")


def stream_queue_key() -> str:
    """The broker list of the `stream` queue (kombu prefixes it with global_keyprefix)."""
    return settings.CELERY_BROKER_TRANSPORT_OPTIONS.get("global_keyprefix", "") + "stream"


def stream_lease_needs_holder(status: dict[str, Any]) -> bool:
    """Free, or held by a process that missed two renewals (likely dead: start a stand-by now)."""
    if not status["held"]:
        return True
    renew_s = (status["ttl_ms"] or settings.STREAM_LEASE_TTL_S * 1000) / 3000
    since = status["since_renewal_s"]
    return since is not None and since > 2 * renew_s


def stream_watchdog_tick(enqueue: Callable[[], object]) -> str:
    """Enqueue one stream_run if needed; returns what it did (for logs and tests)."""
    status = lease_status(LEASE_NAME)
    client = redis_sync()
    if not stream_lease_needs_holder(status) and client.exists(standby_key()):
        return "held"
    if client.llen(stream_queue_key()) > 0:
        return "queued"
    marker_ttl_s = max(10, 3 * settings.STREAM_WATCHDOG_EVERY_S)
    if not client.set(enqueued_marker_key(), settings.INSTANCE_ID, nx=True, ex=marker_ttl_s):
        return "pending"
    enqueue()
    return "enqueued"


def stream_task_started() -> None:
    redis_sync().delete(enqueued_marker_key())


# A stop takes a few seconds (the sports socket's flush, the sockets' close handshakes, the final flush); one
# still running after this long is stuck: every thread's and task's stack goes to stderr (the worker's log).
STOP_STACKS_AFTER_S = 15


def stream_program_run_blocking() -> str:
    """Run the stream program in this (worker child) process until SIGTERM/SIGINT or the lease is lost."""
    try:
        return asyncio.run(_main())
    finally:
        faulthandler.cancel_dump_traceback_later()


async def _main() -> str:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    previous: dict[int, Any] = {}

    def stop_now() -> None:
        stop.set()
        loop.call_later(STOP_STACKS_AFTER_S, _tasks_dump, loop)  # a task that ignored its cancel

    def request_stop(*_: object) -> None:
        # a blocked thread or loop (a second later: its lines would interleave with the tasks')
        faulthandler.dump_traceback_later(STOP_STACKS_AFTER_S + 1, file=sys.__stderr__)
        loop.call_soon_threadsafe(stop_now)

    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(ValueError):  # not the main thread (threads pool): rely on the worker
            previous[sig] = signal.signal(sig, request_stop)
    try:
        return await StreamProgram(stream_config_from_settings(parent_pid=os.getppid())).run(stop)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _tasks_dump(loop: asyncio.AbstractEventLoop) -> None:
    """Each pending task with the chain of coroutines it is awaiting (Task.print_stack shows only the outer one)."""
    for task in asyncio.all_tasks(loop):
        where, awaited = [], task.get_coro()
        while awaited is not None and getattr(awaited, "cr_frame", None) is not None:
            frame = awaited.cr_frame
            where.append(f"{frame.f_code.co_filename}:{frame.f_lineno} in {frame.f_code.co_name}")
            awaited = awaited.cr_await
        print(f"stuck task {task.get_name()}:", *where, sep="\n  ", file=sys.__stderr__, flush=True)


def pool_children_signal(sig: int = signal.SIGTERM) -> int:
    """Forward a shutdown to the prefork children (warm shutdown would otherwise wait forever)."""
    import psutil

    count = 0
    for child in psutil.Process(os.getpid()).children():
        with contextlib.suppress(psutil.Error):
            child.send_signal(sig)
            count += 1
    return count
