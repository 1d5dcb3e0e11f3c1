"""Market and price-history endpoints (original §3.5). Thin: selectors/services do the work."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Field, Path, Query, Router, Schema
from ninja.errors import HttpError

from api.games import ErrorOut
from readmodels import price_history as ph
from readmodels.selectors import market_get

markets_router = Router(tags=["markets"])
price_history_router = Router(tags=["price-history"])


class MarketOut(Schema):
    success: bool
    market: dict[str, Any]
    game: dict[str, str]


class PointOut(Schema):
    timestamp: int
    price: float


class PriceHistoryOut(Schema):
    success: bool
    clobTokenId: str
    interval: str
    fidelity: int
    pointCount: int
    source: str
    cached: bool
    history: list[PointOut]


INTERVAL_DOC = {"enum": list(ph.INTERVALS)}
TOKEN_DOC = {"pattern": ph.TOKEN_PATTERN}
EXAMPLE_TOKEN = "71321045679252212594626385532706912750332728571942532289631379312455583992563"


class BatchIn(Schema):
    clobTokenIds: list[str] = Field(
        ..., min_length=1, max_length=ph.MAX_BATCH, json_schema_extra={"items": {"type": "string", **TOKEN_DOC}}
    )
    interval: str = Field(..., json_schema_extra=INTERVAL_DOC)
    fidelity: int | None = Field(None, json_schema_extra={"minimum": 1, "maximum": ph.MAX_FIDELITY})


class BatchOut(Schema):
    success: bool
    interval: str
    fidelity: int
    histories: dict[str, list[PointOut]]


@markets_router.get("/{condition_id}", response={200: MarketOut, 404: ErrorOut})
def market_detail(request: HttpRequest, condition_id: str) -> Any:
    found = market_get(condition_id)
    if found is None:
        raise HttpError(404, "Market not found")
    return {"success": True, **found}


@price_history_router.post("/batch", response={200: BatchOut, 400: ErrorOut})
async def price_history_batch(request: HttpRequest, body: BatchIn) -> Any:
    interval = ph.interval_validate(body.interval)
    fidelity = ph.fidelity_resolve(interval, body.fidelity)
    tokens = [ph.token_validate(t) for t in body.clobTokenIds]
    found = await ph.price_histories_get(tokens, interval, fidelity)
    histories = {token: result["history"] for token, result in found.items()}
    return {"success": True, "interval": interval, "fidelity": fidelity, "histories": histories}


@price_history_router.get("/{token_id}", response={200: PriceHistoryOut, 400: ErrorOut})
async def price_history(
    request: HttpRequest,
    token_id: str = Path(..., description="CLOB token id (decimal digits)", example=EXAMPLE_TOKEN),
    interval: str | None = Query(None, description="1h | 6h | 1d | 1w | 1m | max", example="1d"),
    fidelity: str | None = Query(None, description="minutes between points (minimums: 1w 5, 1m/max 60)", example="60"),
) -> Any:
    token = ph.token_validate(token_id)
    interval_ = ph.interval_validate(interval)
    fidelity_ = ph.fidelity_resolve(interval_, fidelity)
    result = await ph.price_history_get(token, interval_, fidelity_)
    return {
        "success": True,
        "clobTokenId": token,
        "interval": interval_,
        "fidelity": fidelity_,
        "pointCount": len(result["history"]),
        "source": result["source"],
        "cached": result["cached"],
        "history": result["history"],
    }
