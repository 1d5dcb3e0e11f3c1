"""FrontendGame and ActivityGame: the client contract (original §3.7 and §4.2), built from GameViews.

`frontend_game_build` is pure and cheap: the stream worker calls it for every changed game in
every coalescing window, so it reads nothing but its arguments.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Mapping, Sequence
from typing import NotRequired

from typing_extensions import TypedDict  # pydantic (the OpenAPI schema) requires this one before 3.12

from games import rules
from markets.prices import TokenPrice, price_mid
from readmodels.gameviews import (
    GameView,
    MarketView,
    OutcomeView,
    TeamView,
    game_view_from_instance,
    game_views_load,
    game_views_queryset,
)

__all__ = [
    "ActivityGame",
    "FrontendGame",
    "FrontendTeam",
    "GameHistory",
    "GameView",
    "activity_game_build",
    "frontend_game_build",
    "game_view_from_instance",
    "game_views_load",
    "game_views_queryset",
]


class FrontendTeam(TypedDict):
    abbr: str
    name: str
    record: str
    logo: str
    probability: float
    buyPrice: float
    sellPrice: float
    score: NotRequired[int]
    tennisScore: NotRequired[str]
    setsWon: NotRequired[int]


class FrontendGame(TypedDict):
    id: str
    slug: str
    title: str
    sport: str
    league: str
    status: str
    kickoff: str | None  # ISO 8601 UTC
    endDate: str  # the original's name for the kickoff string; "" when unknown
    time: str  # display time of kickoff, UTC; "TBD" when unknown
    volume: str
    liquidity: str
    awayTeam: FrontendTeam
    homeTeam: FrontendTeam
    drawProbability: NotRequired[float]
    chartData: list[float]
    percentChange: float
    traders: int  # Gamma's commentCount; 0 when Gamma sends none (the original invented a number)
    spread: str
    isLive: bool
    ended: bool
    quarter: NotRequired[str]
    gameTime: NotRequired[str]
    tennisScore: NotRequired[str]
    updatedAt: int  # ms; the newest price or score time that went into this state


class GameHistory(TypedDict):
    chart: list[float]  # home probability (0-100) samples, oldest first
    past_home: float | None  # home probability about 24 h ago


class ActivityOutcome(TypedDict):
    label: str
    shortLabel: str
    price: float
    probability: float
    buyPrice: float
    sellPrice: float
    clobTokenId: str


class ActivityMarket(TypedDict):
    id: str
    conditionId: str
    title: str
    question: str
    type: str
    line: float | None
    volume: str
    liquidity: str
    active: bool
    closed: bool
    clobTokenIds: list[str]
    negRisk: bool
    negRiskMarketId: NotRequired[str]
    outcomes: list[ActivityOutcome]


class ActivityGame(TypedDict):
    id: str
    slug: str
    sport: str
    league: str
    status: str
    homeTeam: FrontendTeam
    awayTeam: FrontendTeam
    markets: list[ActivityMarket]


MISSING = -1.0  # explicit sentinel (as the original): no moneyline price, rather than a fake 50/50
CHART_POINTS = 20
NO_RECORD = "0-0"  # the original's record when the team has none
def money_format(value: float) -> str:
    if value >= 1e6:
        return f"${value / 1e6:.2f}M"
    if value >= 1e3:
        return f"${value / 1e3:.1f}k"
    return f"${value:.0f}"


Quote = tuple[float | None, float | None, float | None]


def quotes(outcome: OutcomeView | None, prices: Mapping[str, TokenPrice]) -> Quote:
    """(probability 0-100, buy cents, sell cents) from the live price, else the persisted one."""
    if outcome is None:
        return None, None, None
    live = prices.get(outcome.token_id)
    if live is not None:
        bid, ask, last = live.get("bid"), live.get("ask"), live.get("last")
    else:
        bid, ask, last = outcome.bid, outcome.ask, outcome.last
    mid = price_mid(bid, ask, last)
    if mid is None:
        mid = outcome.price
    if mid is None:
        return None, None, None
    buy = round(ask * 1000) / 10 if ask is not None and 0 < ask < 1 else round(mid * 1000) / 10
    sell = round(bid * 1000) / 10 if bid is not None and bid > 0 else round((1 - mid) * 1000) / 10
    if sell > buy:  # one-sided fallback above produced a complement, not a bid
        sell = round(mid * 1000) / 10
    return mid * 100, buy, sell


def round_half_up(value: float) -> int:
    """Half-up, like the original's Math.round (Python's round() is half-to-even)."""
    return math.floor(value + 0.5 + 1e-9)


def _probabilities(home: float | None, away: float | None) -> tuple[float, float]:
    """Rounded so a two-way pair sums to 100; three-way pairs (draw exists, sum < 95) round alone."""
    if home is None or away is None:
        return (
            round_half_up(home) if home is not None else MISSING,
            round_half_up(away) if away is not None else MISSING,
        )
    if home + away < 95:
        return round_half_up(home), round_half_up(away)
    if home >= away:
        return round_half_up(home), 100 - round_half_up(home)
    return 100 - round_half_up(away), round_half_up(away)


def _spread_label(buy: float | None, sell: float | None) -> str:
    if buy is None or sell is None:
        return "—"
    width = round(buy - sell, 1)
    if width <= 1:
        return "1¢"
    low, high = math.floor(width), math.ceil(width)
    return f"{low}¢" if low == high else f"{low}-{high}¢"


_QUARTER = {"q1": "1Q", "q2": "2Q", "q3": "3Q", "q4": "4Q", "1q": "1Q", "2q": "2Q", "3q": "3Q", "4q": "4Q",
            "p1": "P1", "p2": "P2", "p3": "P3", "ot": "OT", "ht": "HT", "1h": "1H", "2h": "2H"}


def period_display(period: str) -> str:
    key = period.strip().lower().removeprefix("end ").strip()
    return _QUARTER.get(key, period.strip().upper())


def clock_display(elapsed: str) -> str:
    text = elapsed.strip()
    if re.fullmatch(r"\d{1,3}:\d{2}", text):
        minutes, seconds = text.split(":")
        return f"{int(minutes)}:{seconds}"
    if text.isdigit():
        return f"{int(text)}:00"
    return text


def _team(team: TeamView, probability: float, buy: float | None, sell: float | None) -> FrontendTeam:
    return {
        "abbr": team.abbreviation.upper(),
        "name": team.name,
        "record": team.record or NO_RECORD,
        "logo": team.logo,
        "probability": probability,
        "buyPrice": buy if buy is not None else MISSING,
        "sellPrice": sell if sell is not None else MISSING,
    }


def newest_ts(view: GameView, prices: Mapping[str, TokenPrice]) -> int:
    """ms of the newest game-row, live-price or persisted-price change in this game: the age of its data.

    Games outside the token set have no live price; their persisted prices are refreshed by the games
    sync (every SYNC_GAMES_EVERY_S), which stamps each change.
    """
    stamps = [view.updated_at, *(o.price_updated_at for m in view.markets for o in m.outcomes)]
    persisted = max((s for s in stamps if s is not None), default=None)  # converted once: ~100 per game
    live = [prices[o.token_id]["ts"] for m in view.markets for o in m.outcomes if o.token_id in prices]
    return max([0, *live] if persisted is None else [int(persisted.timestamp() * 1000), *live])


def frontend_game_build(
    view: GameView, prices: Mapping[str, TokenPrice], history: GameHistory | None = None
) -> FrontendGame:
    roles = view.moneyline
    home_p, home_buy, home_sell = quotes(roles.home, prices)
    away_p, away_buy, away_sell = quotes(roles.away, prices)
    home_prob, away_prob = _probabilities(home_p, away_p)
    home, away = _team(view.home, home_prob, home_buy, home_sell), _team(view.away, away_prob, away_buy, away_sell)
    show_score = view.live or view.ended
    if show_score and view.home_score is not None and view.away_score is not None:  # absent, never null
        home["score"], away["score"] = view.home_score, view.away_score
    kickoff = view.kickoff.astimezone(dt.UTC) if view.kickoff else None
    game: FrontendGame = {
        "id": view.id,
        "slug": view.slug,
        "title": view.title,
        "sport": rules.sport_code(view.sport),
        "league": view.sport,
        "status": view.status,
        "kickoff": kickoff.isoformat().replace("+00:00", "Z") if kickoff else None,
        "endDate": kickoff.strftime("%Y-%m-%d %H:%M:%S+00") if kickoff else "",
        "time": kickoff.strftime("%-I:%M %p UTC") if kickoff else "TBD",
        "volume": money_format(view.volume),
        "liquidity": money_format(view.liquidity),
        "awayTeam": away,
        "homeTeam": home,
        "chartData": [],
        "percentChange": 0.0,
        "traders": view.comment_count or 0,
        "spread": _spread_label(home_buy, home_sell),
        "isLive": view.live,
        "ended": view.ended,
        "updatedAt": newest_ts(view, prices),
    }
    if roles.draw is not None:
        draw_p, _, _ = quotes(roles.draw, prices)
        if draw_p is not None:
            game["drawProbability"] = round_half_up(draw_p)
    if view.live:
        game["quarter"] = period_display(view.period)
        game["gameTime"] = clock_display(view.elapsed)
    score = rules.score_parse(view.score_raw, sets=True) if rules.scored_in_sets(view.sport) and show_score else None
    if score is not None:
        game["tennisScore"] = view.score_raw
        first, second = (away, home) if view.ordering == "away" else (home, away)
        first["setsWon"], second["setsWon"] = score.first, score.second
        home["tennisScore"] = away["tennisScore"] = view.score_raw
    _apply_history(game, home_prob, history)
    return game


def _apply_history(game: FrontendGame, home_prob: float, history: GameHistory | None) -> None:
    """The original's 20 points: real samples, the current probability last, padded at the front with the
    oldest known value when history is short (never invented movement)."""
    samples = [round(p, 1) for p in (history["chart"] if history else [])][-(CHART_POINTS - 1):]
    chart = [*samples, home_prob] if home_prob != MISSING or not samples else samples
    game["chartData"] = [chart[0]] * (CHART_POINTS - len(chart)) + chart
    past = history["past_home"] if history else None
    if past and home_prob != MISSING:
        game["percentChange"] = round((home_prob - past) / past * 100, 1)


def _activity_outcome(outcome: OutcomeView, prices: Mapping[str, TokenPrice]) -> ActivityOutcome:
    probability, buy, sell = quotes(outcome, prices)
    return {
        "label": outcome.label,
        "shortLabel": outcome.label[:3].upper(),
        "price": round(probability, 2) if probability is not None else MISSING,
        "probability": round_half_up(probability) if probability is not None else MISSING,
        "buyPrice": buy if buy is not None else MISSING,
        "sellPrice": sell if sell is not None else MISSING,
        "clobTokenId": outcome.token_id,
    }


def _activity_market(market: MarketView, prices: Mapping[str, TokenPrice]) -> ActivityMarket:
    out: ActivityMarket = {
        "id": market.gamma_id,
        "conditionId": market.condition_id,
        "title": market.question,
        "question": market.question,
        "type": market.type,
        "line": market.line,
        "volume": money_format(market.volume),
        "liquidity": money_format(market.liquidity),
        "active": market.active,
        "closed": market.closed,
        "clobTokenIds": [o.token_id for o in market.outcomes],
        "negRisk": market.neg_risk,
        "outcomes": [_activity_outcome(o, prices) for o in market.outcomes],
    }
    if market.neg_risk_market_id:
        out["negRiskMarketId"] = market.neg_risk_market_id
    return out


def activity_game_build(view: GameView, prices: Mapping[str, TokenPrice]) -> ActivityGame:
    game = frontend_game_build(view, prices)
    markets: Sequence[MarketView] = sorted(view.markets, key=lambda m: (-m.volume, m.type, m.line or 0))
    return {
        "id": view.id,
        "slug": view.slug,
        "sport": rules.sport_code(view.sport),
        "league": view.sport,
        "status": view.status,
        "homeTeam": game["homeTeam"],
        "awayTeam": game["awayTeam"],
        "markets": [_activity_market(m, prices) for m in markets],
    }
