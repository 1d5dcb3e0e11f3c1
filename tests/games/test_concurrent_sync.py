"""Leagues written at once, each writer on its own connection: outside a caller's transaction a sync writes
several leagues in parallel threads, leaves no connection behind and stores exactly what a sequential one does."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection
from django.db.backends.signals import connection_created
from django.db.models import F

from actions import sync
from actions.sync import do_sync_catalog
from games.models import Game, Team
from games.upstream import GammaClient
from markets.models import Market, Outcome
from simulator.testing import run_simulator

WRITE_VERBS = ("INSERT", "UPDATE", "DELETE", "COPY")


class _Statements:
    """Every statement run on any connection opened while watching, with the name of the thread that ran it."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []
        self.opened: list[Any] = []  # the driver connections opened by other threads

    def __call__(self, execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        self.seen.append((threading.current_thread().name, sql))
        return execute(sql, params, many, context)

    def _attach(self, sender: Any, connection: Any, **kwargs: Any) -> None:
        connection.execute_wrappers.append(self)
        if threading.current_thread() is not threading.main_thread():
            self.opened.append(connection.connection)

    def writes(self) -> list[tuple[str, str]]:
        return [(name, sql) for name, sql in self.seen if sql.lstrip().upper().startswith(WRITE_VERBS)]


@pytest.fixture
def watch_statements() -> Iterator[_Statements]:
    statements = _Statements()
    connection_created.connect(statements._attach)
    try:
        with connection.execute_wrapper(statements):
            yield statements
    finally:
        connection_created.disconnect(statements._attach)


def _numbers() -> Iterator[int]:
    yield from range(20)


def test_results_come_back_in_input_order_from_at_most_workers_threads(transactional_db: None) -> None:
    threads: set[str] = set()
    opened: list[Any] = []

    def work(n: int) -> tuple[int, int]:
        threads.add(threading.current_thread().name)
        with connection.cursor() as cursor:  # each thread's own connection
            cursor.execute("SELECT %s::int * 2, pg_backend_pid()", [n])
            opened.append(connection.connection)
            return cursor.fetchone()

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (caller_pid,) = cursor.fetchone()
    results = sync._on_own_connections(_numbers(), work, workers=3)

    assert [doubled for doubled, _ in results] == [2 * n for n in range(20)]
    assert threads <= {"league-writer-0", "league-writer-1", "league-writer-2"} and threads
    assert caller_pid not in {pid for _, pid in results}
    assert opened and all(conn.closed for conn in opened)  # every writer closed its connection


def test_the_first_error_is_raised_once_every_writer_has_stopped(transactional_db: None) -> None:
    done: list[int] = []
    opened: list[Any] = []

    def work(n: int) -> int:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            opened.append(connection.connection)
        if n == 3:
            raise ValueError("league 3 is malformed")
        done.append(n)
        return n

    with pytest.raises(ValueError, match="league 3"):
        sync._on_own_connections(_numbers(), work, workers=2)
    assert 3 not in done and len(done) < 20  # the writers stop taking leagues after the error
    assert all(conn.closed for conn in opened)
    assert not any(t.name.startswith("league-writer-") for t in threading.enumerate())


def test_a_sync_outside_a_transaction_writes_leagues_on_parallel_connections(
    transactional_db: None, settings: Any, watch_statements: _Statements
) -> None:
    settings.GAMES_SERIES_OVERRIDES = []
    with run_simulator(seed=11, extra_args=("--paused", "--new-game-every-s", "0")) as sim:
        state = sim.state()["counts"]
        with GammaClient(sim.gamma_url) as client:
            reports = do_sync_catalog(client)

        writers = {name for name, _ in watch_statements.writes() if name.startswith("league-writer-")}
        assert writers == {f"league-writer-{n}" for n in range(sync.WRITERS)}  # both wrote leagues
        assert reports["games"].skipped == 0 and reports["teams"].skipped == 0
        assert reports["teams"].upserted == Team.objects.count() == state["teams"]
        assert Market.objects.count() == state["markets"] and Outcome.objects.count() == state["tokens"]
        # Each writer resolved its own league's teams: no game or outcome points at another league's team.
        assert Game.objects.filter(home_team__isnull=False).exists()
        assert not Game.objects.exclude(home_team=None).exclude(home_team__league=F("league")).exists()
        assert not Game.objects.exclude(away_team=None).exclude(away_team__league=F("league")).exists()
        assert not Outcome.objects.exclude(team=None).exclude(team__league=F("market__game__league")).exists()
        # One connection per writer besides the caller's, each closed when the sync ended.
        assert len(watch_statements.opened) == sync.WRITERS
        assert all(conn.closed for conn in watch_statements.opened)

        watch_statements.seen.clear()
        with GammaClient(sim.gamma_url) as client:
            again = do_sync_catalog(client)
        assert watch_statements.writes() == []
        assert again["games"].upserted == 0 and again["games"].unchanged == reports["games"].upserted
        assert all(conn.closed for conn in watch_statements.opened)

        # One league: written on the caller's connection, no writer thread started.
        opened = len(watch_statements.opened)
        code = Game.objects.values_list("league__code", flat=True).first()
        Game.objects.filter(league__code=code).update(content_hash="")  # so that it writes again
        with GammaClient(sim.gamma_url) as client:
            one = do_sync_catalog(client, league_code=code)
        assert one["games"].upserted == Game.objects.filter(league__code=code).count() > 0
        assert len(watch_statements.opened) == opened
