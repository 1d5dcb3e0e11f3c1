"""Read models of the REST API besides FrontendGame: LiveGame (original §3.8),
Team (§3.3), LiveStats (§3.4) and a market with live prices. Pure functions over loaded rows.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import NotRequired

from typing_extensions import TypedDict

from games import rules
from games.models import Game, League, Team
from markets.prices import TokenPrice
from readmodels.frontend import (
    MISSING,
    NO_RECORD,
    FrontendTeam,
    GameView,
    frontend_game_build,
    newest_ts,
    quotes,
    round_half_up,
)
from readmodels.gameviews import MarketView, OutcomeView


def _iso(value: dt.datetime | None) -> str | None:
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z") if value else None


class TeamOut(TypedDict):
    """The original's Team: numeric ids, ISO timestamps."""

    id: int
    name: str
    league: str
    record: str
    logo: str
    abbreviation: str
    alias: str
    providerId: int | None  # null only when Gamma sends none
    color: str
    createdAt: str
    updatedAt: str


def team_out(team: Team, league_code: str | None = None) -> TeamOut:
    updated = _iso(team.upstream_updated_at or team.updated_at) or ""
    provider = team.provider_id.strip()
    return {
        "id": team.gamma_id,
        "name": team.name,
        "league": league_code or team.league.code,
        "record": team.record or NO_RECORD,
        "logo": team.logo,
        "abbreviation": team.abbreviation,
        "alias": team.alias,
        "providerId": int(provider) if provider.isdigit() else None,
        "color": team.color,
        "createdAt": _iso(team.upstream_created_at) or updated,
        "updatedAt": updated,
    }


class OutcomeOut(TypedDict):
    label: str
    shortLabel: str
    clobTokenId: str
    conditionId: str
    price: str  # percent with 2 decimals, as the original ("57.25"); "" when no price is known
    probability: int  # -1 when no price is known
    volume: float  # the market's volume split by price, as the original
    bestBid: float | None
    bestAsk: float | None
    lastTradePrice: float | None
    buyPrice: NotRequired[float]  # cents
    sellPrice: NotRequired[float]


class MarketOut(TypedDict):
    id: str
    conditionId: str
    question: str
    slug: str
    type: str
    line: float | None
    active: bool
    closed: bool
    archived: bool
    volume: float
    liquidity: float
    negRisk: bool
    negRiskMarketId: NotRequired[str]
    bestBid: NotRequired[float]
    bestAsk: NotRequired[float]
    lastTradePrice: NotRequired[float]
    spread: NotRequired[float]
    outcomes: list[str]
    outcomePrices: list[str]
    clobTokenIds: list[str]
    structuredOutcomes: list[OutcomeOut]


def outcome_out(outcome: OutcomeView, market: MarketView, prices: Mapping[str, TokenPrice]) -> OutcomeOut:
    live = prices.get(outcome.token_id)
    bid, ask, last = (live["bid"], live["ask"], live["last"]) if live else (outcome.bid, outcome.ask, outcome.last)
    probability, buy, sell = quotes(outcome, prices)
    out: OutcomeOut = {
        "label": outcome.label,
        "shortLabel": outcome.label[:3].upper(),
        "clobTokenId": outcome.token_id,
        "conditionId": market.condition_id,
        "price": f"{probability:.2f}" if probability is not None else "",
        "probability": round_half_up(probability) if probability is not None else int(MISSING),
        "volume": round(market.volume * probability / 100, 2) if probability is not None else 0.0,
        "bestBid": bid,
        "bestAsk": ask,
        "lastTradePrice": last,
    }
    if buy is not None and sell is not None:
        out["buyPrice"], out["sellPrice"] = buy, sell
    return out


def market_out(market: MarketView, prices: Mapping[str, TokenPrice]) -> MarketOut:
    structured = [outcome_out(o, market, prices) for o in market.outcomes]
    out: MarketOut = {
        "id": market.gamma_id,
        "conditionId": market.condition_id,
        "question": market.question,
        "slug": market.slug,
        "type": market.type,
        "line": market.line,
        "active": market.active,
        "closed": market.closed,
        "archived": False,  # archived markets are never ingested
        "volume": market.volume,
        "liquidity": market.liquidity,
        "negRisk": market.neg_risk,
        "outcomes": [o.label for o in market.outcomes],
        "outcomePrices": [f"{float(o['price']) / 100:.4f}" if o["price"] else "" for o in structured],
        "clobTokenIds": [o.token_id for o in market.outcomes],
        "structuredOutcomes": structured,
    }
    if market.neg_risk_market_id:
        out["negRiskMarketId"] = market.neg_risk_market_id
    first = structured[0] if structured else None
    if first is not None:  # Gamma's market-level touch is outcome 0's
        for key in ("bestBid", "bestAsk", "lastTradePrice"):
            if first[key] is not None:  # type: ignore[literal-required]
                out[key] = first[key]  # type: ignore[literal-required]
        if first["bestBid"] is not None and first["bestAsk"] is not None:
            out["spread"] = round(first["bestAsk"] - first["bestBid"], 4)
    return out


def _raw_event(game: Game, view: GameView) -> dict[str, object]:
    """The original's `rawData` (its LiveGameEvent): the Gamma event fields we keep, under Gamma's names."""
    raw: dict[str, object] = {
        "id": game.gamma_id,
        "ticker": game.ticker or game.slug,
        "slug": game.slug,
        "title": game.title,
        "description": game.description,
        "resolutionSource": game.resolution_source,
        "startDate": _iso(game.listed_at) or "",
        "endDate": _iso(game.end_date) or "",
        "image": game.image,
        "active": game.active,
        "closed": game.closed,
        "archived": False,
        "liquidity": game.liquidity,
        "volume": game.volume,
        "volume24hr": game.volume_24h,
        "negRisk": game.neg_risk,
        "score": view.score_raw,
        "period": view.period,
        "elapsed": view.elapsed,
        "live": view.live,
        "ended": view.ended,
    }
    optional = {"negRiskMarketID": game.neg_risk_market_id or None, "commentCount": game.comment_count,
                "gameId": game.game_id, "createdAt": _iso(game.upstream_created_at),
                "updatedAt": _iso(game.upstream_updated_at)}
    raw.update({k: v for k, v in optional.items() if v is not None})
    return raw


LiveGame = dict[str, object]


def live_game_build(game: Game, view: GameView, prices: Mapping[str, TokenPrice]) -> LiveGame:
    """The original's LiveGame (TransformedEvent + live fields); optional keys are left out when unknown,
    never sent as null."""
    league: League = game.league
    markets = sorted(view.markets, key=lambda m: (-m.volume, m.type, m.line or 0, m.condition_id))
    out: LiveGame = {
        "id": game.gamma_id,
        "slug": game.slug,
        "ticker": game.ticker or game.slug,
        "title": game.title,
        "description": game.description,
        "resolutionSource": game.resolution_source,
        "image": game.image,
        "icon": game.image,
        "sport": rules.sport_code(league.code),
        "league": league.code,
        "seriesId": game.series_id,
        "status": view.status,
        "live": view.live,
        "ended": view.ended,
        "active": game.active,
        "closed": game.closed,
        "archived": False,
        "negRisk": game.neg_risk,
        "score": game.score_raw,
        "homeScore": game.home_score,
        "awayScore": game.away_score,
        "period": game.period,
        "elapsed": game.elapsed,
        "periodScores": dict(game.period_scores or {}),
        "startDate": _iso(game.listed_at) or "",
        "endDate": _iso(game.end_date) or "",
        "totalVolume": game.volume,
        "volume": game.volume,
        "volume24Hr": game.volume_24h,
        "volume24hr": game.volume_24h,
        "liquidity": game.liquidity,
        "tags": list(game.tags or []),
        "createdAt": _iso(game.upstream_created_at or game.created_at),
        "updatedAt": _iso(dt.datetime.fromtimestamp(newest_ts(view, prices) / 1000, dt.UTC)),  # the data's age
        "teamIdentifiers": {
            "home": view.home.abbreviation or view.home.name,
            "away": view.away.abbreviation or view.away.name,
        },
        "markets": [market_out(m, prices) for m in markets],
        "rawData": _raw_event(game, view),
    }
    optional = {
        "negRiskMarketId": game.neg_risk_market_id or None,
        "gameId": game.game_id,
        "commentCount": game.comment_count,
        "gameStartTime": _iso(game.kickoff),
        "homeTeam": team_out(game.home_team, league.code) if game.home_team else None,
        "awayTeam": team_out(game.away_team, league.code) if game.away_team else None,
    }
    out.update({k: v for k, v in optional.items() if v is not None})
    return out


class PeriodScore(TypedDict):
    home: int
    away: int


class LiveStats(TypedDict):
    gameId: str
    slug: str
    status: str
    homeTeam: FrontendTeam
    awayTeam: FrontendTeam
    periodScores: dict[str, PeriodScore] | None
    finalScore: PeriodScore | None
    currentPeriod: str  # "NS" before the game starts, as the original
    elapsed: str | None
    isLive: bool
    ended: bool


def live_stats_build(view: GameView, prices: Mapping[str, TokenPrice]) -> LiveStats:
    """Scores from our data; periodScores/finalScore stay null until the game has started."""
    frontend = frontend_game_build(view, prices)
    in_play_period = view.period.strip().upper() not in rules.NOT_STARTED_CODES and view.home_score is not None
    started = view.status in (Game.Status.LIVE, Game.Status.FINAL) or in_play_period
    period_scores: dict[str, PeriodScore] | None = None
    final: PeriodScore | None = None
    if started:
        period_scores = {
            str(key): {"home": value["home"], "away": value["away"]}
            for key, value in view.period_scores.items()
            if isinstance(value, dict) and all(isinstance(value.get(side), int) for side in ("home", "away"))
        }
        if view.home_score is not None and view.away_score is not None:
            final = {"home": view.home_score, "away": view.away_score}
    return {
        "gameId": view.id,
        "slug": view.slug,
        "status": view.status,
        "homeTeam": frontend["homeTeam"],
        "awayTeam": frontend["awayTeam"],
        "periodScores": period_scores,
        "finalScore": final,
        "currentPeriod": view.period or "NS",
        "elapsed": view.elapsed or None,
        "isLive": view.live,
        "ended": view.ended,
    }
