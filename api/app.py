"""The public REST API (django-ninja); OpenAPI docs at /api/docs.

Errors are JSON everywhere: `{"success": false, "error": "...", "field": "..."}` with 400 for invalid
input (instead of ninja's 422), 404 for unknown ids, and a logged JSON 500 as the very last resort.
"""

from __future__ import annotations

import logging

from django.db import DatabaseError, DataError, InterfaceError, OperationalError
from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError

from api.gamepage import (
    IndexOut,
    activity_router,
    api_index,
    holders_router,
    logos_router,
    refresh_router,
    trades_router,
)
from api.games import games_router, live_stats_router, sports_router, teams_router
from api.markets import markets_router, price_history_router
from readmodels.listing import ListingParamError
from readmodels.price_history import PriceHistoryParamError

log = logging.getLogger(__name__)

api = NinjaAPI(title="MEVU API", version="1.0.0", docs_url="/docs", urls_namespace="api")


def _error(request: HttpRequest, status: int, message: str, field: str | None = None) -> HttpResponse:
    body: dict[str, object] = {"success": False, "error": message}
    if field is not None:
        body["field"] = field
    return api.create_response(request, body, status=status)


@api.exception_handler(ValidationError)
def validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    first = exc.errors[0] if exc.errors else {}
    loc = [str(part) for part in first.get("loc", ()) if part not in ("query", "path", "body", "header")]
    field = loc[0] if loc else None
    if field is not None and len(loc) > 1 and not loc[1].isdigit():
        field = loc[-1]
    message = str(first.get("msg", "invalid request"))
    return _error(request, 400, f"{field}: {message}" if field else message, field)


@api.exception_handler(ListingParamError)
def listing_param_error(request: HttpRequest, exc: ListingParamError) -> HttpResponse:
    return _error(request, 400, exc.message, exc.field)


@api.exception_handler(PriceHistoryParamError)
def price_history_param_error(request: HttpRequest, exc: PriceHistoryParamError) -> HttpResponse:
    return _error(request, 400, exc.message, exc.field)


@api.exception_handler(HttpError)
def http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    return _error(request, exc.status_code, str(exc))


@api.exception_handler(AuthenticationError)
def auth_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return _error(request, 401, "Unauthorized")


@api.exception_handler(Http404)
def not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return _error(request, 404, "Not found")


@api.exception_handler(DatabaseError)
def database_error(request: HttpRequest, exc: DatabaseError) -> HttpResponse:
    """PostgreSQL down or failing over: a retryable 503. PostgreSQL refusing a value (a NUL byte, an integer
    out of range): the client's input, 400. Anything else stays a logged 500 (docs/OPERATIONS.md "Failure modes")."""
    if isinstance(exc, OperationalError | InterfaceError):
        log.warning("database unavailable on %s %s: %s", request.method, request.path, type(exc).__name__)
        response = _error(request, 503, "Database temporarily unavailable; retry shortly")
        response["Retry-After"] = "5"
        return response
    if isinstance(exc, DataError):
        return _error(request, 400, "Invalid input value")
    return unexpected(request, exc)


@api.exception_handler(Exception)
def unexpected(request: HttpRequest, exc: Exception) -> HttpResponse:
    log.exception("unhandled API error on %s %s", request.method, request.path)
    return _error(request, 500, "Internal server error")


api.get("", response=IndexOut, summary="API index (also at /api)")(api_index)
api.add_router("", refresh_router)  # before /games: games/{game_id} would otherwise claim games/refresh
api.add_router("/games", games_router)
api.add_router("/teams", teams_router)
api.add_router("/sports", sports_router)
api.add_router("/live-stats", live_stats_router)
api.add_router("/markets", markets_router)
api.add_router("/price-history", price_history_router)
api.add_router("/activitywatcher", activity_router)
api.add_router("/holders", holders_router)
api.add_router("/trades", trades_router)
api.add_router("/logos", logos_router)


def api_index_view(request: HttpRequest) -> HttpResponse:
    return api.create_response(request, api_index(request), status=200)
