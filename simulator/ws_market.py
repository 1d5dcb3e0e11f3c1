"""CLOB market WebSocket (``/clob/ws/market``) — subscription handling like the real service.

* The first frame must be ``{"type": "market", "assets_ids": [...]}``; anything else (except
  ``PING``) closes the socket with 1008.
* ``{"operation": "subscribe" | "unsubscribe", "assets_ids": [...]}`` changes it later.
* The initial dump is ONE JSON array of ``book`` objects (``[]`` when none of the ids has a book).
* Only the first ``max_assets`` (500) distinct assets of a connection are served; the rest are
  silently ignored. A frame with more than ``max_subscribe_ids`` ids makes the server drop the socket
  shortly after (no close frame).
* Text ``PING`` is answered with ``PONG``; a socket that sends no ``PING`` for ``ping_timeout_s``
  is dropped without a close frame.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterable

import orjson
from aiohttp import web

from .conn import Conn, Stats, conn_serve
from .faults import Faults
from .scenario import Market, Scenario


class MarketConn(Conn):
    def __init__(self, ws: web.WebSocketResponse, request: web.Request, faults: Faults, stats: Stats) -> None:
        super().__init__(ws, request, faults, stats, "market")
        self.assets: dict[str, None] = {}  # served assets, in subscription order (<= max_assets)
        self.ignored: set[str] = set()  # asked for beyond the cap: silently never updated
        self.subscribed = False
        self.custom = False


class MarketHub:
    def __init__(self, scenario: Scenario, faults: Faults, stats: Stats, *, ping_timeout_s: float = 20.0,
                 max_assets: int = 500, max_subscribe_ids: int = 2000) -> None:
        self.scenario = scenario
        self.faults = faults
        self.stats = stats
        self.ping_timeout_s = ping_timeout_s
        self.max_assets = max_assets
        self.max_subscribe_ids = max_subscribe_ids
        self.conns: set[MarketConn] = set()
        self.by_token: dict[str, dict[MarketConn, None]] = {}
        self.by_market: dict[str, dict[MarketConn, int]] = {}  # condition id -> conn -> tokens held

    # ------------------------------------------------------------------ socket handler
    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True, compress=False, max_msg_size=64 * 1024 * 1024)
        await ws.prepare(request)
        conn = MarketConn(ws, request, self.faults, self.stats)
        self.conns.add(conn)
        await conn_serve(ws, conn, self.on_text, self._forget)  # type: ignore[arg-type]
        return ws

    def on_text(self, conn: MarketConn, text: str) -> None:
        if text == "PING":
            conn.last_ping = time.monotonic()
            if not self.faults.ignore_ping:
                conn.send_control(b"PONG", "PONG")
            return
        try:
            msg = orjson.loads(text)
        except orjson.JSONDecodeError:
            return  # the real server ignores junk text
        if not isinstance(msg, dict):
            return
        ids = msg.get("assets_ids")
        ids = [str(x) for x in ids] if isinstance(ids, list) else []
        if len(ids) > self.max_subscribe_ids:
            # Oversized subscribe frames make the real server drop the socket ~100-200 ms later.
            asyncio.get_running_loop().call_later(0.15, conn.abort)
            return
        operation = str(msg.get("operation", "")).lower()
        if not conn.subscribed:
            if str(msg.get("type", "")).lower() != "market":
                asyncio.get_running_loop().create_task(self._reject(conn))
                return
            conn.subscribed = True
            conn.custom = bool(msg.get("custom_feature_enabled", False))
            self.subscribe(conn, ids, dump=msg.get("initial_dump", True) is not False)
            return
        if msg.get("custom_feature_enabled") is not None:
            conn.custom = bool(msg.get("custom_feature_enabled"))
        if operation == "subscribe":
            self.subscribe(conn, ids, dump=msg.get("initial_dump", True) is not False)
        elif operation == "unsubscribe":
            self.unsubscribe(conn, ids)

    async def _reject(self, conn: MarketConn) -> None:
        with contextlib.suppress(Exception):
            await conn.ws.close(code=1008, message=b"expected a market subscription")

    # ------------------------------------------------------------------ subscriptions
    def subscribe(self, conn: MarketConn, ids: Iterable[str], dump: bool = True) -> None:
        added = []
        for token in ids:
            if token in conn.assets or token in conn.ignored:
                continue  # the real server rejects duplicates; re-sending is a no-op here
            if len(conn.assets) >= self.max_assets:
                conn.ignored.add(token)
                continue
            conn.assets[token] = None
            self.by_token.setdefault(token, {})[conn] = None
            hit = self.scenario.tokens.get(token)
            if hit is not None:
                per_market = self.by_market.setdefault(hit[0].condition_id, {})
                per_market[conn] = per_market.get(conn, 0) + 1
            added.append(token)
        if dump:
            conn.send(self.dump(added), "book_dump")

    def dump(self, tokens: Iterable[str]) -> bytes:
        books = []
        for token in tokens:
            hit = self.scenario.tokens.get(token)
            if hit is None:
                continue
            market, index = hit
            if market.book is not None:
                books.append(market.book.dump_book(index))
        return orjson.dumps(books)  # compact, like the real initial dump

    def unsubscribe(self, conn: MarketConn, ids: Iterable[str]) -> None:
        for token in ids:
            conn.ignored.discard(token)
            if token not in conn.assets:
                continue
            del conn.assets[token]
            self._drop_token(conn, token)

    def _drop_token(self, conn: MarketConn, token: str) -> None:
        subs = self.by_token.get(token)
        if subs is not None:
            subs.pop(conn, None)
            if not subs:
                del self.by_token[token]
        hit = self.scenario.tokens.get(token)
        if hit is not None:
            per_market = self.by_market.get(hit[0].condition_id)
            if per_market is not None and conn in per_market:
                per_market[conn] -= 1
                if per_market[conn] <= 0:
                    del per_market[conn]
                if not per_market:
                    del self.by_market[hit[0].condition_id]

    def _forget(self, conn: MarketConn) -> None:
        for token in list(conn.assets):
            self._drop_token(conn, token)
        conn.assets.clear()
        self.conns.discard(conn)

    def on_new_market(self, market: Market) -> None:
        """Sockets may have subscribed to a token before its market existed (ids learned elsewhere)."""
        for token in market.tokens:
            for conn in self.by_token.get(token, {}):
                per_market = self.by_market.setdefault(market.condition_id, {})
                per_market[conn] = per_market.get(conn, 0) + 1

    # ------------------------------------------------------------------ publishing
    def market_subscribers(self, market: Market) -> dict[MarketConn, int] | None:
        return self.by_market.get(market.condition_id)

    def publish_market(self, market: Market, frame: bytes, kind: str) -> None:
        subs = self.by_market.get(market.condition_id)
        if subs:
            for conn in subs:
                conn.send(frame, kind)

    def publish_token(self, token: str, frame: bytes, kind: str) -> None:
        subs = self.by_token.get(token)
        if subs:
            for conn in subs:
                conn.send(frame, kind)

    def token_subscribed(self, token: str) -> bool:
        return bool(self.by_token.get(token))

    def custom_subscribers(self, token: str) -> list[MarketConn]:
        return [c for c in self.by_token.get(token, {}) if c.custom]

    # ------------------------------------------------------------------ housekeeping
    def sweep(self) -> None:
        """Drop idle sockets (no PING) and release frames held back for reordering."""
        now = time.monotonic()
        for conn in list(self.conns):
            conn.flush_held()
            if not conn.closed and now - conn.last_ping > self.ping_timeout_s:
                conn.abort()

    def drop_all(self) -> int:
        conns = list(self.conns)
        for conn in conns:
            conn.abort()
        return len(conns)
