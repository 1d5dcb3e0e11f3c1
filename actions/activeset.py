"""The live/upcoming game set: the tokens the stream worker subscribes to, and added/removed events.

Live games, games kicking off within 48 h and postponed games the sync still keeps (their markets stay
open and trade) are "active", as in games.rules.in_token_window. After every sync we publish the
versioned token set (markets.tokenset) with every outcome token of their non-closed markets, and tell
clients which games entered or left the set (game_added / game_removed) and which active games changed.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.db.models import Q, QuerySet
from django.utils import timezone

from actions.announce import events_announce
from core.publish import GameEvent
from core.redis import redis_key, redis_sync
from games.models import Game
from games.rules import STALE_AFTER, SYNC_LOOKBACK
from markets.models import Outcome
from markets.prices import prices_read
from markets.tokenset import token_set_publish, token_set_version
from readmodels.frontend import game_views_load
from readmodels.selectors import frontend_games_build

log = logging.getLogger(__name__)

TOKEN_HORIZON = timedelta(hours=48)


def active_games_select(now: datetime | None = None) -> QuerySet[Game]:
    """Live games, scheduled games kicking off within the horizon (recently past kickoff included), and
    postponed games within the sync's lookback."""
    now = now or timezone.now()
    upcoming = Q(status=Game.Status.SCHEDULED, kickoff__gte=now - STALE_AFTER, kickoff__lte=now + TOKEN_HORIZON)
    postponed = Q(status=Game.Status.POSTPONED, kickoff__gte=now - SYNC_LOOKBACK, kickoff__lte=now + TOKEN_HORIZON)
    return Game.objects.filter(Q(status=Game.Status.LIVE) | upcoming | postponed, vanished_at__isnull=True)


def active_tokens_select(now: datetime | None = None) -> list[str]:
    return list(
        Outcome.objects.filter(market__closed=False, market__game__in=active_games_select(now)).values_list(
            "token_id", flat=True
        )
    )


def _events(kind: str, gamma_ids: Iterable[str]) -> list[GameEvent]:
    ids = list(gamma_ids)
    if not ids:
        return []
    views = game_views_load(ids)
    tokens = [t for view in views.values() for t in view.token_ids]
    prices = prices_read(tokens)
    return [{"type": kind, "game": game} for game in frontend_games_build(views, prices).values()]  # type: ignore[typeddict-item]


def changes_announce(now: datetime | None = None, changed: Iterable[str] = ()) -> int:
    """Publish the token set and the set's changes; returns the token set version.

    When no game changed and the active set is the published one, the token set cannot have changed
    either (it is the open markets' tokens of those games): unless it went missing, it is not rebuilt."""
    active = set(active_games_select(now).values_list("gamma_id", flat=True))
    client = redis_sync()
    key = redis_key("games", "active")
    previous = {m.decode() for m in client.smembers(key)}
    changed = set(changed)
    if active == previous and not changed and (version := token_set_version(present=True)):
        return version
    version = token_set_publish(active_tokens_select(now))
    added, removed = active - previous, previous - active
    if added or removed:
        pipe = client.pipeline(transaction=True)
        pipe.delete(key)
        if active:
            pipe.sadd(key, *active)
        pipe.execute()
    updated = (changed & active) - added
    if added or removed or changed:
        events = [*_events("game_added", added), *_events("game_removed", removed), *_events("game_update", updated)]
        events_announce(events)
        log.info("active games: %d added, %d removed, %d updated", len(added), len(removed), len(updated))
    return version
