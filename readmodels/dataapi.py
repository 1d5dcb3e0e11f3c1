"""Polymarket's public data API (DATA_API_URL): a game's holders and trades, shaped as the original's
`/api/holders/:slug` and `/api/trades/:id` (original §3.6). Fetched on request, nothing stored.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

import httpx
from django.conf import settings
from typing_extensions import TypedDict

from core.tls import tls_context
from readmodels.frontend import FrontendTeam
from readmodels.gameviews import GameView

CONDITIONS_PER_CALL = 20  # the data API's cap on condition ids per request
TRADES_PAGE = 500
TRADES_MAX = 1500  # the original's bound: three pages


class DataApiError(Exception):
    pass


def _get(client: httpx.Client, path: str, params: Mapping[str, Any]) -> Any:
    try:
        response = client.get(f"{settings.DATA_API_URL}{path}", params=params, headers={"Accept": "application/json"})
    except httpx.HTTPError as exc:
        raise DataApiError(f"{path}: {type(exc).__name__}") from exc
    if response.status_code != 200:
        raise DataApiError(f"{path}: HTTP {response.status_code}")
    try:
        return response.json()
    except ValueError as exc:
        raise DataApiError(f"{path}: invalid JSON") from exc


def _chunks(values: Sequence[str]) -> list[list[str]]:
    return [list(values[i : i + CONDITIONS_PER_CALL]) for i in range(0, len(values), CONDITIONS_PER_CALL)]


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


class HolderAsset(TypedDict):
    assetId: str
    shortLabel: str
    question: str
    amount: float


class Holder(TypedDict):
    id: str
    rank: int
    wallet: str
    name: str
    totalAmount: float
    assets: list[HolderAsset]


def _rows(payload: Any, key: str | None = None) -> list[dict[str, Any]]:
    """The dict items of a list payload (or of `payload[key]`); anything else counts as no rows."""
    if key is not None:
        payload = payload.get(key) if isinstance(payload, dict) else None
    return [row for row in payload if isinstance(row, dict)] if isinstance(payload, list) else []


def holders_aggregate(payloads: Sequence[Any], labels: Mapping[str, tuple[str, str]]) -> list[Holder]:
    """`/holders` answers -> one row per wallet over the game's tokens (`labels`: token -> (short label,
    question)), largest total first; malformed rows and foreign tokens are skipped."""
    wallets: dict[str, Holder] = {}
    for payload in payloads:
        for token in _rows(payload):
            for row in _rows(token, "holders"):
                wallet, amount, asset = row.get("proxyWallet"), _number(row.get("amount")), str(row.get("asset"))
                if not isinstance(wallet, str) or amount is None or asset not in labels:
                    continue
                holder = wallets.setdefault(wallet, {"id": wallet, "rank": 0, "wallet": wallet,
                                                     "name": str(row.get("name") or ""), "totalAmount": 0.0,
                                                     "assets": []})
                short, question = labels[asset]
                holder["assets"].append({"assetId": asset, "shortLabel": short, "question": question,
                                         "amount": amount})
                holder["totalAmount"] = round(holder["totalAmount"] + amount, 6)
    ranked = sorted(wallets.values(), key=lambda h: (-h["totalAmount"], h["wallet"]))
    for rank, holder in enumerate(ranked, start=1):
        holder["rank"] = rank
    return ranked


def holders_fetch(view: GameView) -> list[Holder]:
    """Every outcome token's holders, aggregated per wallet, largest total first."""
    labels = {o.token_id: (o.label[:3].upper(), m.question) for m in view.markets for o in m.outcomes}
    with httpx.Client(timeout=settings.UPSTREAM_TIMEOUT_S, verify=tls_context()) as client:
        payloads = [_get(client, "/holders", {"market": ",".join(chunk), "limit": 500, "minBalance": 1})
                    for chunk in _chunks([m.condition_id for m in view.markets])]
    return holders_aggregate(payloads, labels)


class TradeOut(TypedDict):
    id: str
    type: str  # Buy | Sell
    amount: float  # USDC: shares x price, 2 dp
    shares: float
    price: int  # cents
    trader: str
    traderAvatar: str
    outcome: str
    awayTeam: FrontendTeam
    homeTeam: FrontendTeam
    time: str  # the trade's own time (the original sent its insert time)


def trade_parse(row: dict[str, Any], home: FrontendTeam, away: FrontendTeam) -> tuple[int, TradeOut] | None:
    """(timestamp, trade) from one `/trades` row; None when a field we need is missing or mistyped."""
    size, price = _number(row.get("size")), _number(row.get("price"))
    ts, tx = row.get("timestamp"), row.get("transactionHash")
    if size is None or price is None or not isinstance(ts, int) or isinstance(ts, bool) or not isinstance(tx, str):
        return None
    return ts, {
        "id": tx,
        "type": "Buy" if row.get("side") == "BUY" else "Sell",
        "amount": round(size * price, 2),
        "shares": size,
        "price": round(price * 100),
        "trader": str(row.get("proxyWallet") or ""),
        "traderAvatar": str(row.get("profileImage") or ""),
        "outcome": str(row.get("outcome") or ""),
        "awayTeam": away,
        "homeTeam": home,
        "time": dt.datetime.fromtimestamp(ts, dt.UTC).isoformat().replace("+00:00", "Z"),
    }


def trades_fetch(view: GameView, limit: int, home: FrontendTeam, away: FrontendTeam) -> list[TradeOut]:
    """The game's newest `limit` trades over all its markets (newest first), deduplicated by transaction."""
    seen: dict[str, tuple[int, TradeOut]] = {}
    with httpx.Client(timeout=settings.UPSTREAM_TIMEOUT_S, verify=tls_context()) as client:
        for chunk in _chunks([m.condition_id for m in view.markets]):
            for offset in range(0, min(limit, TRADES_MAX), TRADES_PAGE):  # newest first: `limit` per chunk is enough
                rows = _rows(_get(client, "/trades", {"market": ",".join(chunk), "limit": TRADES_PAGE,
                                                      "offset": offset, "takerOnly": "false"}))
                for row in rows:
                    parsed = trade_parse(row, home, away)
                    if parsed is not None:
                        seen[parsed[1]["id"]] = parsed
                if len(rows) < TRADES_PAGE:
                    break
    newest = sorted(seen.values(), key=lambda item: (-item[0], item[1]["id"]))
    return [trade for _, trade in newest[:limit]]
