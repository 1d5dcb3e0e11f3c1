"""JSON-lines log formatter with a stable set of keys, so the logs of N instances read as one story.

Every line: time (UTC, ms), level, instance ("host:pid", the same value as the X-Instance-Id header),
role (http|sports|stream|beat|metrics|..., set per child by `manage.py serve`), logger, event (the
message), then the ids passed with `extra=` (game_id, token_id, fence, ...), then task/task_id inside a
Celery task, then exc for tracebacks. Keys never collide: an `extra` that reuses a base key is renamed
to `extra_<key>`.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import sys

import orjson

BASE_KEYS = ("time", "level", "instance", "role", "logger", "event")
_STANDARD = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime", "taskName"}
_HOST = socket.gethostname()


def log_instance_id() -> str:
    """host:pid of the current process (computed per call: Celery's prefork children change pid)."""
    return f"{_HOST}:{os.getpid()}"


def _current_task() -> tuple[str, str] | None:
    state = sys.modules.get("celery._state")  # only inside Celery processes; never import it here
    task = state.get_current_task() if state is not None else None
    if task is None or task.request is None or not task.request.id:
        return None
    return task.name, task.request.id


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, instance, role, logger, event, plus any `extra` ids."""

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, object] = {
            "time": dt.datetime.fromtimestamp(record.created, tz=dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "instance": log_instance_id(),
            "role": os.environ.get("MEVU_ROLE", "http"),
            "logger": record.name,
            "event": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key in _STANDARD or key.startswith("_"):
                continue
            payload["extra_" + key if key in payload else key] = value
        task = _current_task()
        if task is not None:
            payload.setdefault("task", task[0])
            payload.setdefault("task_id", task[1])
        if record.exc_info:
            payload["exc"] = self.formatException(record.exc_info)
        if record.stack_info:
            payload["stack"] = self.formatStack(record.stack_info)
        return orjson.dumps(payload, default=str).decode()
