"""Live scores action: write a batch of socket-reported game states (fenced), then announce them."""

from __future__ import annotations

import logging

from actions.announce import events_announce
from core.lease import Fence
from core.publish import GameEvent
from games.live import GameLiveState, live_games_persist
from markets.prices import prices_read
from readmodels.frontend import game_views_load
from readmodels.selectors import frontend_games_build

log = logging.getLogger(__name__)


def _game_updates(gamma_ids: list[str]) -> list[GameEvent]:
    views = game_views_load(gamma_ids)
    prices = prices_read([t for view in views.values() for t in view.token_ids])
    return [{"type": "game_update", "game": dict(game)} for game in frontend_games_build(views, prices).values()]


def do_apply_live_scores(games: list[GameLiveState], fence: Fence | None) -> int:
    """Persist the states (DatabaseError propagates: the caller keeps the batch), then publish `game_update`
    events and invalidate the listing. Publishing is best effort: the rows are saved, the next change
    republishes; a stale fence still stops the caller."""
    written = live_games_persist(games, fence)
    try:
        events = _game_updates([g.gamma_id for g in games])
    except Exception:  # the rows are saved; the next change republishes
        log.exception("live score events could not be built")
        events = []
    events_announce(events, fence=fence)
    return written
