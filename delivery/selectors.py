"""Database reads the realtime hub needs (sync; the hub calls them through sync_to_async)."""

from __future__ import annotations

from typing import Any

from games.models import Game
from markets.prices import TokenPrice, prices_read
from readmodels.frontend import GameView, game_views_load
from readmodels.selectors import frontend_games_build


def games_state_load() -> dict[str, dict[str, Any]]:
    """Every non-ended game as FrontendGame with live prices and history (as REST): the hub's starting state."""
    views = game_views_load(include_ended=False)
    prices = prices_read(token for view in views.values() for token in view.token_ids)
    return {gid: dict(game) for gid, game in frontend_games_build(views, prices).items()}


def game_id_by_slug(slug: str) -> str | None:
    return Game.objects.filter(slug__iexact=slug).values_list("gamma_id", flat=True).first()


def activity_source_load(game_id: str) -> tuple[GameView, dict[str, TokenPrice]] | None:
    """The view of one game (all markets) and the live prices of all its tokens."""
    view = game_views_load([game_id]).get(game_id)
    if view is None:
        return None
    return view, dict(prices_read(view.token_ids))
