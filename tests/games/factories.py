"""Gamma-shaped payloads for tests at the network edge (raw Gamma wire shape: JSON-encoded string lists)."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import httpx

_ids = itertools.count(1)


def _token() -> str:
    return str(10**76 + next(_ids) * 7919)


def market_raw(question: str, outcomes: list[str], prices: list[str], *, smt: str | None = None,
               line: float | None = None, closed: bool = False) -> dict[str, Any]:
    n = next(_ids)
    raw: dict[str, Any] = {
        "id": str(500000 + n),
        "question": question,
        "conditionId": "0x" + f"{n:064x}",
        "slug": f"m-{n}",
        "outcomes": json.dumps(outcomes),
        "outcomePrices": json.dumps(prices),
        "clobTokenIds": json.dumps([_token() for _ in outcomes]),
        "active": True,
        "closed": closed,
        "volume": "100.5",
        "liquidityNum": 20.0,
        "bestBid": 0.55,
        "bestAsk": 0.57,
    }
    if smt:
        raw["sportsMarketType"] = smt
    if line is not None:
        raw["line"] = line
    return raw


def event_raw(league: str, a: tuple[str, str], b: tuple[str, str], kickoff: datetime, *,
              extra_markets: int = 2, **fields: Any) -> dict[str, Any]:
    """A game event: `a`/`b` are (abbreviation, name) in listed order."""
    n = next(_ids)
    title = f"{a[1]} vs. {b[1]}"
    markets = [market_raw(title, [a[1], b[1]], ["0.4", "0.6"], smt="moneyline")]
    for k in range(extra_markets):
        markets.append(market_raw(f"{title}: O/U {200.5 + k}", ["Over", "Under"], ["0.5", "0.5"], smt="totals",
                                  line=200.5 + k))
    raw = {
        "id": str(900000 + n),
        "slug": f"{league}-{a[0]}-{b[0]}-{kickoff:%Y-%m-%d}-{n}",
        "ticker": f"{league}-{a[0]}-{b[0]}",
        "title": title,
        "startTime": kickoff.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "endDate": kickoff.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "startDate": (kickoff - timedelta(days=5)).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "active": True,
        "closed": False,
        "volume": 1234.5,
        "liquidity": 99.0,
        "gameId": 10000 + n,
        "score": "",
        "period": "NS",
        "markets": markets,
        "series": [{"id": "10345"}],
    }
    raw.update(fields)
    return raw


Handler = Callable[[httpx.Request], httpx.Response]


def gamma_transport(routes: dict[str, Any] | Handler) -> httpx.MockTransport:
    """path → JSON body for offset 0 (later pages empty), or a handler of its own."""
    if callable(routes):
        return httpx.MockTransport(routes)

    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.params.get("offset", "0") not in ("0", ""):
            return httpx.Response(200, json=[])
        body = routes.get(request.url.path, [])
        return httpx.Response(200, json=body)

    return httpx.MockTransport(handle)


def write_queries(captured: Any) -> list[str]:
    """INSERT/UPDATE/DELETE statements in a CaptureQueriesContext."""
    return [q["sql"] for q in captured.captured_queries
            if q["sql"].lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))]

