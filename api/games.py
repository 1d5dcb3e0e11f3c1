"""Games, teams, sports and live-stats endpoints (original §3.2-3.4). Thin: selectors do the work."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Field, Query, Router, Schema
from ninja.errors import HttpError
from redis.exceptions import RedisError

from readmodels import selectors
from readmodels.frontend import FrontendGame
from readmodels.listing import PARAM_PATTERNS, listing_get, listing_params_parse, listing_response
from readmodels.livegame import team_out
from readmodels.status import games_status_read

games_router = Router(tags=["games"])
teams_router = Router(tags=["teams"])
sports_router = Router(tags=["sports"])
live_stats_router = Router(tags=["live-stats"])

PAGE_PATTERN = r"^[0-9]{1,9}$"
SPORT_PATTERN = PARAM_PATTERNS["sport"]


class ErrorOut(Schema):
    success: bool = False
    error: str
    field: str | None = None


class PageOut(Schema):
    success: bool
    count: int
    total: int
    page: int
    limit: int
    hasMore: bool


class ListingOut(PageOut):
    games: list[FrontendGame]


class GameListOut(PageOut):
    games: list[dict[str, Any]]


class GameOut(Schema):
    success: bool
    game: dict[str, Any]


class FrontendOneOut(Schema):
    success: bool
    game: FrontendGame


class StatusOut(Schema):
    success: bool
    status: dict[str, Any]


class TeamsOut(Schema):
    success: bool
    league: str
    count: int
    teams: list[dict[str, Any]]


class TeamsMissingOut(Schema):
    success: bool = False
    error: str
    availableLeagues: list[str]


class LeaguesOut(Schema):
    success: bool
    leagues: list[str]


class TeamOut(Schema):
    success: bool
    team: dict[str, Any]


class SportsOut(Schema):
    success: bool
    count: int
    sports: list[dict[str, Any]]


class LiveStatsOut(Schema):
    success: bool
    stats: dict[str, Any]


class ListingQuery(Schema):
    sport: str | None = Field(None, pattern=PARAM_PATTERNS["sport"])
    live: str | None = Field(None, pattern=PARAM_PATTERNS["live"])
    includeEnded: str | None = Field(None, pattern=PARAM_PATTERNS["includeEnded"])
    status: str | None = Field(None, pattern=PARAM_PATTERNS["status"])
    date: str | None = Field(None, pattern=PARAM_PATTERNS["date"])
    page: str | None = Field(None, pattern=PARAM_PATTERNS["page"])
    limit: str | None = Field(None, pattern=PARAM_PATTERNS["limit"])


NOT_FOUND = {404: ErrorOut}
GAME_NOT_FOUND = "Game not found"


def _page(raw: str | None, default: int, maximum: int | None = None) -> int:
    value = max(1, int(raw)) if raw else default
    return min(value, maximum) if maximum else value


@games_router.get(
    "/frontend",
    response={200: ListingOut, 304: None, 400: ErrorOut},
    summary="Paginated FrontendGames (the frontend's main call)",
    description=(
        "`sport` (league code, or `soccer` for every soccer league), `live`, `includeEnded`, "
        "`status=upcoming|live|ended`, `date=YYYY-MM-DD` (UTC kickoff day), `page` >= 1, `limit` clamped "
        "to 1..100 (default 50). Supports `If-None-Match` (304) and gzip."
    ),
)
async def games_frontend(request: HttpRequest, query: Query[ListingQuery]) -> HttpResponse:
    params = listing_params_parse(query.model_dump())
    entry = await listing_get(params)
    status, headers, body = listing_response(
        entry, request.headers.get("Accept-Encoding", ""), request.headers.get("If-None-Match", "")
    )
    response = HttpResponse(body, status=status)
    if status == 304:
        del response["Content-Type"]
    for name, value in headers:
        response[name] = value
    return response


@games_router.get("", response={200: GameListOut, 400: ErrorOut}, summary="Paginated LiveGame objects")
def games_list(
    request: HttpRequest,
    page: str | None = Query(None, pattern=PAGE_PATTERN),
    limit: str | None = Query(None, pattern=PAGE_PATTERN),
    sport: str | None = Query(None, pattern=SPORT_PATTERN),
) -> dict[str, Any]:
    page_n, limit_n = _page(page, 1), _page(limit, 50, 100)
    games, total = selectors.games_live_page((sport or "").lower() or None, page=page_n, limit=limit_n)
    return {
        "success": True,
        "count": len(games),
        "total": total,
        "page": page_n,
        "limit": limit_n,
        "hasMore": (page_n - 1) * limit_n + len(games) < total,
        "games": games,
    }


@games_router.get("/status", response={200: StatusOut, 503: ErrorOut},
                  summary="Cluster-wide stream, queue and worker status")
def games_status(request: HttpRequest) -> Any:
    try:
        return {"success": True, "status": games_status_read()}
    except RedisError as exc:  # the cluster state lives in Redis
        return 503, {"success": False, "error": f"Redis unavailable: {type(exc).__name__}"}


def _game_or_404(game: object | None) -> dict[str, Any]:
    if game is None:
        raise HttpError(404, GAME_NOT_FOUND)
    return {"success": True, "game": game}


@games_router.get("/slug/{slug}", response={200: GameOut, **NOT_FOUND})
def game_by_slug(request: HttpRequest, slug: str) -> Any:
    return _game_or_404(selectors.game_live_get(slug=slug))


@games_router.get("/slug/{slug}/frontend", response={200: FrontendOneOut, **NOT_FOUND})
def game_frontend_by_slug(request: HttpRequest, slug: str) -> Any:
    return _game_or_404(selectors.game_frontend_get(slug=slug))


@games_router.get("/{game_id}", response={200: GameOut, **NOT_FOUND})
def game_by_id(request: HttpRequest, game_id: str) -> Any:
    return _game_or_404(selectors.game_live_get(gamma_id=game_id))


@games_router.get("/{game_id}/frontend", response={200: FrontendOneOut, **NOT_FOUND})
def game_frontend_by_id(request: HttpRequest, game_id: str) -> Any:
    return _game_or_404(selectors.game_frontend_get(gamma_id=game_id))


@teams_router.get("", response={200: TeamsOut, 400: TeamsMissingOut})
def teams_list(request: HttpRequest, league: str | None = Query(None, max_length=40)) -> Any:
    code = (league or "").strip().lower()
    if not code:
        return 400, {
            "success": False,
            "error": "League parameter is required",
            "availableLeagues": selectors.leagues_with_teams(),
        }
    teams = [team_out(t, code) for t in selectors.teams_of_league(code)]
    return {"success": True, "league": code, "count": len(teams), "teams": teams}


@teams_router.get("/leagues", response=LeaguesOut)
def teams_leagues(request: HttpRequest) -> dict[str, Any]:
    return {"success": True, "leagues": selectors.leagues_with_teams()}


@teams_router.get("/{league}/{abbreviation}", response={200: TeamOut, **NOT_FOUND})
def team_detail(request: HttpRequest, league: str, abbreviation: str) -> Any:
    team = selectors.team_find(league.lower(), abbreviation)
    if team is None:
        raise HttpError(404, "Team not found")
    return {"success": True, "team": team_out(team)}


@sports_router.get("", response=SportsOut, summary="Leagues we follow, with live/upcoming game counts")
def sports(request: HttpRequest) -> dict[str, Any]:
    items = selectors.sports_list()
    return {"success": True, "count": len(items), "sports": items}


@live_stats_router.get("/{identifier}", response={200: LiveStatsOut, **NOT_FOUND})
def live_stats(request: HttpRequest, identifier: str) -> Any:
    stats = selectors.live_stats_get(identifier)
    if stats is None:
        raise HttpError(404, GAME_NOT_FOUND)
    return {"success": True, "stats": stats}
