"""In-memory game views of the subscribed tokens, so every coalescing window builds events without the DB.

Loaded in the stream's DB thread when the token-set version changes; games whose row changed since
the last load (scores, status) are reloaded every few seconds so price events never carry old scores.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable, Mapping

from django.utils import timezone

from core.publish import GameEvent, OutcomePrice
from games.models import Game
from markets.models import Outcome
from markets.prices import TokenPrice
from readmodels.frontend import GameHistory, frontend_game_build
from readmodels.gameviews import GameView, game_views_load
from readmodels.selectors import game_histories_load


@dataclasses.dataclass(frozen=True)
class TokenRef:
    game_id: str  # Gamma event id
    market_id: str  # condition id


@dataclasses.dataclass
class GameIndex:
    views: dict[str, GameView] = dataclasses.field(default_factory=dict)
    tokens: dict[str, TokenRef] = dataclasses.field(default_factory=dict)
    loaded_at: dt.datetime | None = None
    # Chart and 24 h reference per game, so price events carry the same chartData/percentChange as REST.
    histories: dict[str, GameHistory] = dataclasses.field(default_factory=dict)
    histories_at: dt.datetime | None = None

    def events_for(self, changed: Iterable[str], prices: Mapping[str, TokenPrice]) -> list[GameEvent]:
        """One `price_update` per affected game, with the full FrontendGame and the changed outcomes."""
        outcomes: dict[str, list[OutcomePrice]] = {}
        for token in changed:
            ref = self.tokens.get(token)
            price = prices.get(token)
            if ref is None or price is None or ref.game_id not in self.views:
                continue
            outcomes.setdefault(ref.game_id, []).append(
                {
                    "token_id": token,
                    "market_id": ref.market_id,
                    "bid": price["bid"],
                    "ask": price["ask"],
                    "mid": price["mid"],
                    "last": price["last"],
                }
            )
        return [
            {
                "type": "price_update",
                "game": frontend_game_build(self.views[gid], prices, self.histories.get(gid)),
                "outcomes": items,
            }
            for gid, items in outcomes.items()
        ]


def game_index_load(token_ids: Iterable[str]) -> GameIndex:
    """Views of every game owning one of the tokens (constant number of queries)."""
    tokens = list(token_ids)
    loaded_at = timezone.now()
    rows = Outcome.objects.filter(token_id__in=tokens).values_list(
        "token_id", "market__condition_id", "market__game__gamma_id"
    )
    refs = {token: TokenRef(game_id, market_id) for token, market_id, game_id in rows}
    views = game_views_load({ref.game_id for ref in refs.values()}) if refs else {}
    return GameIndex(
        views=views, tokens=refs, loaded_at=loaded_at, histories=histories_load(views, loaded_at),
        histories_at=loaded_at,
    )


def histories_load(views: Mapping[str, GameView], now: dt.datetime) -> dict[str, GameHistory]:
    """Probability histories of the views' games, keyed by Gamma id (one query)."""
    by_pk = game_histories_load([view.pk for view in views.values()], now)
    return {gid: by_pk[view.pk] for gid, view in views.items() if view.pk in by_pk}


def game_views_changed_since(game_ids: Iterable[str], since: dt.datetime) -> tuple[dict[str, GameView], dt.datetime]:
    """Views of the given games whose row changed at or after `since`, and the time to use next."""
    now = timezone.now()
    changed = list(Game.objects.filter(gamma_id__in=list(game_ids), updated_at__gte=since).values_list(
        "gamma_id", flat=True
    ))
    return (game_views_load(changed) if changed else {}), now
