"""Queue a catalog sync on request (POST /api/games/refresh, /api/teams/refresh): at most one per kind per
REFRESH_MIN_INTERVAL_S cluster-wide (a Redis gate), run by the `sports` Celery worker. Tasks are sent by their
registered names (the task routes pick the queue), so this layer needs no import of the task modules."""

from __future__ import annotations

from celery import current_app
from django.conf import settings

from core.redis import redis_key, redis_sync
from games.models import League


class UnknownLeague(ValueError):
    pass


def do_queue_refresh(kind: str, league_code: str | None = None) -> tuple[bool, float]:
    """(queued, seconds until the next refresh of this kind is allowed)."""
    if league_code is not None and not League.objects.filter(code=league_code, followed=True).exists():
        raise UnknownLeague(league_code)
    gate = redis_key("refresh", kind)
    window_ms = int(settings.REFRESH_MIN_INTERVAL_S * 1000)
    client = redis_sync()
    if not client.set(gate, "1", nx=True, px=window_ms):
        return False, max(client.pttl(gate), 0) / 1000
    if kind == "games":
        current_app.send_task("games.tasks.sync_games", args=[league_code])
    else:
        current_app.send_task("games.tasks.sync_teams")
    return True, settings.REFRESH_MIN_INTERVAL_S
