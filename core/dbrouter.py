"""Optional read replica for the hot read-only selectors.

With DATABASE_REPLICA_URL set, code that runs inside `replica_reads()` (a context manager, also usable
as a decorator) reads from the `replica` alias; everything else, every write, and every read inside a
transaction on the primary stays on `default`. The replica is probed with a short connect timeout and
the answer is kept for DB_REPLICA_RECHECK_S, so a dead or unreachable replica costs at most one probe
per process per interval and reads fall back to the primary meanwhile.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import threading
import time
from collections.abc import Iterator
from typing import Any

import psycopg
from django.conf import settings
from django.db import connections

log = logging.getLogger(__name__)
REPLICA = "replica"
_reading_from_replica: contextvars.ContextVar[bool] = contextvars.ContextVar("replica_reads", default=False)
_probe_lock = threading.Lock()
_probe = {"healthy": False, "checked_at": float("-inf")}
# Connection options that belong to Django/psycopg adaptation, not to libpq's conninfo.
_NOT_CONNINFO = {"prepare_threshold", "pool", "isolation_level", "server_side_binding", "assume_role"}


@contextlib.contextmanager
def replica_reads() -> Iterator[None]:
    """Reads in this block may be served by the replica (slightly behind the primary)."""
    token = _reading_from_replica.set(True)
    try:
        yield
    finally:
        _reading_from_replica.reset(token)


def replica_configured() -> bool:
    return REPLICA in settings.DATABASES


def _replica_conninfo() -> dict[str, Any]:
    config = settings.DATABASES[REPLICA]
    params: dict[str, Any] = {
        "dbname": config.get("NAME") or "postgres",
        "user": config.get("USER") or None,
        "password": config.get("PASSWORD") or None,
        "host": config.get("HOST") or None,
        "port": config.get("PORT") or None,
    }
    params.update({k: v for k, v in config.get("OPTIONS", {}).items() if k not in _NOT_CONNINFO})
    params["connect_timeout"] = settings.DB_REPLICA_CHECK_TIMEOUT_S
    return {k: v for k, v in params.items() if v is not None}


def replica_probe() -> bool:
    """Connect to the replica and run one query, within DB_REPLICA_CHECK_TIMEOUT_S."""
    try:
        with psycopg.connect(**_replica_conninfo(), autocommit=True) as conn:
            conn.execute("SELECT 1")
        return True
    except (psycopg.Error, OSError) as exc:
        log.warning("read replica unavailable; reading from the primary", extra={"error": str(exc)[:200]})
        return False


def replica_healthy() -> bool:
    """The cached probe result; re-probed at most every DB_REPLICA_RECHECK_S per process."""
    if not replica_configured():
        return False
    now = time.monotonic()
    if now - _probe["checked_at"] < settings.DB_REPLICA_RECHECK_S:
        return bool(_probe["healthy"])
    # One thread probes; the others use the previous answer instead of piling up probes.
    if not _probe_lock.acquire(blocking=False):
        return bool(_probe["healthy"])
    try:
        _probe["healthy"] = replica_probe()
        _probe["checked_at"] = time.monotonic()
    finally:
        _probe_lock.release()
    return bool(_probe["healthy"])


class ReplicaRouter:
    """Django database router: opt-in replica reads, everything else on the primary."""

    def db_for_read(self, model: type, **hints: Any) -> str | None:
        if not _reading_from_replica.get() or connections["default"].in_atomic_block:
            return None  # read-your-writes inside a transaction on the primary
        return REPLICA if replica_healthy() else None

    def db_for_write(self, model: type, **hints: Any) -> str | None:
        return None

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool | None:
        return True  # the replica holds the same rows as the primary

    def allow_migrate(self, db: str, app_label: str, model_name: str | None = None, **hints: Any) -> bool | None:
        return False if db == REPLICA else None
