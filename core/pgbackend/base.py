"""Django's PostgreSQL backend, reading timestamptz values with psycopg's C loader.

Django registers a pure-Python subclass of psycopg's TimestamptzLoader on every connection (to pin the values'
tzinfo to its own), which hides the C loader psycopg would use: ~5 µs per value instead of well under one, paid
by every read of a timestamp column (a cold sync's announcement reads back ~12k). With USE_TZ and no
per-database TIME_ZONE, Django sets each session's TimeZone to UTC and pins tzinfo to datetime.timezone.utc,
and psycopg's own loader gives exactly those values; other set-ups keep Django's loader.
"""

from __future__ import annotations

import datetime
from typing import Any

import psycopg
from django.db.backends.postgresql import base
from psycopg.abc import AdaptContext, Buffer
from psycopg.adapt import Loader
from psycopg.pq import Format

_TIMESTAMPTZ = psycopg.adapters.types["timestamptz"].oid
_FAST_LOADER = psycopg.adapters.get_loader(_TIMESTAMPTZ, Format.TEXT)  # the C class in psycopg's binary build


class UtcTimestamptzLoader(Loader):
    """psycopg's default timestamptz loader under the `timezone` attribute that Django's create_cursor checks
    before registering its own loader on a cursor (the C class cannot be subclassed)."""

    timezone = datetime.UTC

    def __init__(self, oid: int, context: AdaptContext | None = None) -> None:
        super().__init__(oid, context)
        self._fast = _FAST_LOADER(oid, context)

    def load(self, data: Buffer) -> datetime.datetime:
        return self._fast.load(data)


class DatabaseWrapper(base.DatabaseWrapper):
    def get_new_connection(self, conn_params: dict[str, Any]) -> psycopg.Connection[Any]:
        connection = super().get_new_connection(conn_params)
        if self.timezone is datetime.UTC:
            connection.adapters.register_loader(_TIMESTAMPTZ, UtcTimestamptzLoader)
        return connection
