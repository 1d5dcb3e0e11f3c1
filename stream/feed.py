"""Decode CLOB market-socket frames and apply them to the books (the hot path).

A frame may be a JSON array or a single object of any event type (README §3.3). Anything that is not
JSON, is truncated, malformed, duplicated or out of order is counted and skipped; nothing raises.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping
from typing import Any, TypedDict

import orjson

from markets.prices import TokenPrice, price_mid
from stream.books import Book, StreamCounters

DEDUPE_WINDOW = 4096
# Milliseconds far past any real clock (the year 287,396): a larger frame "timestamp" is garbage, and one kept in a
# book would block every later frame of it and no longer fit the prices hash's JSON (64-bit integers).
MAX_TS_MS = 2**53


def _frame_ts(value: Any) -> int:
    """A frame's or REST book's `timestamp` (ms, a number or a decimal string); ValueError for anything else,
    which the callers count as a malformed frame."""
    if isinstance(value, bool):
        raise ValueError(f"timestamp is a boolean: {value!r}")
    ts = int(value)
    if not 0 <= ts < MAX_TS_MS:
        raise ValueError(f"timestamp out of range: {value!r:.40}")
    return ts


class Level(TypedDict):
    price: str
    size: str


class BookEvent(TypedDict, total=False):
    event_type: str  # "book"
    market: str
    asset_id: str
    timestamp: str
    hash: str
    bids: list[Level]
    asks: list[Level]
    tick_size: str
    last_trade_price: str


class PriceChangeEntry(TypedDict, total=False):
    asset_id: str
    price: str
    size: str
    side: str  # BUY = bid side, SELL = ask side
    hash: str
    best_bid: str
    best_ask: str


class PriceChangeEvent(TypedDict, total=False):
    event_type: str  # "price_change"
    market: str
    timestamp: str
    price_changes: list[PriceChangeEntry]


def book_price(book: Book) -> TokenPrice:
    """The published price of a token: best bid/ask, mid and last trade."""
    bid, ask = book.best_bid, book.best_ask
    return {"bid": bid, "ask": ask, "mid": price_mid(bid, ask, book.last), "last": book.last, "ts": book.ts}


class BookStore:
    """Books of the subscribed tokens plus the set of tokens changed since the last coalescing window."""

    def __init__(self, counters: StreamCounters | None = None) -> None:
        self.books: dict[str, Book] = {}
        self.dirty: set[str] = set()
        self.counters = counters or StreamCounters()
        # Tokens subscribed whose dump has not arrived yet (a lost dump is repaired from REST).
        self.awaiting_dump: set[str] = set()
        self.by_market: dict[str, set[str]] = {}  # condition id -> tracked tokens
        self._recent: deque[int] = deque()
        self._recent_set: set[int] = set()

    # --- subscription bookkeeping --------------------------------------------------------------------
    def track(self, token_ids: Iterable[str], markets: Mapping[str, str] | None = None) -> None:
        """Start keeping books; `markets` (token -> condition id) links siblings before any frame does."""
        for token in token_ids:
            book = self.books.get(token)
            if book is None:
                book = self.books[token] = Book(token)
            market = (markets or {}).get(token)
            if market:
                self._set_market(book, market)

    def untrack(self, token_ids: Iterable[str]) -> None:
        for token in token_ids:
            book = self.books.pop(token, None)
            if book is not None and book.market in self.by_market:
                self.by_market[book.market].discard(token)
            self.dirty.discard(token)
            self.awaiting_dump.discard(token)

    def expect_dump(self, token_ids: Iterable[str]) -> None:
        self.awaiting_dump.update(t for t in token_ids if t in self.books)

    def take_dirty(self) -> set[str]:
        dirty, self.dirty = self.dirty, set()
        return dirty

    # --- frames ----------------------------------------------------------------------------------------
    def feed(self, raw: bytes | str) -> None:
        """Apply one socket frame."""
        counters = self.counters
        counters.frames += 1
        try:
            data = orjson.loads(raw)
        except orjson.JSONDecodeError:
            head = raw[:1]
            if head in (b"{", b"[", "{", "["):
                counters.malformed += 1  # truncated or garbled JSON
            else:
                counters.non_json += 1  # PONG, error strings
            return
        if isinstance(data, dict):
            if self._seen(raw):
                counters.duplicates += 1
                return
            self._event(data)
        elif isinstance(data, list):
            for item in data:
                if isinstance(item, dict):
                    self._event(item)
                else:
                    counters.malformed += 1
        else:
            counters.malformed += 1

    def _seen(self, raw: bytes | str) -> bool:
        key = hash(raw)
        if key in self._recent_set:
            return True
        self._recent.append(key)
        self._recent_set.add(key)
        if len(self._recent) > DEDUPE_WINDOW:
            self._recent_set.discard(self._recent.popleft())
        return False

    def _event(self, event: dict[str, Any]) -> None:
        kind = event.get("event_type")
        try:
            if kind == "price_change":
                self._price_change(event)
            elif kind == "book":
                self._book(event)
            elif kind == "last_trade_price":
                self._last_trade(event)
            elif kind == "tick_size_change":
                self._tick_size(event)
            else:
                self.counters.extra[str(kind)] = self.counters.extra.get(str(kind), 0) + 1
        except (KeyError, TypeError, ValueError, AttributeError):
            self.counters.malformed += 1

    def _price_change(self, event: PriceChangeEvent) -> None:
        ts = _frame_ts(event["timestamp"])
        entries = event.get("price_changes")
        if entries is None and "changes" in event:  # pre-2025-09-15 format: one asset per message
            entries = [dict(change, asset_id=event["asset_id"], hash="") for change in event["changes"]]
            if event.get("hash"):
                entries[-1]["hash"] = event["hash"]
        books, dirty, counters = self.books, self.dirty, self.counters
        market = event.get("market", "")
        for entry in entries:
            try:
                token = entry["asset_id"]
                book = books.get(token)
                if book is None:
                    counters.unknown_asset += 1
                    continue
                counters.changes += 1
                if book.apply_level(entry["side"] == "BUY", entry["price"], entry["size"], ts):
                    dirty.add(token)
                    if not book.market:
                        self._set_market(book, market)
                    book.set_pending_hash(entry.get("hash", ""), ts)
                else:
                    counters.stale += 1
            except (KeyError, TypeError, ValueError):
                counters.malformed += 1

    def _book(self, event: BookEvent) -> None:
        token = event["asset_id"]
        book = self.books.get(token)
        if book is None:
            self.counters.unknown_asset += 1
            return
        ts = _frame_ts(event["timestamp"])
        bids = [(lv["price"], lv["size"]) for lv in event.get("bids") or ()]
        asks = [(lv["price"], lv["size"]) for lv in event.get("asks") or ()]
        self.counters.books += 1
        # A dump after (re)subscribing is merged like any snapshot: levels it predates stay as the newer
        # frames set them (they can arrive first through the socket carrying the sibling token).
        if not book.apply_snapshot(bids, asks, ts):
            self.counters.stale += 1
            return
        self.awaiting_dump.discard(token)
        self._set_market(book, event.get("market", ""))
        if event.get("tick_size"):
            book.tick_size = event["tick_size"]
        last = event.get("last_trade_price")
        if last:
            book.apply_last_trade(last, ts)
        book.set_pending_hash(event.get("hash", ""), ts)
        self.dirty.add(token)

    def _last_trade(self, event: dict[str, Any]) -> None:
        """The book's `last_trade_price` is per market: both tokens' REST books (and hashes) carry the
        traded price (README §3.7 captures), so the sibling token's last trade moves too."""
        book = self.books.get(event["asset_id"])
        if book is None:
            self.counters.unknown_asset += 1
            return
        self.counters.trades += 1
        price, ts = event["price"], _frame_ts(event["timestamp"])
        market = event.get("market") or book.market
        self._set_market(book, market)
        siblings = [self.books[t] for t in self.by_market.get(market, ()) if t in self.books] or [book]
        for target in siblings:
            if target.apply_last_trade(price, ts):
                self.dirty.add(target.asset_id)
            elif target is book:
                self.counters.stale += 1

    def _set_market(self, book: Book, market: str) -> None:
        if not market or book.market == market:
            if market:
                self.by_market.setdefault(market, set()).add(book.asset_id)
            return
        if book.market in self.by_market:
            self.by_market[book.market].discard(book.asset_id)
        book.market = market
        self.by_market.setdefault(market, set()).add(book.asset_id)

    def _tick_size(self, event: dict[str, Any]) -> None:
        book = self.books.get(event["asset_id"])
        if book is not None and event.get("new_tick_size"):
            book.tick_size = event["new_tick_size"]

    # --- REST re-snapshot ---------------------------------------------------------------------------
    def apply_rest_book(self, body: dict[str, Any]) -> bool:
        """Replace a token's book with a REST `/book` answer (newer-wins per level, like a `book` frame)."""
        book = self.books.get(str(body.get("asset_id", "")))
        if book is None:
            return False
        ts = _frame_ts(body["timestamp"])
        bids = [(lv["price"], lv["size"]) for lv in body.get("bids") or ()]
        asks = [(lv["price"], lv["size"]) for lv in body.get("asks") or ()]
        if not book.apply_snapshot(bids, asks, ts):
            return False
        self._set_market(book, str(body.get("market") or ""))
        book.tick_size = str(body.get("tick_size") or book.tick_size)
        book.min_order_size = str(body.get("min_order_size") or book.min_order_size)
        book.neg_risk = bool(body.get("neg_risk", book.neg_risk))
        if body.get("last_trade_price"):
            book.apply_last_trade(body["last_trade_price"], ts)
        book.set_pending_hash(str(body.get("hash") or ""), ts)
        self.awaiting_dump.discard(book.asset_id)
        self.dirty.add(book.asset_id)
        return True
