"""GameView: a game preloaded into plain data, so FrontendGame can be built without touching the DB.

The stream worker keeps views in memory and rebuilds games on every price window; REST and the
WebSocket snapshots load them with a constant number of queries.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django.core.exceptions import EmptyResultSet
from django.db import connections
from django.db.models import FloatField, Prefetch, QuerySet
from django.db.models.functions import Cast

from games.models import Game, League, Team
from games.rules import OVER_STATUSES, is_draw_market, label_matches_team
from markets.models import Market, Outcome


@dataclasses.dataclass(frozen=True, slots=True)
class TeamView:
    id: int | None
    name: str
    abbreviation: str
    record: str
    logo: str
    color: str


# Outcome and market views are read-only by convention, not frozen: a cold sync's announcement builds ~18k of
# them, and a frozen dataclass's __init__ (object.__setattr__ per field) takes over twice as long.
@dataclasses.dataclass(slots=True)
class OutcomeView:
    token_id: str
    label: str
    index: int
    team_id: int | None
    # Last persisted prices (Gamma's outcomePrices or the stream's last flush): a fallback for Redis.
    bid: float | None
    ask: float | None
    price: float | None
    last: float | None
    price_updated_at: dt.datetime | None  # when those persisted prices last changed


@dataclasses.dataclass(slots=True)
class MarketView:
    condition_id: str
    gamma_id: str
    type: str
    line: float | None
    question: str
    slug: str
    active: bool
    closed: bool
    volume: float
    liquidity: float
    outcomes: tuple[OutcomeView, ...]
    neg_risk: bool = False
    neg_risk_market_id: str = ""


@dataclasses.dataclass(frozen=True, slots=True)
class MoneylineRoles:
    """Which outcome token prices each side; `draw` only for three-way (soccer) moneylines."""

    home: OutcomeView | None
    away: OutcomeView | None
    draw: OutcomeView | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class GameView:
    pk: int
    id: str  # Gamma event id, the public game id
    slug: str
    title: str
    sport: str
    ordering: str
    kickoff: dt.datetime | None
    status: str
    live: bool
    ended: bool
    home: TeamView
    away: TeamView
    home_score: int | None
    away_score: int | None
    score_raw: str
    period: str
    elapsed: str
    period_scores: dict[str, object]
    volume: float
    liquidity: float
    comment_count: int | None
    updated_at: dt.datetime | None
    markets: tuple[MarketView, ...]
    moneyline: MoneylineRoles

    @property
    def token_ids(self) -> list[str]:
        return [o.token_id for m in self.markets for o in m.outcomes]


def _float(value: Decimal | float | None) -> float | None:
    return None if value is None else float(value)


def _team_view(team: Team | None, fallback_name: str) -> TeamView:
    if team is None:
        return TeamView(None, fallback_name, "", "", "", "")
    return TeamView(team.pk, team.name, team.abbreviation, team.record, team.logo, team.color)


def _outcome_view(outcome: Outcome) -> OutcomeView:
    return OutcomeView(
        token_id=outcome.token_id,
        label=outcome.label,
        index=outcome.index,
        team_id=outcome.team_id,
        bid=_float(outcome.best_bid),
        ask=_float(outcome.best_ask),
        price=_float(outcome.price),
        last=_float(outcome.last_trade),
        price_updated_at=outcome.price_updated_at,
    )


def _market_view(market: Market) -> MarketView:
    return MarketView(
        condition_id=market.condition_id,
        gamma_id=market.gamma_id,
        type=market.type,
        line=market.line,
        question=market.question,
        slug=market.slug,
        active=market.active,
        closed=market.closed,
        volume=market.volume,
        liquidity=market.liquidity,
        outcomes=tuple(_outcome_view(o) for o in market.outcomes.all()),
        neg_risk=market.neg_risk,
        neg_risk_market_id=market.neg_risk_market_id,
    )


def _yes(market: MarketView) -> OutcomeView | None:
    return next((o for o in market.outcomes if o.label.strip().lower() == "yes"), None)


def _matches(text: str, team: TeamView) -> bool:
    """The one reading of "this label or question names that team" (games.rules, as the ingest uses it)."""
    return label_matches_team(text, [team.name, team.abbreviation])


def moneyline_roles(markets: Iterable[MarketView], home: TeamView, away: TeamView, ordering: str) -> MoneylineRoles:
    """Map moneyline outcomes to home/away(/draw).

    Prefer the ingested team link, then label text; only then the league's listing order
    (`ordering` = which team Gamma lists first).
    """
    moneylines = [m for m in markets if m.type == "moneyline"]
    two_way = [m for m in moneylines if len(m.outcomes) == 2 and _yes(m) is None]
    if two_way:
        first, second = sorted(two_way[0].outcomes, key=lambda o: o.index)
        for a, b in ((first, second), (second, first)):
            if (home.id is not None and a.team_id == home.id) or (away.id is not None and b.team_id == away.id):
                return MoneylineRoles(home=a, away=b)
        for a, b in ((first, second), (second, first)):
            if _matches(a.label, home) and not _matches(a.label, away):
                return MoneylineRoles(home=a, away=b)
        if ordering == "away":
            return MoneylineRoles(home=second, away=first)
        return MoneylineRoles(home=first, away=second)
    roles: dict[str, OutcomeView | None] = {"home": None, "away": None, "draw": None}
    for market in moneylines:
        yes = _yes(market)
        if yes is None:
            continue
        if is_draw_market(market.question):
            roles["draw"] = yes
        elif (home.id is not None and yes.team_id == home.id) or _matches(market.question, home):
            roles["home"] = yes
        elif (away.id is not None and yes.team_id == away.id) or _matches(market.question, away):
            roles["away"] = yes
    return MoneylineRoles(**roles)


def game_view_from_instance(game: Game) -> GameView:
    """Build a view from a game fetched with `game_views_queryset` (markets and outcomes prefetched)."""
    league: League = game.league
    home = _team_view(game.home_team, game.home_name)
    away = _team_view(game.away_team, game.away_name)
    markets = tuple(_market_view(m) for m in game.markets.all())
    return GameView(
        pk=game.pk,
        id=game.gamma_id,
        slug=game.slug,
        title=game.title,
        sport=league.code,
        ordering=league.ordering,
        kickoff=game.kickoff,
        status=game.status,
        live=game.status == Game.Status.LIVE,
        ended=game.status in OVER_STATUSES,
        home=home,
        away=away,
        home_score=game.home_score,
        away_score=game.away_score,
        score_raw=game.score_raw,
        period=game.period,
        elapsed=game.elapsed,
        period_scores=dict(game.period_scores or {}),
        volume=game.volume,
        liquidity=game.liquidity,
        comment_count=game.comment_count,
        updated_at=game.updated_at,
        markets=markets,
        moneyline=moneyline_roles(markets, home, away, league.ordering),
    )


def game_views_queryset(queryset: QuerySet[Game] | None = None) -> QuerySet[Game]:
    """Games with everything a view needs: 3 queries however many games."""
    base = Game.objects.all() if queryset is None else queryset
    return base.select_related("league", "home_team", "away_team").prefetch_related(
        Prefetch("markets", queryset=Market.objects.order_by("type", "line", "id").prefetch_related(
            Prefetch("outcomes", queryset=Outcome.objects.order_by("index"))
        ))
    )


_GAME_VALUES = (
    "pk", "gamma_id", "slug", "title", "league__code", "league__ordering", "kickoff", "status", "home_score",
    "away_score", "score_raw", "period", "elapsed", "period_scores", "volume", "liquidity", "comment_count",
    "updated_at", "home_name", "home_team_id", "home_team__name", "home_team__abbreviation", "home_team__record",
    "home_team__logo", "home_team__color", "away_name", "away_team_id", "away_team__name",
    "away_team__abbreviation", "away_team__record", "away_team__logo", "away_team__color",
)
_MARKET_VALUES = ("game_id", "pk", "condition_id", "gamma_id", "type", "line", "question", "slug", "active",
                  "closed", "volume", "liquidity", "neg_risk", "neg_risk_market_id")
_OUTCOME_VALUES = ("market_id", "token_id", "label", "index", "team_id", "bid", "ask", "mid", "last",
                   "price_updated_at")
# Prices arrive as float8, read in C (Decimal objects first, then float(), would cost ~12k x 4 of each).
_OUTCOME_FLOATS = {name: Cast(field, FloatField()) for name, field in
                   (("bid", "best_bid"), ("ask", "best_ask"), ("mid", "price"), ("last", "last_trade"))}


def _team_view_from_values(pk: int | None, name: str | None, abbr: str | None, record: str | None,
                           logo: str | None, color: str | None, fallback_name: str) -> TeamView:
    if pk is None:
        return TeamView(None, fallback_name, "", "", "", "")
    return TeamView(pk, name or "", abbr or "", record or "", logo or "", color or "")


def _fetched(rows: QuerySet[Any]) -> list[tuple[Any, ...]]:
    """A values_list query's rows in one fetchall, as psycopg makes them (in C). For columns that need no
    Django converter (text, numbers, booleans, timestamps): iterating the queryset would fetch 100 rows at a
    time and pass every row through Django's iterator, ~12k outcome rows for a cold sync's announcement."""
    try:
        sql, params = rows.query.sql_with_params()
    except EmptyResultSet:  # `__in=[]`: Django answers such a query without asking the database
        return []
    with connections[rows.db].cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def game_views_load(gamma_ids: Iterable[str] | None = None, *, include_ended: bool = True) -> dict[str, GameView]:
    """Views keyed by Gamma event id, for the given ids (or all games): 3 queries of plain values (no model
    instances: a cold sync announces ~150 games with ~12k outcomes)."""
    queryset = Game.objects.all()
    if gamma_ids is not None:
        queryset = queryset.filter(gamma_id__in=list(gamma_ids))
    if not include_ended:
        queryset = queryset.exclude(status__in=sorted(OVER_STATUSES))
    games = list(queryset.values_list(*_GAME_VALUES))
    pks = [g[0] for g in games]
    outcomes: dict[int, list[OutcomeView]] = {}
    for market_id, token_id, label, index, team_id, bid, ask, price, last, stamp in _fetched(
        Outcome.objects.filter(market__game_id__in=pks).order_by("index").annotate(**_OUTCOME_FLOATS)
        .values_list(*_OUTCOME_VALUES)
    ):
        outcomes.setdefault(market_id, []).append(
            OutcomeView(token_id, label, index, team_id, bid, ask, price, last, stamp)
        )
    markets: dict[int, list[MarketView]] = {}
    for (game_id, pk, condition_id, gamma_id, kind, line, question, slug, active, closed, volume, liquidity,
         neg_risk, neg_risk_market_id) in _fetched(Market.objects.filter(game_id__in=pks).order_by(
            "type", "line", "id").values_list(*_MARKET_VALUES)):
        markets.setdefault(game_id, []).append(MarketView(
            condition_id, gamma_id, kind, line, question, slug, active, closed, volume, liquidity,
            tuple(outcomes.get(pk, ())), neg_risk, neg_risk_market_id,
        ))
    views: dict[str, GameView] = {}
    for row in games:
        (pk, gamma_id, slug, title, sport, ordering, kickoff, status, home_score, away_score, score_raw, period,
         elapsed, period_scores, volume, liquidity, comment_count, updated_at) = row[:18]
        home = _team_view_from_values(*row[19:25], row[18])
        away = _team_view_from_values(*row[26:32], row[25])
        game_markets = tuple(markets.get(pk, ()))
        views[gamma_id] = GameView(
            pk=pk, id=gamma_id, slug=slug, title=title, sport=sport, ordering=ordering, kickoff=kickoff,
            status=status, live=status == Game.Status.LIVE, ended=status in OVER_STATUSES, home=home, away=away,
            home_score=home_score, away_score=away_score, score_raw=score_raw, period=period, elapsed=elapsed,
            period_scores=dict(period_scores or {}), volume=volume, liquidity=liquidity,
            comment_count=comment_count, updated_at=updated_at, markets=game_markets,
            moneyline=moneyline_roles(game_markets, home, away, ordering),
        )
    return views
