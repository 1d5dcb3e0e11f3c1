"""CLOB REST under ``/clob``: books, prices, midpoints, spreads, history, tick size, time.

``/book`` is the socket state at that instant: same levels, and the timestamp/hash of the token's
last change (as the 2025-10 capture shows: the REST hash equals the preceding ``price_change`` hash).
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable

import orjson
from aiohttp import web

from .books import Book
from .scenario import Market, Scenario
from .wire import PRICE_STRINGS, decimal_str

NO_BOOK = {"error": "No orderbook exists for the requested token id"}
INTERVALS_S = {"1h": 3600, "6h": 6 * 3600, "1d": 86400, "1w": 7 * 86400, "1m": 30 * 86400}
MAX_HISTORY_POINTS = 5000


def json_response(data: object, status: int = 200) -> web.Response:
    return web.Response(body=orjson.dumps(data), status=status, content_type="application/json")


class ClobApi:
    def __init__(self, scenario: Scenario, now_ms: Callable[[], int]) -> None:
        self.scenario = scenario
        self.now_ms = now_ms

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/clob/", self.ok),
            web.get("/clob/book", self.book),
            web.post("/clob/books", self.books),
            web.get("/clob/price", self.price),
            web.post("/clob/prices", self.prices),
            web.get("/clob/midpoint", self.midpoint),
            web.post("/clob/midpoints", self.midpoints),
            web.get("/clob/spread", self.spread),
            web.post("/clob/spreads", self.spreads),
            web.get("/clob/last-trade-price", self.last_trade_price),
            web.get("/clob/tick-size", self.tick_size),
            web.get("/clob/neg-risk", self.neg_risk),
            web.get("/clob/prices-history", self.prices_history),
            web.get("/clob/time", self.server_time),
        ]

    def _lookup(self, token: str | None) -> tuple[Market, int] | None:
        if not token:
            return None
        hit = self.scenario.tokens.get(token)
        if hit is None or hit[0].book is None:
            return None
        return hit

    @staticmethod
    async def _body_tokens(request: web.Request) -> list[dict[str, object]] | None:
        try:
            body = orjson.loads(await request.read())
        except orjson.JSONDecodeError:
            return None
        if not isinstance(body, list):
            return None
        return [x for x in body if isinstance(x, dict)]

    async def ok(self, request: web.Request) -> web.Response:
        return json_response("OK")

    async def book(self, request: web.Request) -> web.Response:
        token = request.query.get("token_id")
        if not token:
            return json_response({"error": "Invalid token id"}, status=400)
        hit = self._lookup(token)
        if hit is None:
            return json_response(NO_BOOK, status=404)
        market, index = hit
        assert market.book is not None
        return json_response(market.book.rest_book(index))

    async def books(self, request: web.Request) -> web.Response:
        items = await self._body_tokens(request)
        if items is None:
            return json_response({"error": "Invalid payload"}, status=400)
        out = []
        for item in items:
            hit = self._lookup(str(item.get("token_id", "")))
            if hit is not None and hit[0].book is not None:
                out.append(hit[0].book.rest_book(hit[1]))
        return json_response(out)

    @staticmethod
    def _side_price(book: Book, index: int, side: str) -> str | None:
        bb, ba = book.best(index)
        value = bb if side == "BUY" else ba  # BUY answers the best bid, as captured
        return None if value is None else PRICE_STRINGS[value]

    async def price(self, request: web.Request) -> web.Response:
        side = request.query.get("side", "").upper()
        if side not in ("BUY", "SELL"):
            return json_response({"error": "Invalid side"}, status=400)
        hit = self._lookup(request.query.get("token_id"))
        if hit is None:
            return json_response(NO_BOOK, status=404)
        market, index = hit
        assert market.book is not None
        price = self._side_price(market.book, index, side)
        if price is None:
            return json_response({"error": "No orders on that side of the book"}, status=404)
        return json_response({"price": price})

    async def prices(self, request: web.Request) -> web.Response:
        items = await self._body_tokens(request)
        if items is None:
            return json_response({"error": "Invalid payload"}, status=400)
        out: dict[str, dict[str, str]] = {}
        for item in items:
            token = str(item.get("token_id", ""))
            side = str(item.get("side", "")).upper()
            hit = self._lookup(token)
            if hit is None or side not in ("BUY", "SELL") or hit[0].book is None:
                continue
            price = self._side_price(hit[0].book, hit[1], side)
            if price is not None:
                out.setdefault(token, {})[side] = price
        return json_response(out)

    @staticmethod
    def _mid(book: Book, index: int) -> str | None:
        bb, ba = book.best(index)
        if bb is None or ba is None:
            return None
        return decimal_str((bb + ba) / 2000, 4)

    async def _one_value(
        self, request: web.Request, compute: Callable[[Book, int], str | None], key: str, what: str
    ) -> web.Response:
        hit = self._lookup(request.query.get("token_id"))
        if hit is None or hit[0].book is None:
            return json_response(NO_BOOK, status=404)
        value = compute(hit[0].book, hit[1])
        if value is None:
            return json_response({"error": f"No {what}: one side of the book is empty"}, status=404)
        return json_response({key: value})

    async def _many_values(self, request: web.Request, compute: Callable[[Book, int], str | None]) -> web.Response:
        items = await self._body_tokens(request)
        if items is None:
            return json_response({"error": "Invalid payload"}, status=400)
        out: dict[str, str] = {}
        for item in items:
            token = str(item.get("token_id", ""))
            hit = self._lookup(token)
            if hit is not None and hit[0].book is not None and (value := compute(hit[0].book, hit[1])):
                out[token] = value
        return json_response(out)

    async def midpoint(self, request: web.Request) -> web.Response:
        return await self._one_value(request, self._mid, "mid", "midpoint")

    async def midpoints(self, request: web.Request) -> web.Response:
        return await self._many_values(request, self._mid)

    @staticmethod
    def _spread(book: Book, index: int) -> str | None:
        bb, ba = book.best(index)
        return None if bb is None or ba is None else PRICE_STRINGS[ba - bb]

    async def spread(self, request: web.Request) -> web.Response:
        return await self._one_value(request, self._spread, "spread", "spread")

    async def spreads(self, request: web.Request) -> web.Response:
        return await self._many_values(request, self._spread)

    async def last_trade_price(self, request: web.Request) -> web.Response:
        hit = self._lookup(request.query.get("token_id"))
        if hit is None or hit[0].book is None:
            return json_response(NO_BOOK, status=404)
        book = hit[0].book
        price = "0" if book.ltp is None else PRICE_STRINGS[book.ltp]
        return json_response({"price": price, "side": "BUY"})

    async def tick_size(self, request: web.Request) -> web.Response:
        hit = self._lookup(request.query.get("token_id"))
        if hit is None:
            return json_response(NO_BOOK, status=404)
        return json_response({"minimum_tick_size": hit[0].tick / 1000})

    async def neg_risk(self, request: web.Request) -> web.Response:
        hit = self._lookup(request.query.get("token_id"))
        if hit is None:
            return json_response(NO_BOOK, status=404)
        return json_response({"neg_risk": hit[0].neg_risk})

    async def server_time(self, request: web.Request) -> web.Response:
        return json_response(self.now_ms() // 1000)

    # ------------------------------------------------------------------ history
    async def prices_history(self, request: web.Request) -> web.Response:
        q = request.query
        token = q.get("market")
        if not token:
            return json_response({"error": "market is required"}, status=400)
        hit = self.scenario.tokens.get(token)
        if hit is None:
            return json_response({"history": []})
        market, index = hit
        try:
            fidelity = max(1, int(q.get("fidelity", "1")))
        except ValueError:
            return json_response({"error": "invalid fidelity"}, status=400)
        if market.closed and fidelity < 720:
            return json_response({"history": []})  # resolved markets only answer at coarse fidelity
        now_s = self.now_ms() // 1000
        end_s = min(now_s, market.closed_ms // 1000) if market.closed_ms else now_s
        listed_s = market.listed_ms // 1000
        try:
            if "startTs" in q or "endTs" in q:
                start_s = int(q.get("startTs", listed_s))
                end_s = min(int(q.get("endTs", end_s)), end_s)
            else:
                interval = q.get("interval", "max")
                span = INTERVALS_S.get(interval)
                start_s = listed_s if span is None else end_s - span
        except ValueError:
            return json_response({"error": "invalid startTs/endTs"}, status=400)
        start_s = max(start_s, listed_s)
        return json_response({"history": self._history(market, index, start_s, end_s, fidelity * 60)})

    def _history(self, market: Market, index: int, start_s: int, end_s: int, step_s: int) -> list[dict[str, object]]:
        """A deterministic walk that ends at today's price: points ~fidelity apart, off the clock grid."""
        if end_s <= start_s:
            return []
        step_s = max(step_s, (end_s - start_s) // MAX_HISTORY_POINTS + 1)
        rng = random.Random(f"{self.scenario.seed}:history:{market.id}:{index}:{start_s // 3600}:{step_s}")
        if market.book is not None:
            mid = market.book.mid()
            current = 0.5 if mid is None else mid
            if index == 1:
                current = 1 - current
        else:
            resolved = market.resolved or ["0.5", "0.5"]
            current = float(resolved[index])
        first = start_s + rng.randrange(0, min(step_s, 600))
        times = list(range(first, end_s, step_s)) or [start_s]
        prices = [current]
        vol = 0.02 * math.sqrt(step_s / 3600)
        for _ in range(len(times) - 1):
            prices.append(min(0.999, max(0.001, prices[-1] + rng.gauss(0, vol))))
        prices.reverse()
        out = [{"t": t, "p": round(p, 4)} for t, p in zip(times, prices, strict=True)]
        if out[-1]["t"] != end_s:
            out.append({"t": end_s, "p": round(current, 4)})  # the fresher off-grid tick at the end
        return out
