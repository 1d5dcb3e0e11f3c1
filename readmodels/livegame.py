"""Read models of the REST API besides FrontendGame: LiveGame (original §3.8, trimmed to what we hold),
Team (§3.3), LiveStats (§3.4) and a market with live prices. Pure functions over loaded rows.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import TypedDict

from games.models import Game, League, Team
from markets.prices import TokenPrice, price_mid
from readmodels.frontend import FrontendTeam, GameView, frontend_game_build, newest_ts
from readmodels.gameviews import MarketView, OutcomeView


def _iso(value: dt.datetime | None) -> str | None:
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z") if value else None


class TeamOut(TypedDict):
    id: str
    name: str
    league: str
    record: str
    logo: str
    abbreviation: str
    alias: str
    providerId: str
    color: str
    updatedAt: str | None


def team_out(team: Team, league_code: str | None = None) -> TeamOut:
    return {
        "id": str(team.gamma_id),
        "name": team.name,
        "league": league_code or team.league.code,
        "record": team.record,
        "logo": team.logo,
        "abbreviation": team.abbreviation,
        "alias": team.alias,
        "providerId": team.provider_id,
        "color": team.color,
        "updatedAt": _iso(team.updated_at),
    }


class OutcomeOut(TypedDict):
    label: str
    shortLabel: str
    clobTokenId: str
    price: float | None  # probability 0-100 from the live book, else the persisted price
    probability: int | None
    bestBid: float | None
    bestAsk: float | None
    lastTradePrice: float | None
    buyPrice: float | None  # cents
    sellPrice: float | None


class MarketOut(TypedDict):
    id: str
    conditionId: str
    question: str
    slug: str
    type: str
    line: float | None
    active: bool
    closed: bool
    volume: float
    liquidity: float
    outcomes: list[str]
    outcomePrices: list[str]
    clobTokenIds: list[str]
    structuredOutcomes: list[OutcomeOut]


def outcome_out(outcome: OutcomeView, prices: Mapping[str, TokenPrice]) -> OutcomeOut:
    live = prices.get(outcome.token_id)
    bid, ask, last = (live["bid"], live["ask"], live["last"]) if live else (outcome.bid, outcome.ask, outcome.last)
    mid = price_mid(bid, ask, last)
    if mid is None:
        mid = outcome.price
    return {
        "label": outcome.label,
        "shortLabel": outcome.label[:3].upper(),
        "clobTokenId": outcome.token_id,
        "price": round(mid * 100, 2) if mid is not None else None,
        "probability": round(mid * 100) if mid is not None else None,
        "bestBid": bid,
        "bestAsk": ask,
        "lastTradePrice": last,
        "buyPrice": round(ask * 1000) / 10 if ask is not None else None,
        "sellPrice": round(bid * 1000) / 10 if bid is not None else None,
    }


def market_out(market: MarketView, prices: Mapping[str, TokenPrice]) -> MarketOut:
    structured = [outcome_out(o, prices) for o in market.outcomes]
    return {
        "id": market.gamma_id,
        "conditionId": market.condition_id,
        "question": market.question,
        "slug": market.slug,
        "type": market.type,
        "line": market.line,
        "active": market.active,
        "closed": market.closed,
        "volume": market.volume,
        "liquidity": market.liquidity,
        "outcomes": [o.label for o in market.outcomes],
        "outcomePrices": [f"{o['price'] / 100:.4f}" if o["price"] is not None else "" for o in structured],
        "clobTokenIds": [o.token_id for o in market.outcomes],
        "structuredOutcomes": structured,
    }


class LiveGame(TypedDict):
    id: str
    slug: str
    ticker: str
    title: str
    image: str
    sport: str
    league: str
    seriesId: str
    gameId: int | None
    status: str
    live: bool
    ended: bool
    active: bool
    closed: bool
    score: str
    homeScore: int | None
    awayScore: int | None
    period: str
    elapsed: str
    periodScores: dict[str, object]
    gameStartTime: str | None
    volume: float
    volume24Hr: float
    liquidity: float
    commentCount: int | None
    createdAt: str | None
    updatedAt: str | None
    homeTeam: TeamOut | None
    awayTeam: TeamOut | None
    teamIdentifiers: dict[str, str]
    markets: list[MarketOut]


def live_game_build(game: Game, view: GameView, prices: Mapping[str, TokenPrice]) -> LiveGame:
    league: League = game.league
    markets = sorted(view.markets, key=lambda m: (-m.volume, m.type, m.line or 0, m.condition_id))
    return {
        "id": game.gamma_id,
        "slug": game.slug,
        "ticker": game.ticker or game.slug,
        "title": game.title,
        "image": game.image,
        "sport": league.code,
        "league": league.code,
        "seriesId": game.series_id,
        "gameId": game.game_id,
        "status": view.status,
        "live": view.live,
        "ended": view.ended,
        "active": game.active,
        "closed": game.closed,
        "score": game.score_raw,
        "homeScore": game.home_score,
        "awayScore": game.away_score,
        "period": game.period,
        "elapsed": game.elapsed,
        "periodScores": dict(game.period_scores or {}),
        "gameStartTime": _iso(game.kickoff),
        "volume": game.volume,
        "volume24Hr": game.volume_24h,
        "liquidity": game.liquidity,
        "commentCount": game.comment_count,
        "createdAt": _iso(game.created_at),
        "updatedAt": _iso(dt.datetime.fromtimestamp(newest_ts(view, prices) / 1000, dt.UTC)),  # the data's age
        "homeTeam": team_out(game.home_team, league.code) if game.home_team else None,
        "awayTeam": team_out(game.away_team, league.code) if game.away_team else None,
        "teamIdentifiers": {
            "home": view.home.abbreviation or view.home.name,
            "away": view.away.abbreviation or view.away.name,
        },
        "markets": [market_out(m, prices) for m in markets],
    }


class Score(TypedDict):
    home: int | None
    away: int | None


class LiveStats(TypedDict):
    gameId: str
    slug: str
    status: str
    homeTeam: FrontendTeam
    awayTeam: FrontendTeam
    periodScores: dict[str, Score] | None
    finalScore: Score | None
    currentPeriod: str | None
    elapsed: str | None
    isLive: bool
    ended: bool


NOT_STARTED_PERIODS = {"", "ns", "not_started", "scheduled", "tbd"}


def live_stats_build(view: GameView, prices: Mapping[str, TokenPrice]) -> LiveStats:
    """Scores from our data; periodScores/finalScore stay null until the game has started."""
    frontend = frontend_game_build(view, prices)
    in_play_period = view.period.strip().lower() not in NOT_STARTED_PERIODS and view.home_score is not None
    started = view.status in (Game.Status.LIVE, Game.Status.FINAL) or in_play_period
    period_scores: dict[str, Score] | None = None
    final: Score | None = None
    if started:
        period_scores = {
            str(key): {"home": value.get("home"), "away": value.get("away")}
            for key, value in view.period_scores.items()
            if isinstance(value, dict)
        }
        final = {"home": view.home_score, "away": view.away_score}
    return {
        "gameId": view.id,
        "slug": view.slug,
        "status": view.status,
        "homeTeam": frontend["homeTeam"],
        "awayTeam": frontend["awayTeam"],
        "periodScores": period_scores,
        "finalScore": final,
        "currentPeriod": view.period or None,
        "elapsed": view.elapsed or None,
        "isLive": view.live,
        "ended": view.ended,
    }
