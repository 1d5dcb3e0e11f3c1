"""Process-wide observability hooks: Celery task metrics + logging, PostgreSQL/Redis error counting.

Installed once per process: `observability_install_celery()` from mevu/celery.py (workers, beat) and
`observability_install_django()` from there and from mevu/asgi.py (HTTP instances).
"""

from __future__ import annotations

import logging
import logging.config
import os
import time
from typing import Any

from core import metrics

log = logging.getLogger("ops.observability")
_installed: set[str] = set()
_task_started: dict[str, float] = {}


# --- Celery ---------------------------------------------------------------------------------------
def _celery_logging(**_: Any) -> None:
    """Celery would install its own (non-JSON) handlers; route worker and beat logs through LOGGING."""
    from django.conf import settings

    logging.config.dictConfig(settings.LOGGING)
    logging.captureWarnings(True)


def _task_prerun(task_id: str | None = None, task: Any = None, **_: Any) -> None:
    if task_id:
        _task_started[task_id] = time.perf_counter()
    metrics.TASKS_RUNNING.labels(task.name).inc()


def _task_postrun(task_id: str | None = None, task: Any = None, state: str | None = None, **_: Any) -> None:
    started = _task_started.pop(task_id, None) if task_id else None
    metrics.TASKS_RUNNING.labels(task.name).dec()
    metrics.TASK_RUNS.labels(task.name, state or "UNKNOWN").inc()
    if started is not None:
        metrics.TASK_DURATION.labels(task.name).observe(time.perf_counter() - started)


def _task_failure(sender: Any = None, exception: BaseException | None = None, **_: Any) -> None:
    name = getattr(sender, "name", "unknown")
    metrics.TASK_FAILURES.labels(name, type(exception).__name__ if exception else "unknown").inc()
    if exception is not None:
        metrics.backend_error(exception)


def _process_exit(**_: Any) -> None:
    """A pool child going away: its live gauges (running tasks, open sockets) must stop counting."""
    if metrics.multiprocess_enabled():
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(os.getpid())


def observability_install_celery() -> None:
    if "celery" in _installed:
        return
    _installed.add("celery")
    from celery import signals

    signals.setup_logging.connect(_celery_logging, weak=False)
    # Earlier than setup_logging: the worker's start-up warnings (e.g. running as root) become JSON too.
    signals.celeryd_init.connect(_celery_logging, weak=False)
    signals.task_prerun.connect(_task_prerun, weak=False)
    signals.task_postrun.connect(_task_postrun, weak=False)
    signals.task_failure.connect(_task_failure, weak=False)
    signals.worker_process_shutdown.connect(_process_exit, weak=False)


# --- Django ---------------------------------------------------------------------------------------
def _count_db_errors(execute: Any, sql: str, params: Any, many: bool, context: dict[str, Any]) -> Any:
    from django.db import DatabaseError

    try:
        return execute(sql, params, many, context)
    except DatabaseError as exc:
        metrics.backend_error(exc)
        raise


def _on_db_connection(sender: Any = None, connection: Any = None, **_: Any) -> None:
    if connection is not None and _count_db_errors not in connection.execute_wrappers:
        connection.execute_wrappers.append(_count_db_errors)


def _on_request_exception(sender: Any = None, request: Any = None, **_: Any) -> None:
    import sys

    exc = sys.exc_info()[1]
    if exc is not None:
        metrics.backend_error(exc)


def observability_install_django() -> None:
    if "django" in _installed:
        return
    _installed.add("django")
    from django.core.signals import got_request_exception
    from django.db.backends.signals import connection_created

    connection_created.connect(_on_db_connection, weak=False)
    got_request_exception.connect(_on_request_exception, weak=False)
