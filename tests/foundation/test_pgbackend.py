"""The database backend reads timestamptz values with psycopg's C loader, and they equal what Django's own
loader gives: the same instants, tzinfo datetime.timezone.utc."""

from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.db.backends.postgresql.psycopg_any import register_tzloader
from psycopg.pq import Format

from core.pgbackend.base import UtcTimestamptzLoader
from games.models import League

STAMPS = [
    "2026-12-07 14:00:00+00",
    "2026-12-07 14:00:00.000001+00",
    "2026-03-29 01:59:59.999999+01",
    "1969-12-31 23:59:59.5-08",
    "1900-01-01 00:00:00+05:30",
    "2100-06-01 12:00:00.123456-07",
    "0001-01-02 00:00:00+00",
]


def _select(stamps: list[str], *, django_loader: bool) -> list[datetime.datetime]:
    with connection.cursor() as cursor:
        if django_loader:
            register_tzloader(datetime.UTC, cursor.cursor)
        cursor.execute("SELECT s::timestamptz FROM unnest(%s::text[]) AS s", [stamps])
        return [row[0] for row in cursor.fetchall()]


@pytest.mark.django_db
def test_timestamps_load_in_c_with_djangos_values() -> None:
    with connection.cursor():
        pass  # connects
    timestamptz = connection.connection.adapters.types["timestamptz"].oid
    assert connection.connection.adapters.get_loader(timestamptz, Format.TEXT) is UtcTimestamptzLoader
    fast, django = _select(STAMPS, django_loader=False), _select(STAMPS, django_loader=True)
    assert fast == django
    assert [s.utcoffset() for s in fast] == [datetime.timedelta(0)] * len(STAMPS)
    assert {s.tzinfo for s in fast} == {datetime.UTC}


@pytest.mark.django_db
def test_the_orm_round_trips_timestamps() -> None:
    when = datetime.datetime(2026, 12, 7, 14, 0, 0, 123456, tzinfo=datetime.UTC)
    league = League.objects.create(code="nba", series_ids=["1"])
    League.objects.filter(pk=league.pk).update(updated_at=when)
    assert League.objects.values_list("updated_at", flat=True).get(pk=league.pk) == when
