"""The original's game-page and maintenance routes (original §3.1-3.6): activity watcher, holders,
trades, logos, catalog refresh and the API index. Thin: selectors, readmodels.dataapi and actions.refresh
do the work.
"""

from __future__ import annotations

import hmac
import re
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from ninja import Query, Router, Schema, Status
from ninja.errors import HttpError
from ninja.security import HttpBearer, SessionAuth

from actions.refresh import UnknownLeague, do_queue_refresh
from api.games import GAME_NOT_FOUND, ErrorOut
from readmodels import selectors
from readmodels.dataapi import DataApiError, Holder, TradeOut, holders_fetch, trades_fetch
from readmodels.frontend import ActivityGame

activity_router = Router(tags=["game page"])
holders_router = Router(tags=["game page"])
trades_router = Router(tags=["game page"])
logos_router = Router(tags=["game page"])
refresh_router = Router(tags=["maintenance"])

LOGO_FILE = re.compile(r"^([A-Za-z0-9]{1,40})\.(png|jpg|jpeg|svg)$")
LOGO_CACHE = "public, max-age=86400"
UPSTREAM_DOWN = "Polymarket data API unavailable"


class ActivityOut(Schema):
    success: bool
    game: ActivityGame


class HoldersOut(Schema):
    success: bool
    count: int
    holders: list[Holder]


class TradesOut(Schema):
    success: bool
    count: int
    trades: list[TradeOut]


class LogoMissingOut(Schema):
    error: str
    league: str
    abbreviation: str


class RefreshOut(Schema):
    success: bool
    queued: bool
    message: str
    retryAfter: float


class IndexOut(Schema):
    message: str
    docs: str


def api_index(request: HttpRequest) -> dict[str, str]:
    return {"message": "MEVU API v1.0.0", "docs": "/api/docs"}


def api_docs_redirect(request: HttpRequest) -> HttpResponse:
    return HttpResponseRedirect("/api/docs")


@activity_router.get("/{slug}", response={200: ActivityOut, 404: ErrorOut},
                     summary="A game with every market and live prices (the game page's REST load)")
def activity_watcher(request: HttpRequest, slug: str) -> Any:
    game = selectors.activity_game_get(slug)
    if game is None:
        raise HttpError(404, GAME_NOT_FOUND)
    return {"success": True, "game": game}


def _view_or_404(identifier: str) -> selectors.GameView:
    view = selectors.game_view_find(identifier)
    if view is None:
        raise HttpError(404, GAME_NOT_FOUND)
    if not view.markets:
        raise HttpError(404, "Game has no markets")
    return view


@holders_router.get("/{slug}", response={200: HoldersOut, 404: ErrorOut, 502: ErrorOut},
                    summary="Top holders of a game's outcome tokens, per wallet (Polymarket data API)")
def holders(request: HttpRequest, slug: str) -> Any:
    view = _view_or_404(slug)
    try:
        rows = holders_fetch(view)
    except DataApiError as exc:
        return Status(502, {"success": False, "error": f"{UPSTREAM_DOWN}: {exc}"})
    return {"success": True, "count": len(rows), "holders": rows}


@trades_router.get("/{identifier}", response={200: TradesOut, 400: ErrorOut, 404: ErrorOut, 502: ErrorOut},
                   summary="A game's newest trades over all its markets (Polymarket data API)")
def trades(request: HttpRequest, identifier: str, limit: int = Query(100, ge=1, le=500)) -> Any:
    view = _view_or_404(identifier)
    home, away = selectors.game_teams_now(view)
    try:
        rows = trades_fetch(view, limit, home, away)
    except DataApiError as exc:
        return Status(502, {"success": False, "error": f"{UPSTREAM_DOWN}: {exc}"})
    return {"success": True, "count": len(rows), "trades": rows}


@logos_router.get("/{league}/{file}", response={302: None, 400: ErrorOut, 404: LogoMissingOut},
                  summary="Redirect to a team's stored logo (`{ABBR}.png|jpg|jpeg|svg`)")
def logo(request: HttpRequest, league: str, file: str) -> Any:
    match = LOGO_FILE.match(file)
    if match is None:
        raise HttpError(400, "Invalid filename format; expected {ABBR}.png|jpg|jpeg|svg")
    abbreviation = match.group(1)
    url = selectors.team_logo_url(league.lower()[:40], abbreviation)
    if url is None:
        return Status(404, {"error": "Logo not found", "league": league, "abbreviation": abbreviation.upper()})
    response = HttpResponseRedirect(url)
    response["Cache-Control"] = LOGO_CACHE
    return response


class RefreshToken(HttpBearer):
    """`Authorization: Bearer <REFRESH_TOKEN>` (disabled while REFRESH_TOKEN is empty)."""

    def authenticate(self, request: HttpRequest, token: str) -> bool | None:
        expected = settings.REFRESH_TOKEN
        return True if expected and hmac.compare_digest(token.encode(), expected.encode()) else None


class StaffSession(SessionAuth):
    """A logged-in staff user of the admin (CSRF-checked, like the admin)."""

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        user = super().authenticate(request, key)
        return user if user is not None and user.is_staff else None


REFRESH_AUTH = [RefreshToken(), StaffSession()]
REFRESH_RESPONSES = {202: RefreshOut, 400: ErrorOut, 401: ErrorOut, 429: RefreshOut}


def _refresh(kind: str, league: str | None) -> Any:
    code = (league or "").strip().lower() or None
    try:
        queued, retry = do_queue_refresh(kind, code)
    except UnknownLeague as exc:
        raise HttpError(400, f"league: unknown or not followed: {exc}") from exc
    body = {"success": queued, "queued": queued, "retryAfter": round(retry, 1),
            "message": f"{kind} sync queued" if queued else f"a {kind} sync was queued recently; retry later"}
    return Status(202 if queued else 429, body)


@refresh_router.post("/games/refresh", auth=REFRESH_AUTH, response=REFRESH_RESPONSES,
                     summary="Queue a games sync (staff session or refresh token; once per interval)")
def games_refresh(request: HttpRequest, league: str | None = Query(None, max_length=40)) -> Any:
    return _refresh("games", league)


@refresh_router.post("/teams/refresh", auth=REFRESH_AUTH, response=REFRESH_RESPONSES,
                     summary="Queue a teams sync of every followed league (staff session or refresh token)")
def teams_refresh(request: HttpRequest) -> Any:
    return _refresh("teams", None)
