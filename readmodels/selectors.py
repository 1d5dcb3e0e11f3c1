"""Read-side queries for the REST API: the games listing, histories, lookups, teams and leagues.

Every function runs a constant number of queries however many games it returns.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import TypedDict

from django.db import connections, router
from django.db.models import Case, Count, F, IntegerField, Q, QuerySet, Value, When
from redis.exceptions import RedisError

from games.models import Game, GameProbability, League, Team
from games.rules import OVER_STATUSES, STALE_AFTER, TENNIS_LEAGUES
from markets.models import Market
from markets.prices import TokenPrice, prices_read
from readmodels.frontend import (
    CHART_POINTS,
    ActivityGame,
    FrontendGame,
    FrontendTeam,
    GameHistory,
    GameView,
    activity_game_build,
    frontend_game_build,
    game_view_from_instance,
    game_views_queryset,
)
from readmodels.livegame import LiveGame, LiveStats, MarketOut, live_game_build, live_stats_build, market_out

log = logging.getLogger(__name__)

# Gamma's "Soccer" tag; `sport=soccer` means every league carrying it (plus the known codes, for
# leagues synced before their tags were).
SOCCER_TAG = "100350"
SOCCER_CODES = ("epl", "lal", "bun", "fl1", "sea", "ucl", "uel", "mls", "ere", "por", "efl", "elc")
HISTORY_WINDOW = dt.timedelta(hours=24)


@dataclasses.dataclass(frozen=True, slots=True)
class GameFilter:
    """The listing filters after validation (see readmodels.listing.listing_params_parse)."""

    sport: str | None = None
    live: bool | None = None
    include_ended: bool = False
    status: str | None = None  # upcoming | live | ended
    date: dt.date | None = None


def _over(now: dt.datetime) -> Q:
    """Ended, or long past kickoff without ever going live (the original: endDate + 5 h)."""
    stale = Q(kickoff__lt=now - STALE_AFTER) & ~Q(status=Game.Status.LIVE)
    return Q(status__in=sorted(OVER_STATUSES)) | stale


def _sport(code: str) -> Q:
    """A league code, or one of the original's sport codes that span leagues (`soccer`, `tennis`)."""
    if code == "tennis":
        return Q(league__code__in=sorted(TENNIS_LEAGUES))
    if code == "soccer":
        return Q(league__tag_ids__contains=[SOCCER_TAG]) | Q(league__code__in=SOCCER_CODES)
    return Q(league__code=code)


def games_filtered(flt: GameFilter, now: dt.datetime) -> QuerySet[Game]:
    queryset = Game.objects.exclude(slug__endswith="-more-markets")
    if flt.sport:
        queryset = queryset.filter(_sport(flt.sport))
    if flt.live is True:
        queryset = queryset.filter(status=Game.Status.LIVE)
    elif flt.live is False:
        queryset = queryset.exclude(status=Game.Status.LIVE)
    if flt.status == "live":
        queryset = queryset.filter(status=Game.Status.LIVE)
    elif flt.status == "upcoming":
        queryset = queryset.filter(status__in=(Game.Status.SCHEDULED, Game.Status.POSTPONED)).exclude(_over(now))
    elif flt.status == "ended":
        queryset = queryset.filter(_over(now))
    elif not flt.include_ended:
        queryset = queryset.exclude(_over(now))
    if flt.date is not None:
        start = dt.datetime.combine(flt.date, dt.time.min, tzinfo=dt.UTC)
        queryset = queryset.filter(kickoff__gte=start, kickoff__lt=start + dt.timedelta(days=1))
    return queryset


def games_listing_page(flt: GameFilter, *, page: int, limit: int, now: dt.datetime) -> tuple[list[str], int]:
    """Gamma ids of one page (kickoff order, unknown kickoff last) and the real total."""
    queryset = games_filtered(flt, now)
    total = queryset.count()
    offset = (page - 1) * limit
    if offset >= total:
        return [], total
    ordered = queryset.order_by(F("kickoff").asc(nulls_last=True), "gamma_id")
    return list(ordered.values_list("gamma_id", flat=True)[offset : offset + limit]), total


def games_recent_page(sport: str | None, *, page: int, limit: int) -> tuple[list[str], int]:
    """All games (ended included), live first, then by 24 h volume, then newest (original /api/games)."""
    queryset = Game.objects.all()
    if sport:
        queryset = queryset.filter(_sport(sport))
    total = queryset.count()
    offset = (page - 1) * limit
    if offset >= total:
        return [], total
    live_first = Case(When(status=Game.Status.LIVE, then=Value(0)), default=Value(1), output_field=IntegerField())
    ordered = queryset.order_by(live_first, "-volume_24h", "-created_at", "gamma_id")
    return list(ordered.values_list("gamma_id", flat=True)[offset : offset + limit]), total


_HISTORY_SQL = """
SELECT 'c' AS kind, game_id, bucket, home FROM (
    SELECT DISTINCT ON (game_id, bucket) game_id, bucket, home FROM (
        SELECT game_id, home, recorded_at,
               floor(extract(epoch FROM (recorded_at - %(start)s)) / %(step)s)::int AS bucket
        FROM {table} WHERE game_id = ANY(%(ids)s) AND recorded_at > %(start)s
    ) AS windowed ORDER BY game_id, bucket, recorded_at DESC
) AS chart
UNION ALL
SELECT 'p' AS kind, game_id, 0 AS bucket, home FROM (
    SELECT DISTINCT ON (game_id) game_id, home FROM {table} WHERE game_id = ANY(%(ids)s)
    ORDER BY game_id, (recorded_at <= %(cutoff)s) DESC,
             CASE WHEN recorded_at <= %(cutoff)s THEN recorded_at END DESC NULLS LAST, recorded_at ASC
) AS past
"""


def game_histories_load(game_pks: Iterable[int], now: dt.datetime) -> dict[int, GameHistory]:
    """Chart samples (last 24 h, one per time bucket) and the ~24 h-old home probability, one query.

    `past_home` is the newest snapshot at least 24 h old, else the oldest one (the original's rule);
    snapshots are oriented home/away exactly like FrontendGame, so the change compares like with like.
    """
    ids = sorted(set(game_pks))
    if not ids:
        return {}
    buckets = CHART_POINTS - 1  # the builder appends the current probability as the last point
    params = {
        "ids": ids,
        "start": now - HISTORY_WINDOW,
        "step": HISTORY_WINDOW.total_seconds() / buckets,
        "cutoff": now - HISTORY_WINDOW,
    }
    chart: dict[int, list[tuple[int, float]]] = defaultdict(list)
    past: dict[int, float] = {}
    with connections[router.db_for_read(GameProbability)].cursor() as cursor:
        cursor.execute(_HISTORY_SQL.format(table=GameProbability._meta.db_table), params)
        for kind, game_id, bucket, home in cursor.fetchall():
            if kind == "c":
                chart[game_id].append((bucket, float(home)))
            else:
                past[game_id] = float(home)
    return {
        pk: {"chart": [home for _, home in sorted(chart.get(pk, []))], "past_home": past.get(pk)}
        for pk in ids
        if pk in chart or pk in past
    }


def frontend_games_build(views: Mapping[str, GameView], prices: Mapping[str, TokenPrice]) -> dict[str, FrontendGame]:
    """FrontendGames exactly as REST serves them (chartData and percentChange from the stored history),
    for the WebSocket/SSE snapshots and game events too: one extra query however many games."""
    histories = game_histories_load([view.pk for view in views.values()], dt.datetime.now(dt.UTC))
    return {gid: frontend_game_build(view, prices, histories.get(view.pk)) for gid, view in views.items()}


def teams_of_league(league_code: str) -> list[Team]:
    return list(Team.objects.filter(league__code=league_code).select_related("league").order_by("name", "id"))


def team_find(league_code: str, abbreviation: str) -> Team | None:
    queryset = Team.objects.filter(league__code=league_code, abbreviation__iexact=abbreviation)
    return queryset.select_related("league").order_by("id").first()


def leagues_with_teams() -> list[str]:
    return list(League.objects.filter(teams__isnull=False).distinct().order_by("code").values_list("code", flat=True))


def leagues_all() -> list[League]:
    return list(League.objects.order_by("code"))


def league_game_counts() -> dict[int, dict[str, int]]:
    """Per league id: games live now and upcoming (not over)."""
    now = dt.datetime.now(dt.UTC)
    counts: dict[int, dict[str, int]] = defaultdict(lambda: {"live": 0, "upcoming": 0})
    listed = Game.objects.exclude(slug__endswith="-more-markets").exclude(_over(now))
    rows = listed.values("league_id", "status").annotate(n=Count("id")).order_by()
    for row in rows:
        counts[row["league_id"]]["live" if row["status"] == Game.Status.LIVE else "upcoming"] += row["n"]
    return dict(counts)


# --- Read models for single games, pages of games, markets and leagues --------------------------------


def _games_loaded(queryset: QuerySet[Game]) -> list[tuple[Game, GameView]]:
    return [(game, game_view_from_instance(game)) for game in game_views_queryset(queryset)]


def prices_or_persisted(token_ids: Iterable[str]) -> dict[str, TokenPrice]:
    """Live prices from Redis; without Redis, none (the builders fall back to the persisted prices)."""
    try:
        return prices_read(token_ids)
    except RedisError as exc:
        log.warning("live prices unavailable (%s); serving persisted prices", exc)
        return {}


def _prices_for(views: Iterable[GameView]) -> dict[str, TokenPrice]:
    return prices_or_persisted(t for view in views for t in view.token_ids)


def game_loaded(
    *, gamma_id: str | None = None, slug: str | None = None, any_key: str | None = None
) -> tuple[Game, GameView] | None:
    """By Gamma event id, by slug, or (`any_key`, the original's slug route) slug, then ticker, then event id."""
    if gamma_id is not None:
        queryset = Game.objects.filter(gamma_id=gamma_id)
    elif any_key is not None:
        queryset = Game.objects.filter(Q(slug__iexact=any_key) | Q(ticker__iexact=any_key) | Q(gamma_id=any_key))
        first_by = Case(When(slug__iexact=any_key, then=Value(0)), When(ticker__iexact=any_key, then=Value(1)),
                        default=Value(2), output_field=IntegerField())
        queryset = queryset.order_by(first_by, "id")
    else:
        queryset = Game.objects.filter(slug__iexact=slug or "")
    loaded = _games_loaded(queryset.order_by("id")[:1] if any_key is None else queryset[:1])
    return loaded[0] if loaded else None


def game_live_get(*, gamma_id: str | None = None, slug: str | None = None) -> LiveGame | None:
    """`slug` also matches a ticker or an event id, as the original's `/api/games/slug/:slug`."""
    loaded = game_loaded(gamma_id=gamma_id) if gamma_id is not None else game_loaded(any_key=slug or "")
    if loaded is None:
        return None
    game, view = loaded
    return live_game_build(game, view, _prices_for([view]))


def game_frontend_get(*, gamma_id: str | None = None, slug: str | None = None) -> FrontendGame | None:
    loaded = game_loaded(gamma_id=gamma_id, slug=slug)
    if loaded is None:
        return None
    _, view = loaded
    now = dt.datetime.now(dt.UTC)
    return frontend_game_build(view, _prices_for([view]), game_histories_load([view.pk], now).get(view.pk))


def games_live_page(sport: str | None, *, page: int, limit: int) -> tuple[list[LiveGame], int]:
    ids, total = games_recent_page(sport, page=page, limit=limit)
    loaded = {game.gamma_id: (game, view) for game, view in _games_loaded(Game.objects.filter(gamma_id__in=ids))}
    ordered = [loaded[i] for i in ids if i in loaded]
    prices = _prices_for(view for _, view in ordered)
    return [live_game_build(game, view, prices) for game, view in ordered], total


def live_stats_get(identifier: str) -> LiveStats | None:
    """By Gamma event id first, then slug."""
    loaded = game_loaded(gamma_id=identifier) or game_loaded(slug=identifier)
    if loaded is None:
        return None
    _, view = loaded
    return live_stats_build(view, _prices_for([view]))


def activity_game_get(slug: str) -> ActivityGame | None:
    """The activity watcher's game (every market with live prices) by slug, ticker or event id."""
    loaded = game_loaded(any_key=slug)
    if loaded is None:
        return None
    _, view = loaded
    return activity_game_build(view, _prices_for([view]))


def game_view_find(identifier: str) -> GameView | None:
    loaded = game_loaded(any_key=identifier)
    return loaded[1] if loaded else None


def game_teams_now(view: GameView) -> tuple[FrontendTeam, FrontendTeam]:
    """(home, away) FrontendTeams with current prices, as embedded in trades."""
    game = frontend_game_build(view, _prices_for([view]))
    return game["homeTeam"], game["awayTeam"]


def team_logo_url(league_code: str, abbreviation: str) -> str | None:
    team = team_find(league_code, abbreviation)
    return team.logo if team is not None and team.logo else None


class MarketDetail(TypedDict):
    market: MarketOut
    game: dict[str, str]


def market_get(condition_id: str) -> MarketDetail | None:
    game_pk = Market.objects.filter(condition_id=condition_id).values_list("game_id", flat=True).first()
    if game_pk is None:
        return None
    loaded = _games_loaded(Game.objects.filter(pk=game_pk))
    if not loaded:
        return None
    game, view = loaded[0]
    market = next((m for m in view.markets if m.condition_id == condition_id), None)
    if market is None:
        return None
    prices = prices_or_persisted(o.token_id for o in market.outcomes)
    return {
        "market": market_out(market, prices),
        "game": {"id": game.gamma_id, "slug": game.slug, "title": game.title, "sport": view.sport},
    }


class LeagueOut(TypedDict):
    code: str
    label: str
    image: str
    ordering: str
    seriesIds: list[str]
    followed: bool
    liveGames: int
    upcomingGames: int
    soccer: bool


def sports_list() -> list[LeagueOut]:
    counts = league_game_counts()
    out: list[LeagueOut] = []
    for league in leagues_all():
        count = counts.get(league.pk, {"live": 0, "upcoming": 0})
        out.append(
            {
                "code": league.code,
                "label": league.label,
                "image": league.image,
                "ordering": league.ordering,
                "seriesIds": list(league.series_ids),
                "followed": league.followed,
                "liveGames": count["live"],
                "upcomingGames": count["upcoming"],
                "soccer": SOCCER_TAG in league.tag_ids or league.code in SOCCER_CODES,
            }
        )
    return out
