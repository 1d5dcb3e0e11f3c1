"""Set-based row writes for the sync: one statement per table however many rows, never one per row.

Rows the caller knows to be new are COPYed, their ids drawn from the table's identity sequence first, so the
INSERT … ON CONFLICT machinery (a speculative insertion and an arbiter-index probe per row) is paid only by rows
that may exist. A COPY that meets an existing key after all (a row written meanwhile by another path) is rolled
back to its savepoint and the batch goes through the upsert instead.
"""

from __future__ import annotations

import contextlib
from collections.abc import Container, Iterator, Mapping, Sequence
from decimal import Decimal
from typing import Any

import orjson
from django.db import IntegrityError, connection, models, transaction


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


def rows_upsert(model: type[models.Model], key: str, rows: Sequence[Mapping[str, Any]]) -> dict[Any, int]:
    """INSERT … SELECT FROM json_array_elements(<all rows as one JSON array>) ON CONFLICT (key) DO UPDATE:
    one statement and one parameter however many rows. The rows are encoded by orjson (C) and decoded by
    PostgreSQL: Django's client-side binding would quote ~12k-element arrays in Python, the main cost of
    a cold sync. Returns {key value: id}."""
    if not rows:
        return {}
    names = list(rows[0])
    fields = [model._meta.get_field(name) for name in names]
    quote = connection.ops.quote_name
    columns = [quote(f.column) for f in fields]
    values = [f"(r->>{i})::{f.db_type(connection)}" for i, f in enumerate(fields)]
    updates = ", ".join(f"{c} = EXCLUDED.{c}" for c, n in zip(columns, names, strict=True) if n != key)
    key_column = quote(model._meta.get_field(key).column)
    sql = (
        f"INSERT INTO {quote(model._meta.db_table)} ({', '.join(columns)}) "
        f"SELECT {', '.join(values)} FROM json_array_elements(%s::json) AS r "
        f"ON CONFLICT ({key_column}) DO UPDATE SET {updates} RETURNING {key_column}, {quote(model._meta.pk.column)}"
    )
    payload = orjson.dumps([[row[name] for name in names] for row in rows], default=_json_default)
    with connection.cursor() as cursor:
        cursor.execute(sql, [payload.decode()])
        return dict(cursor.fetchall())


def rows_copy(model: type[models.Model], rows: Sequence[Mapping[str, Any]]) -> list[int]:
    """COPY new rows (all with the same keys) with ids drawn from the table's sequence; returns their ids."""
    table, pk = model._meta.db_table, model._meta.pk.column
    names = list(rows[0])
    columns = [pk, *(model._meta.get_field(name).column for name in names)]
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(s) FROM (SELECT pg_get_serial_sequence(%s, %s)::regclass AS s) AS q, "
                       "generate_series(1, %s)", [table, pk, len(rows)])
        ids = [row[0] for row in cursor.fetchall()]
        with connection.wrap_database_errors, cursor.copy(
            f"COPY {quote(table)} ({', '.join(quote(c) for c in columns)}) FROM STDIN"
        ) as copy:
            for pk_value, row in zip(ids, rows, strict=True):
                copy.write_row((pk_value, *(row[name] for name in names)))
    return ids


def rows_write(
    model: type[models.Model], key: str, rows: Sequence[Mapping[str, Any]], stored: Container[Any]
) -> dict[Any, int]:
    """Write rows (inside the caller's transaction): those whose key is not `stored` by COPY, the others by
    rows_upsert. Returns {key value: id}."""
    new = [row for row in rows if row[key] not in stored]
    if not new:
        return rows_upsert(model, key, rows)
    try:
        with transaction.atomic():
            ids = rows_copy(model, new)
    except IntegrityError:  # a key stored meanwhile: the upsert takes every row
        return rows_upsert(model, key, rows)
    written = {row[key]: pk for row, pk in zip(new, ids, strict=True)}
    written.update(rows_upsert(model, key, [row for row in rows if row[key] in stored]))
    return written
