"""Celery tasks of the games pipeline (queue `sports`): thin wrappers around games.services."""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

from celery import shared_task
from django.db.models import Exists, OuterRef

from games import services
from games.activeset import active_set_refresh
from games.models import Game, League
from games.upstream import GammaClient
from mevu.redis import redis_key, redis_sync

log = logging.getLogger(__name__)


def _league_games_sync(client: GammaClient, league: League, report: services.SyncReport) -> None:
    """One sync per league at a time across workers (the live and full cadences overlap)."""
    lock = redis_sync().lock(redis_key("lock", "games-sync", league.code), timeout=600, blocking=False)
    if not lock.acquire():
        log.info("games sync of %s already running elsewhere", league.code)
        return
    try:
        report.add(services.games_sync(client, league))
    finally:
        lock.release()


def _summary(report: services.SyncReport) -> dict[str, Any]:
    data = dataclasses.asdict(report)
    data["errors"] = data["errors"][:20]
    data["changed_game_ids"] = len(report.changed_game_ids)
    return data


@shared_task(name="games.tasks.sync_leagues", ignore_result=True)
def sync_leagues() -> dict[str, Any]:
    with GammaClient() as client:
        return _summary(services.leagues_sync(client))


@shared_task(name="games.tasks.sync_teams", ignore_result=True)
def sync_teams() -> dict[str, Any]:
    report = services.SyncReport()
    with GammaClient() as client:
        for league in services.followed_leagues():
            report.add(services.teams_sync(client, league))
    return _summary(report)


@shared_task(name="games.tasks.sync_games", ignore_result=True)
def sync_games(league_code: str | None = None) -> dict[str, Any]:
    """Games of every followed league (or one), then the token set and added/removed events."""
    report = services.SyncReport()
    with GammaClient() as client:
        for league in services.followed_leagues(league_code):
            _league_games_sync(client, league, report)
    active_set_refresh(changed=report.changed_game_ids)
    return _summary(report)


@shared_task(name="games.tasks.sync_live_games", ignore_result=True)
def sync_live_games() -> dict[str, Any]:
    """The faster cadence: only leagues that have a live game right now."""
    live = Game.objects.filter(league=OuterRef("pk"), status=Game.Status.LIVE, vanished_at__isnull=True)
    leagues = list(League.objects.filter(followed=True).filter(Exists(live)))
    report = services.SyncReport()
    if leagues:
        with GammaClient() as client:
            for league in leagues:
                _league_games_sync(client, league, report)
        active_set_refresh(changed=report.changed_game_ids)
    return _summary(report)


@shared_task(name="games.tasks.sync_league_now", ignore_result=True)
def sync_league_now(league_code: str) -> dict[str, Any]:
    """Admin action: teams and games of one league, immediately."""
    report = services.SyncReport()
    with GammaClient() as client:
        for league in services.followed_leagues(league_code):
            report.add(services.teams_sync(client, league))
            _league_games_sync(client, league, report)
    active_set_refresh(changed=report.changed_game_ids)
    return _summary(report)
