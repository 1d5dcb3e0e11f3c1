"""Small DB builders for the stream tests (games with a moneyline market and its two outcome tokens)."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from games.models import Game, League, Team
from markets.models import Market, Outcome


def game_with_moneyline(n: int, *, status: str = "live", league: str = "nba") -> tuple[Game, list[str]]:
    """A game `g<n>` whose moneyline tokens are `tok-<n>-home` and `tok-<n>-away`."""
    lg, _ = League.objects.get_or_create(code=league)
    home = Team.objects.create(gamma_id=10_000 + 2 * n, league=lg, name=f"Home {n}", abbreviation=f"h{n}")
    away = Team.objects.create(gamma_id=10_001 + 2 * n, league=lg, name=f"Away {n}", abbreviation=f"a{n}")
    game = Game.objects.create(
        gamma_id=f"g{n}", slug=f"{league}-a{n}-h{n}", title=f"Away {n} vs. Home {n}", league=lg,
        home_team=home, away_team=away, status=status, live=status == "live",
        kickoff=timezone.now() - dt.timedelta(minutes=30),
    )
    market = Market.objects.create(condition_id=f"0xcond{n}", game=game, type="moneyline", question=game.title)
    tokens = [f"tok-{n}-home", f"tok-{n}-away"]
    Outcome.objects.create(token_id=tokens[0], market=market, label=home.name, index=0, team=home)
    Outcome.objects.create(token_id=tokens[1], market=market, label=away.name, index=1, team=away)
    return game, tokens
