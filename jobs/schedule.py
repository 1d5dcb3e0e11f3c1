"""The beat schedule (RedBeat): one function every periodic task is registered in.

To add an entry, add a key to the dict below; mevu/celery.py assigns the result to app.conf.beat_schedule.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings


def _every(task: str, seconds: int, **options: Any) -> dict[str, Any]:
    # A run that cannot start within one interval is dropped: the next one supersedes it.
    return {"task": task, "schedule": float(seconds), "options": {"expires": float(seconds), **options}}


def beat_schedule() -> dict[str, dict[str, Any]]:
    return {
        "games-sync-leagues": _every("games.tasks.sync_leagues", settings.SYNC_LEAGUES_EVERY_S),
        "games-sync-teams": _every("games.tasks.sync_teams", settings.SYNC_TEAMS_EVERY_S),
        "games-sync-games": _every("games.tasks.sync_games", settings.SYNC_GAMES_EVERY_S),
        "games-sync-live-games": _every("games.tasks.sync_live_games", settings.SYNC_LIVE_GAMES_EVERY_S),
        # Price stream (markets/stream): restart the socket holder when its lease is free; prune history.
        "markets-stream-watchdog": _every("markets.tasks.stream_watchdog", settings.STREAM_WATCHDOG_EVERY_S),
        "markets-price-history-retention": _every("markets.tasks.price_history_retention", 86400),
    }
