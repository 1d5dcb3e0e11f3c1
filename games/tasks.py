"""Celery tasks of the games pipeline (queue `sports`): thin wrappers around games.services."""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

from celery import shared_task, signals
from django.db.models import Exists, OuterRef

from games import services
from games.activeset import active_set_refresh
from games.models import Game, League
from games.upstream import GammaClient

log = logging.getLogger(__name__)


def _summary(report: services.SyncReport) -> dict[str, Any]:
    data = dataclasses.asdict(report)
    data["errors"] = data["errors"][:20]
    data["changed_game_ids"] = len(report.changed_game_ids)
    return data


@shared_task(name="games.tasks.sync_bootstrap", ignore_result=True)
def sync_bootstrap() -> dict[str, Any] | None:
    """Sent by every sports worker as it starts: a fresh database is filled at once, not in a day."""
    with GammaClient() as client:
        reports = services.catalog_bootstrap(client)
    if reports is None:
        return None
    log.info("catalog bootstrap: %s", {name: _summary(report) for name, report in reports.items()})
    return {name: _summary(report) for name, report in reports.items()}


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
            services.games_sync_exclusive(client, league, report)
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
                services.games_sync_exclusive(client, league, report)
        active_set_refresh(changed=report.changed_game_ids)
    return _summary(report)


@shared_task(name="games.tasks.sync_league_now", ignore_result=True)
def sync_league_now(league_code: str) -> dict[str, Any]:
    """Admin action: teams and games of one league, immediately."""
    report = services.SyncReport()
    with GammaClient() as client:
        for league in services.followed_leagues(league_code):
            report.add(services.teams_sync(client, league))
            services.games_sync_exclusive(client, league, report)
    active_set_refresh(changed=report.changed_game_ids)
    return _summary(report)


@signals.worker_ready.connect
def _bootstrap_on_start(sender: Any = None, **_: object) -> None:
    if "sports" in sender.app.amqp.queues.consume_from:
        sync_bootstrap.apply_async()
