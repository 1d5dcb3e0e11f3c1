"""JSON-lines log formatter with a stable set of keys."""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket

import orjson

_INSTANCE = f"{socket.gethostname()}:{os.getpid()}"
_STANDARD = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, instance, role, logger, event, plus any `extra` ids."""

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, object] = {
            "time": dt.datetime.fromtimestamp(record.created, tz=dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "instance": _INSTANCE,
            "role": os.environ.get("MEVU_ROLE", "http"),
            "logger": record.name,
            "event": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                payload[key] = value
        if record.exc_info:
            payload["exc"] = self.formatException(record.exc_info)
        return orjson.dumps(payload, default=str).decode()
