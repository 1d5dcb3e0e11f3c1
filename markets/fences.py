"""The PostgreSQL side of lease fencing (the Redis side is core.lease).

Every fenced write transaction starts by locking the lease's `markets_streamfence` row and comparing its
token with the writer's (FOR UPDATE). A new holder advances that row right after acquiring the Redis
lease; the row lock orders it after any in-flight write of the old holder, so once the new holder
writes, a stale holder can no longer commit anything (checking Redis before commit would leave a gap).
"""

from __future__ import annotations

from django.db import connection, transaction

from core.errors import StaleFenceError
from core.lease import Fence
from markets.models import StreamFence


class FenceBehindError(StaleFenceError):
    """PostgreSQL has seen a newer token than the one Redis just issued (Redis lost its data)."""

    def __init__(self, message: str, current: int) -> None:
        super().__init__(message)
        self.current = current


def fence_pg_advance(fence: Fence) -> None:
    """Register a newly acquired token; raises FenceBehindError if a newer one is already registered."""
    table = StreamFence._meta.db_table
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (name, token, updated_at) VALUES (%s, %s, now()) "
            f"ON CONFLICT (name) DO UPDATE SET token = GREATEST({table}.token, EXCLUDED.token), "
            "updated_at = now() RETURNING token",
            [fence[0], fence[1]],
        )
        current = cursor.fetchone()[0]
    if current != fence[1]:
        raise FenceBehindError(f"lease {fence[0]!r}: token {fence[1]} is older than PostgreSQL's {current}", current)


def fence_pg_assert(fence: Fence) -> None:
    """Inside a transaction: lock the fence row and require our token (StaleFenceError otherwise)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT token FROM {StreamFence._meta.db_table} WHERE name = %s FOR UPDATE", [fence[0]]
        )
        row = cursor.fetchone()
    if row is None or row[0] != fence[1]:
        raise StaleFenceError(f"lease {fence[0]!r}: token {fence[1]} rejected by PostgreSQL")
