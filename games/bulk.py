"""Set-based row writes for the sync: one statement per table however many rows, never one per row.

Rows travel as one JSON array (rows as arrays of values) in one parameter and PostgreSQL casts each value to its
column. Rows the caller knows to be new are inserted ON CONFLICT DO NOTHING: no comparison, no update clause, and
a key stored meanwhile by another path is skipped (no savepoint round trips) and then upserted with the rows the
caller knew to be stored.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Container, Iterator, Sequence
from decimal import Decimal
from typing import Any

import orjson
from django.db import connection, models, transaction


@contextlib.contextmanager
def catalog_transaction() -> Iterator[None]:
    """A transaction of catalog rows, which the upstream can always give again: its commit does not wait for
    the WAL flush (synchronous_commit off, for this transaction only). A PostgreSQL crash can lose the last
    few hundred milliseconds of such commits, never consistency; the next sync writes them again (their
    games' content hashes are lost with them)."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL synchronous_commit TO OFF")
        yield


def rows_select(
    model: type[models.Model], key: str, values: Sequence[Any], names: Sequence[str]
) -> dict[Any, dict[str, Any]]:
    """Stored rows by key, `WHERE key = ANY(%s)`: one array parameter instead of ~12k IN placeholders."""
    if not values:
        return {}
    quote = connection.ops.quote_name
    fields = [model._meta.pk if n == "pk" else model._meta.get_field(n) for n in (key, *names)]
    sql = (
        f"SELECT {', '.join(quote(f.column) for f in fields)} FROM {quote(model._meta.db_table)} "
        f"WHERE {quote(fields[0].column)} = ANY(%s)"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [list(values)])
        return {row[0]: dict(zip((key, *names), row, strict=True)) for row in cursor.fetchall()}


def _json_default(value: object) -> str:
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


@functools.cache  # a handful of (table, columns) shapes, built once per process
def _insert_sql(
    model: type[models.Model], key: str, names: tuple[str, ...], update: tuple[str, ...] | None
) -> str:
    """`INSERT INTO table (columns) SELECT <each column cast from its element of a row> FROM <the rows as one
    JSON array of arrays> ON CONFLICT (key)` DO UPDATE the `update` columns (DO NOTHING when None) RETURNING
    key, id. orjson (C) encodes the rows and PostgreSQL decodes them, on its own core: Django's bulk_create quotes
    its UNNEST arrays in Python and COPY formats every value in this process, which holds the GIL that the
    sync's other threads wait for."""
    quote = connection.ops.quote_name

    def column(name: str) -> str:
        return quote(model._meta.get_field(name).column)

    values = ", ".join(f"(r->>{i})::{model._meta.get_field(n).db_type(connection)}" for i, n in enumerate(names))
    sql = (
        f"INSERT INTO {quote(model._meta.db_table)} ({', '.join(map(column, names))}) "
        f"SELECT {values} FROM jsonb_array_elements(%s::jsonb) AS r"
    )
    if update is None:
        sql += f" ON CONFLICT ({column(key)}) DO NOTHING"
    else:
        sql += f" ON CONFLICT ({column(key)}) DO UPDATE SET " + ", ".join(
            f"{column(n)} = EXCLUDED.{column(n)}" for n in update
        )
    return sql + f" RETURNING {column(key)}, {quote(model._meta.pk.column)}"


def _rows_run(sql: str, rows: Sequence[Sequence[Any]]) -> dict[Any, int]:
    with connection.cursor() as cursor:
        cursor.execute(sql, [orjson.dumps(rows, default=_json_default).decode()])
        return dict(cursor.fetchall())


def rows_insert(
    model: type[models.Model], key: str, names: tuple[str, ...], rows: Sequence[Sequence[Any]]
) -> dict[Any, int]:
    """INSERT new rows (values in `names` order), ids from the table's default, in one statement with one
    parameter; a row whose key is stored already is skipped. Returns {key value: id} of the inserted rows."""
    return _rows_run(_insert_sql(model, key, names, None), rows) if rows else {}


def rows_upsert(
    model: type[models.Model], key: str, names: tuple[str, ...], rows: Sequence[Sequence[Any]],
    insert_only: tuple[str, ...] = (),
) -> dict[Any, int]:
    """rows_insert, ON CONFLICT (key) DO UPDATE every column but the key and `insert_only` (e.g. created_at)."""
    if not rows:
        return {}
    update = tuple(n for n in names if n != key and n not in insert_only)
    return _rows_run(_insert_sql(model, key, names, update), rows)


def rows_write(
    model: type[models.Model], key: str, names: tuple[str, ...], rows: Sequence[Sequence[Any]],
    stored: Container[Any],
) -> dict[Any, int]:
    """Write rows (values in `names` order, the key among them): those whose key is not `stored` by
    rows_insert, skipping any key stored meanwhile by another path; then the stored and the skipped ones by
    rows_upsert. Returns {key value: id}."""
    position = names.index(key)
    written = rows_insert(model, key, names, [row for row in rows if row[position] not in stored])
    rest = [row for row in rows if row[position] not in written]
    if rest:
        written.update(rows_upsert(model, key, names, rest))
    return written
