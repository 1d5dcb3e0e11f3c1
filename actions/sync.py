"""Catalog sync actions: each writes through games.services with the league locks it needs, then announces
what changed once, after the writes (actions.activeset.changes_announce).

A league is synced by one process at a time across the cluster: the cadences overlap (live games every 15 s,
all games every minute), and the start-up bootstrap, admin re-syncs and `manage.py sync_upstream` may run
beside them; a caller that finds a league locked skips it, its data being fresh from the other sync.

The events of the next leagues are fetched ahead (FETCH_AHEAD threads, HTTP only) while leagues are
compared and written, so the upstream's response time overlaps our work instead of adding to it. Outside a
caller's transaction, WRITERS leagues are written at once, each thread on its own database connection: one
league's PostgreSQL time (COPY, foreign-key checks, commit) overlaps another's parsing. Inside one (a caller's
atomic block), or with a single league, the leagues are written on the caller's connection, in order."""

from __future__ import annotations

import collections
import contextlib
import logging
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime
from typing import TypeVar

from django.db import connection, connections
from django.utils import timezone

from actions.activeset import changes_announce
from core.gcpause import cyclic_gc_paused
from core.redis import redis_key, redis_sync
from games import services
from games.models import League
from games.services import EventsFetch, Progress, SyncReport, TeamsFetch
from games.upstream import GammaClient
from markets.tokenset import token_set_version

log = logging.getLogger(__name__)
LOCK_TIMEOUT_S = 600
FETCH_AHEAD = 3  # leagues whose teams and events are being fetched while others are written
WRITERS = 2  # leagues written at once outside a caller's transaction (one database connection each)
T = TypeVar("T")
R = TypeVar("R")


@contextlib.contextmanager
def _exclusive(*name: str) -> Iterator[bool]:
    """A cluster-wide lock held for the block; yields False (and holds nothing) when another process has it."""
    lock = redis_sync().lock(redis_key("lock", *name), timeout=LOCK_TIMEOUT_S, blocking=False)
    if not lock.acquire():
        yield False
        return
    try:
        yield True
    finally:
        lock.release()


def _fetched_ahead(items: Iterable[T], fetch: Callable[[T], R], ahead: int = FETCH_AHEAD) -> Iterator[tuple[T, R]]:
    """(item, fetch(item)) in order, with up to `ahead` fetches running in threads meanwhile."""
    pending: collections.deque[tuple[T, Future[R]]] = collections.deque()
    queue = iter(items)
    with ThreadPoolExecutor(max_workers=ahead, thread_name_prefix="gamma-fetch") as pool:
        for item in queue:
            pending.append((item, pool.submit(fetch, item)))
            if len(pending) > ahead:
                item, future = pending.popleft()
                yield item, future.result()
        while pending:
            item, future = pending.popleft()
            yield item, future.result()


def _on_own_connections(items: Iterable[T], work: Callable[[T], R], workers: int) -> list[R]:
    """[work(item) for item in items], run by `workers` threads, each on a database connection of its own that
    it closes when done. The first exception raised by `work` is raised here once every thread has stopped."""
    enumerated, lock = enumerate(items), threading.Lock()
    results: dict[int, R] = {}
    errors: list[BaseException] = []

    def run() -> None:
        try:
            while not errors:
                with lock:  # the items may come from a generator, which one thread at a time may advance
                    position, item = next(enumerated, (None, None))
                if position is None:
                    return
                results[position] = work(item)  # type: ignore[arg-type]
        except BaseException as exc:  # re-raised in the caller's thread
            errors.append(exc)
        finally:
            connections.close_all()  # this thread's connections only

    threads = [threading.Thread(target=run, name=f"league-writer-{n}") for n in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return [results[position] for position in sorted(results)]


def _leagues_sync(client: GammaClient, leagues: Iterable[League], teams: SyncReport | None, games: SyncReport,
                  now: datetime | None, progress: Progress | None) -> None:
    fetch_now = now or timezone.now()

    def fetch(league: League) -> tuple[TeamsFetch | None, EventsFetch]:
        return (services.teams_fetch(client, league) if teams is not None else None,
                services.events_fetch(client, league, fetch_now))

    def write(fetched: tuple[League, tuple[TeamsFetch | None, EventsFetch]]) -> tuple[SyncReport, SyncReport]:
        league, (fetched_teams, fetched_events) = fetched
        teams_report = SyncReport()
        with _exclusive("games-sync", league.code) as mine:
            if not mine:
                log.info("games sync of %s already running elsewhere", league.code)
                return teams_report, SyncReport()
            index = None
            if fetched_teams is not None:
                teams_report, index = services.teams_write(league, fetched_teams)
            return teams_report, services.games_sync(client, league, now=now, progress=progress,
                                                     fetched=fetched_events, teams=index)

    leagues = list(leagues)
    pairs = _fetched_ahead(leagues, fetch)
    writers = min(WRITERS, len(leagues))
    if connection.in_atomic_block or writers < 2:  # a caller's transaction must see (and may roll back) every write
        results = [write(pair) for pair in pairs]
    else:
        results = _on_own_connections(pairs, write, writers)
    for teams_report, games_report in results:
        if teams is not None:
            teams.add(teams_report)
        games.add(games_report)


def do_sync_leagues(client: GammaClient) -> SyncReport:
    """Gamma's sports list: which leagues exist and are followed (nothing to announce until their games sync)."""
    return services.leagues_sync(client)


def do_sync_teams(client: GammaClient) -> SyncReport:
    """Teams of every followed league (games link to them at their next sync)."""
    report = SyncReport()
    for league in services.followed_leagues():
        report.add(services.teams_sync(client, league))
    return report


def do_sync_games(client: GammaClient, leagues: Iterable[League], *, teams: bool = False) -> SyncReport:
    """Games (and, with `teams`, teams first) of these leagues; then the announcement."""
    report = SyncReport()
    with cyclic_gc_paused():
        _leagues_sync(client, leagues, report if teams else None, report, None, None)
        changes_announce(changed=report.changed_game_ids)
    return report


def do_sync_catalog(
    client: GammaClient, *, league_code: str | None = None, teams: bool = True, now: datetime | None = None,
    progress: Progress | None = None,
) -> dict[str, SyncReport]:
    """Leagues, then teams and games of every followed league (or one); then the announcement."""
    with cyclic_gc_paused():
        reports = {"leagues": services.leagues_sync(client), "teams": SyncReport(), "games": SyncReport()}
        _leagues_sync(client, services.followed_leagues(league_code), reports["teams"] if teams else None,
                      reports["games"], now, progress)
        changes_announce(now=now, changed=reports["games"].changed_game_ids)
    return reports


def do_bootstrap_catalog(client: GammaClient) -> dict[str, SyncReport] | None:
    """At start: sync everything once when the catalog is missing, else only republish a missing token set
    (Redis emptied). Once per cluster: concurrent starters skip while one runs. None when nothing was needed."""
    with _exclusive("catalog-bootstrap") as mine:
        if not mine:
            return None
        if services.catalog_missing():
            return do_sync_catalog(client)
        if not token_set_version():
            changes_announce()
        return None
