"""Per-token order books rebuilt from the CLOB market socket (upstream README §3.4, §3.7).

`book` frames are snapshots, `price_change` entries carry ABSOLUTE level sizes ("0" removes the level;
side BUY = bid). Frames can arrive duplicated or out of order, so every level remembers the timestamp
of the update that set (or removed) it and an older update never overwrites a newer one; a snapshot
only replaces levels that no newer update touched. Best bid/ask are maintained incrementally.

Hashes: each `price_change` entry carries the SHA-1 of that asset's REST-style book after the change
(README §3.7). The hash also covers `last_trade_price`, which may have moved without us knowing, so a
book is verified against the latest pending hash with the known and the previous last trade; a
mismatch marks the token for a REST re-snapshot.
"""

from __future__ import annotations

import hashlib
import sys
from dataclasses import dataclass, field

TOMBSTONE_LIMIT = 256
# Price strings repeat across every book ("0.53"): parse each once and share one float and one string
# object for all levels that use it (a third less memory for 12,000 books, and no float() per change).
_PRICES: dict[str, tuple[float, str]] = {}
_PRICES_LIMIT = 200_000


def price_parse(text: str) -> tuple[float, str]:
    hit = _PRICES.get(text)
    if hit is None:
        if len(_PRICES) >= _PRICES_LIMIT:  # garbage price strings must not grow it without bound
            _PRICES.clear()
        value = float(text)
        if not 0.0 <= value <= 1.0:  # "nan", "inf", "-0.3": a malformed frame, never a level (fuzzing found it)
            raise ValueError(f"price out of range: {text!r}")
        hit = _PRICES[text] = (value, sys.intern(text))
    return hit


class Book:
    __slots__ = (
        "_ask_gone",
        "_bid_gone",
        "asks",
        "asset_id",
        "best_ask",
        "best_bid",
        "bids",
        "floor_ts",
        "last",
        "last_str",
        "last_ts",
        "market",
        "min_order_size",
        "neg_risk",
        "pending_hash",
        "pending_ts",
        "prev_last_str",
        "tick_size",
        "ts",
    )

    def __init__(self, asset_id: str, market: str = "") -> None:
        self.asset_id = asset_id
        self.market = market
        # price -> (price string as the server wrote it, size string, timestamp ms of the update)
        self.bids: dict[float, tuple[str, str, int]] = {}
        self.asks: dict[float, tuple[str, str, int]] = {}
        # removed levels -> timestamp of the removal (so an older re-add is ignored)
        self._bid_gone: dict[float, int] = {}
        self._ask_gone: dict[float, int] = {}
        self.best_bid: float | None = None
        self.best_ask: float | None = None
        self.floor_ts = -1  # timestamp of the newest snapshot applied
        self.ts = -1  # newest timestamp applied by anything
        self.last: float | None = None
        self.last_str = ""
        self.prev_last_str = ""
        self.last_ts = -1
        self.tick_size = "0.01"
        self.min_order_size = "5"
        self.neg_risk = False
        self.pending_hash = ""
        self.pending_ts = -1

    # --- updates -----------------------------------------------------------------------------------
    def apply_level(self, is_bid: bool, price_str: str, size_str: str, ts: int) -> bool:
        """Set one level to an absolute size; False when older than what we hold (ignored)."""
        if ts < self.floor_ts:
            return False
        price, price_str = price_parse(price_str)
        levels, gone = (self.bids, self._bid_gone) if is_bid else (self.asks, self._ask_gone)
        current = levels.get(price)
        if current is not None:
            if ts < current[2]:
                return False
        else:
            removed_at = gone.get(price)
            if removed_at is not None and ts < removed_at:
                return False
        if ts > self.ts:
            self.ts = ts
        if float(size_str) <= 0:
            if current is not None:
                del levels[price]
            gone[price] = ts
            if len(gone) > TOMBSTONE_LIMIT:
                self._prune(gone)
            if is_bid:
                if price == self.best_bid:
                    self.best_bid = max(levels) if levels else None
            elif price == self.best_ask:
                self.best_ask = min(levels) if levels else None
            return True
        levels[price] = (price_str, size_str, ts)
        if current is None and gone:
            gone.pop(price, None)
        if is_bid:
            if self.best_bid is None or price > self.best_bid:
                self.best_bid = price
        elif self.best_ask is None or price < self.best_ask:
            self.best_ask = price
        return True

    def _prune(self, gone: dict[float, int]) -> None:
        newest = sorted(gone.values())[-TOMBSTONE_LIMIT // 2]
        for price in [p for p, t in gone.items() if t < newest]:
            del gone[price]

    def apply_snapshot(self, bids: list[tuple[str, str]], asks: list[tuple[str, str]], ts: int) -> bool:
        """Replace the book with a snapshot taken at `ts`, keeping levels updated after it.

        Used for subscription dumps (after every reconnect), post-trade `book` frames and REST books.
        """
        if ts < self.floor_ts:
            return False
        new_bids = {pf: (ps, s, ts) for pf, ps, s in (( *price_parse(p), s) for p, s in bids) if float(s) > 0}
        new_asks = {pf: (ps, s, ts) for pf, ps, s in (( *price_parse(p), s) for p, s in asks) if float(s) > 0}
        self._merge_newer(new_bids, self.bids, self._bid_gone, ts)
        self._merge_newer(new_asks, self.asks, self._ask_gone, ts)
        self.bids, self.asks = new_bids, new_asks
        self._bid_gone = {p: t for p, t in self._bid_gone.items() if t > ts}
        self._ask_gone = {p: t for p, t in self._ask_gone.items() if t > ts}
        self.best_bid = max(new_bids) if new_bids else None
        self.best_ask = min(new_asks) if new_asks else None
        self.floor_ts = ts
        if ts > self.ts:
            self.ts = ts
        return True

    @staticmethod
    def _merge_newer(
        new: dict[float, tuple[str, str, int]],
        old: dict[float, tuple[str, str, int]],
        gone: dict[float, int],
        ts: int,
    ) -> None:
        for price, level in old.items():
            if level[2] > ts:
                new[price] = level
        for price, removed_at in gone.items():
            if removed_at > ts:
                new.pop(price, None)

    def apply_last_trade(self, price_str: str, ts: int) -> bool:
        if ts < self.last_ts or not price_str:
            return False
        if len(price_str) != 5:  # books (and hashes) carry it with 3 decimals ("0.910"), trade frames not
            price_str = f"{float(price_str):.3f}"
        if not 0.0 <= float(price_str) <= 1.0:  # NaN/inf/out of range: malformed (ValueError -> counted)
            raise ValueError(f"last trade price out of range: {price_str!r}")
        if price_str != self.last_str:
            self.prev_last_str = self.last_str
            self.last_str = price_str
        self.last = float(price_str)
        self.last_ts = ts
        return True

    def set_pending_hash(self, hash_: str, ts: int) -> None:
        if hash_ and ts >= self.pending_ts:
            self.pending_hash = hash_
            self.pending_ts = ts

    # --- hashing -------------------------------------------------------------------------------------
    def hash_with(self, last_trade: str, ts: int) -> str:
        """SHA-1 of the compact REST `/book` JSON with hash "" (README §3.7), for the given inputs."""
        bids = ",".join(f'{{"price":"{lv[0]}","size":"{lv[1]}"}}' for _, lv in sorted(self.bids.items()))
        asks = ",".join(
            f'{{"price":"{lv[0]}","size":"{lv[1]}"}}' for _, lv in sorted(self.asks.items(), reverse=True)
        )
        neg_risk = "true" if self.neg_risk else "false"
        body = (
            f'{{"market":"{self.market}","asset_id":"{self.asset_id}","timestamp":"{ts}","hash":"",'
            f'"bids":[{bids}],"asks":[{asks}],"min_order_size":"{self.min_order_size}",'
            f'"tick_size":"{self.tick_size}","neg_risk":{neg_risk},"last_trade_price":"{last_trade}"}}'
        )
        return hashlib.sha1(body.encode()).hexdigest()

    def verify_pending(self, *, keep_on_mismatch: bool = False) -> bool | None:
        """None: nothing to verify; True: our book matches the newest hash; False: mismatch.

        `keep_on_mismatch` leaves the hash pending so it can be checked again a window later (the trade
        that explains it may still be on its way through another socket).
        """
        if not self.pending_hash:
            return None
        expected, ts = self.pending_hash, self.pending_ts
        self.pending_hash = ""
        for candidate in dict.fromkeys((self.last_str, self.prev_last_str, "")):
            if self.hash_with(candidate, ts) == expected:
                return True
        if keep_on_mismatch:
            self.pending_hash = expected
        return False


@dataclass
class StreamCounters:
    """Everything odd the socket sends us is counted, never fatal."""

    frames: int = 0
    changes: int = 0
    books: int = 0
    trades: int = 0
    non_json: int = 0
    malformed: int = 0
    duplicates: int = 0
    stale: int = 0
    unknown_asset: int = 0
    hash_ok: int = 0
    hash_mismatch: int = 0
    resnapshots: int = 0
    connects: int = 0
    disconnects: int = 0
    published: int = 0
    publish_errors: int = 0
    persisted: int = 0
    extra: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, int]:
        out = {k: v for k, v in self.__dict__.items() if isinstance(v, int)}
        out.update(self.extra)
        return out
