"""Celery tasks of the markets app: the price stream (queue `stream`), its watchdog and history retention.

`stream_run` is long-running: consumed by a worker with concurrency 1 and prefetch 1, acknowledged
early (acks_late=False) so the Redis broker never redelivers it to a second process; the lease, not
the broker, decides who streams.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import shared_task, signals
from django.conf import settings

from actions.prices import price_history_prune
from stream.watchdog import (
    pool_children_signal,
    stream_program_run_blocking,
    stream_task_started,
    stream_watchdog_tick,
)

log = logging.getLogger(__name__)
_stream_worker = {"active": False}


@shared_task(name="markets.tasks.stream_run", acks_late=False, ignore_result=True)
def stream_run() -> str:
    stream_task_started()
    reason = stream_program_run_blocking()
    log.info("stream_run finished: %s", reason)
    return reason


@shared_task(name="markets.tasks.stream_watchdog", ignore_result=True)
def stream_watchdog() -> str:
    return stream_watchdog_tick(lambda: stream_run.apply_async())


@shared_task(name="markets.tasks.price_history_retention", ignore_result=True)
def price_history_retention() -> dict[str, Any]:
    points, snapshots = price_history_prune(settings.STREAM_HISTORY_RETENTION_DAYS)
    return {"price_points": points, "probabilities": snapshots}


@signals.celeryd_after_setup.connect
def _stream_worker_setup(sender: object = None, instance: Any = None, **_: object) -> None:
    """A stream worker must not reserve a second stream_run while one runs (it would sit there unacked
    and die with this worker); with prefetch disabled it only fetches when its one process is idle."""
    queues = set(instance.app.amqp.queues.consume_from)
    if "stream" in queues:
        _stream_worker["active"] = True
        instance.app.conf.worker_disable_prefetch = True


@signals.worker_shutting_down.connect
def _stream_worker_shutdown(**_: object) -> None:
    """Warm shutdown waits for running tasks: tell the stream program to stop (it flushes and releases)."""
    if _stream_worker["active"]:
        pool_children_signal()
