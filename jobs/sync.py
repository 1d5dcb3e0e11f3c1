"""Celery tasks of the games pipeline (queue `sports`): thin wrappers around the sync actions."""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

from celery import shared_task, signals

from actions.sync import do_bootstrap_catalog, do_sync_games, do_sync_leagues, do_sync_teams
from games import services
from games.services import SyncReport
from games.upstream import GammaClient

log = logging.getLogger(__name__)


def _summary(report: SyncReport) -> dict[str, Any]:
    data = dataclasses.asdict(report)
    data["errors"] = data["errors"][:20]
    data["changed_game_ids"] = len(report.changed_game_ids)
    return data


@shared_task(name="games.tasks.sync_bootstrap", ignore_result=True)
def sync_bootstrap() -> dict[str, Any] | None:
    """Sent by every sports worker as it starts: a fresh database is filled at once, not in a day."""
    with GammaClient() as client:
        reports = do_bootstrap_catalog(client)
    if reports is None:
        return None
    summary = {name: _summary(report) for name, report in reports.items()}
    log.info("catalog bootstrap: %s", summary)
    return summary


@shared_task(name="games.tasks.sync_leagues", ignore_result=True)
def sync_leagues() -> dict[str, Any]:
    with GammaClient() as client:
        return _summary(do_sync_leagues(client))


@shared_task(name="games.tasks.sync_teams", ignore_result=True)
def sync_teams() -> dict[str, Any]:
    with GammaClient() as client:
        return _summary(do_sync_teams(client))


@shared_task(name="games.tasks.sync_games", ignore_result=True)
def sync_games(league_code: str | None = None) -> dict[str, Any]:
    """Games of every followed league (or one), then the token set and added/removed events."""
    with GammaClient() as client:
        return _summary(do_sync_games(client, services.followed_leagues(league_code)))


@shared_task(name="games.tasks.sync_live_games", ignore_result=True)
def sync_live_games() -> dict[str, Any]:
    """The faster cadence: only leagues that have a live game right now."""
    leagues = services.leagues_with_live_games()
    if not leagues:
        return _summary(SyncReport())
    with GammaClient() as client:
        return _summary(do_sync_games(client, leagues))


@shared_task(name="games.tasks.sync_league_now", ignore_result=True)
def sync_league_now(league_code: str) -> dict[str, Any]:
    """Admin action: teams and games of one league, immediately."""
    with GammaClient() as client:
        return _summary(do_sync_games(client, services.followed_leagues(league_code), teams=True))


@signals.worker_ready.connect
def _bootstrap_on_start(sender: Any = None, **_: object) -> None:
    if "sports" in sender.app.amqp.queues.consume_from:
        sync_bootstrap.apply_async()
