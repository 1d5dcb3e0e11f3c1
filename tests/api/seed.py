"""Seeded leagues, teams, games, markets and outcomes for the API tests (plain ORM rows)."""

from __future__ import annotations

import dataclasses
import datetime as dt

import orjson

from core.redis import redis_sync
from games.models import Game, GameProbability, League, Team
from markets.models import Market, Outcome
from markets.prices import prices_key


@dataclasses.dataclass
class Seeded:
    now: dt.datetime
    live: Game  # nba, Lakers (away) @ Celtics (home), Q3
    upcoming: Game  # nba, in 3 h
    final: Game  # nba, 30 h ago
    stale: Game  # nba, scheduled 10 h ago and never went live: over
    soccer: Game  # epl, three-way moneyline, tomorrow
    liga: Game  # lal (soccer by code, no tag), in 5 h
    more_markets: Game  # "-more-markets" slugs are never listed
    home_token: str
    away_token: str
    condition_id: str


def _game(league: League, n: int, slug: str, kickoff: dt.datetime, status: str, home: Team, away: Team,
          **extra: object) -> Game:
    return Game.objects.create(
        gamma_id=str(90000 + n), slug=slug, title=f"{away.name} vs. {home.name}", league=league,
        home_team=home, away_team=away, home_name=home.name, away_name=away.name, kickoff=kickoff,
        status=status, live=status == "live", ended=status == "final", volume=1000.0 * n,
        volume_24h=100.0 * n, liquidity=500.0 * n, **extra,
    )


def _moneyline(game: Game, n: int, home: Team, away: Team, home_price: float) -> tuple[Market, str, str]:
    market = Market.objects.create(
        condition_id=f"0x{n:064x}", gamma_id=str(500000 + n), game=game, type="moneyline",
        question=f"{away.name} vs. {home.name}", slug=f"{game.slug}-ml", volume=900.0, liquidity=300.0,
    )
    away_token, home_token = f"{n}000000000000000000001", f"{n}000000000000000000002"
    Outcome.objects.create(token_id=away_token, market=market, label=away.name, index=0, team=away,
                           price=round(1 - home_price, 4))
    Outcome.objects.create(token_id=home_token, market=market, label=home.name, index=1, team=home,
                           price=home_price)
    return market, home_token, away_token


def seed(now: dt.datetime | None = None) -> Seeded:
    now = now or dt.datetime.now(dt.UTC).replace(microsecond=0)
    nba = League.objects.create(code="nba", label="NBA", ordering="away", tag_ids=["1", "745", "100639"],
                                series_ids=["10345"])
    epl = League.objects.create(code="epl", label="Premier League", ordering="home",
                                tag_ids=["1", "82", "306", "100639", "100350"], series_ids=["10188"])
    lal = League.objects.create(code="lal", label="La Liga", ordering="home", tag_ids=[], series_ids=["10193"])
    t = {}
    for gid, league, name, abbr in [
        (1, nba, "Lakers", "LAL"), (2, nba, "Celtics", "BOS"), (3, nba, "Heat", "MIA"),
        (4, nba, "Pelicans", "NO"), (10, epl, "Arsenal", "ARS"), (11, epl, "Chelsea", "CHE"),
        (20, lal, "Barcelona", "BAR"), (21, lal, "Sevilla", "SEV"),
    ]:
        t[abbr] = Team.objects.create(gamma_id=gid, league=league, name=name, abbreviation=abbr,
                                      record="10-5", logo=f"https://logos.example/{abbr}.png")
    live = _game(nba, 1, f"nba-lal-bos-{now:%Y-%m-%d}", now - dt.timedelta(hours=1), "live", t["BOS"], t["LAL"],
                 home_score=50, away_score=48, score_raw="48-50", period="Q3", elapsed="5:45",
                 period_scores={"q1": {"home": 25, "away": 20}, "q2": {"home": 40, "away": 41}},
                 comment_count=207)
    market, home_token, away_token = _moneyline(live, 1, t["BOS"], t["LAL"], 0.6)
    upcoming = _game(nba, 2, "nba-mia-no-later", now + dt.timedelta(hours=3), "scheduled", t["NO"], t["MIA"])
    _moneyline(upcoming, 2, t["NO"], t["MIA"], 0.45)
    final = _game(nba, 3, "nba-bos-mia-final", now - dt.timedelta(hours=30), "final", t["MIA"], t["BOS"],
                  home_score=101, away_score=99, score_raw="99-101", period="Final")
    stale = _game(nba, 4, "nba-no-lal-stale", now - dt.timedelta(hours=10), "scheduled", t["LAL"], t["NO"])
    soccer = _game(epl, 5, "epl-ars-che-tomorrow", now + dt.timedelta(days=1), "scheduled", t["ARS"], t["CHE"])
    for n, question, price in [(51, "Will Arsenal win?", 0.5), (52, "Will Chelsea win?", 0.3),
                               (53, "Will the match end in a draw?", 0.2)]:
        m = Market.objects.create(condition_id=f"0x{n:064x}", game=soccer, type="moneyline", question=question)
        Outcome.objects.create(token_id=f"{n}00000000000000000001", market=m, label="Yes", index=0, price=price)
        Outcome.objects.create(token_id=f"{n}00000000000000000002", market=m, label="No", index=1,
                               price=round(1 - price, 4))
    liga = _game(lal, 6, "lal-bar-sev-later", now + dt.timedelta(hours=5), "scheduled", t["BAR"], t["SEV"])
    more = _game(nba, 7, "nba-lal-bos-more-markets", now + dt.timedelta(hours=2), "scheduled", t["BOS"], t["LAL"])
    # Home probability history of the live game: 40 % a day and more ago, rising to 58 %.
    GameProbability.objects.bulk_create(
        [GameProbability(game=live, recorded_at=now - dt.timedelta(hours=h), home=40.0, away=60.0)
         for h in (30, 26)]
        + [GameProbability(game=live, recorded_at=now - dt.timedelta(hours=h), home=58.0 - h, away=42.0 + h)
           for h in range(12, 0, -1)]
    )
    return Seeded(now, live, upcoming, final, stale, soccer, liga, more, home_token, away_token, market.condition_id)


def price_write(token: str, bid: float, ask: float, ts_ms: int = 1) -> None:
    body = {"bid": bid, "ask": ask, "mid": round((bid + ask) / 2, 6), "last": None, "ts": ts_ms}
    redis_sync().hset(prices_key(), token, orjson.dumps(body))
