"""Order books of binary markets and the wire frames built from them.

One :class:`Book` holds a market's two complementary books. Only token 0's levels are stored: a bid
of token 0 at p *is* an ask of token 1 at 1-p, which is why every real ``price_change`` carries the
mirrored pair. Prices are integer thousandths, sizes the server's decimal strings.

The ``last_trade_price`` is per market (both tokens' books carry the same value, as in the 2025-12
and 2026-05 captures) and, like ``tick_size``, is part of each token's hash.
"""

from __future__ import annotations

import bisect
import random
from dataclasses import dataclass

import orjson

from .hashing import hash_serialized
from .wire import PRICE_STRINGS, ltp_str, size_str

BUY, SELL = "BUY", "SELL"
BIDS, ASKS = 0, 1  # token-0 sides

# Cut-off for tick-size changes (README §3.4: tick_size_change near 0.04 / 0.96), with hysteresis.
_FINE_BELOW, _FINE_ABOVE = 40, 960
_COARSE_FROM, _COARSE_TO = 60, 940


@dataclass(slots=True)
class Change:
    """One level change in token-0 terms: ``side`` is BIDS or ASKS, ``size`` the new absolute size."""

    side: int
    price: int
    size: str


@dataclass(slots=True)
class Trade:
    token: int  # index of the traded token (0 or 1)
    taker_side: str  # BUY lifts that token's best ask, SELL hits its best bid
    price: int  # in the traded token's terms
    size: str
    change: Change  # the resulting level change in token-0 terms


def _size_table(mu: float, sigma: float, n: int = 1024) -> list[str]:
    # Pre-drawn sizes (fixed seed): indexing a table is ~10x cheaper than a lognormal draw per level.
    rng = random.Random(0x5EED + int(mu * 10))
    out = []
    for _ in range(n):
        centi = max(int(rng.lognormvariate(mu, sigma) * 100), 500)
        if rng.random() < 0.45:
            centi -= centi % 100  # many resting orders are whole shares
        out.append(size_str(centi))
    return out


_NEAR_SIZES = _size_table(4.6, 1.1)
_DEEP_SIZES = _size_table(7.2, 1.3)


def random_size(rng: random.Random, deep: bool = False) -> str:
    """Sizes like the captures: many round numbers, some with cents, big walls far from the touch."""
    return (_DEEP_SIZES if deep else _NEAR_SIZES)[rng.getrandbits(10)]


class Book:
    """Both tokens' books of one binary market."""

    __slots__ = (
        "_hash",
        "_json",
        "ask_px",
        "asks",
        "bid_px",
        "bids",
        "ltp",
        "market",
        "min_order_size",
        "neg_risk",
        "tick",
        "tokens",
        "ts",
    )

    def __init__(self, market: str, tokens: tuple[str, str], tick: int, neg_risk: bool, ts: int) -> None:
        self.market = market
        self.tokens = tokens
        self.tick = tick  # thousandths: 10 -> "0.01", 1 -> "0.001"
        self.neg_risk = neg_risk
        self.min_order_size = "5"
        self.bids: dict[int, str] = {}
        self.asks: dict[int, str] = {}
        self.bid_px: list[int] = []  # ascending
        self.ask_px: list[int] = []  # ascending
        self.ltp: int | None = None  # thousandths, per market
        self.ts = [ts, ts]  # last change per token (ms); the REST book's timestamp
        self._hash: list[str | None] = [None, None]
        # Compact side JSON cache: token0 bids, token0 asks, token1 bids, token1 asks.
        self._json: list[str | None] = [None, None, None, None]

    # ----------------------------------------------------------------- construction
    def populate(self, rng: random.Random, fair: float, depth: float,
                 touch: tuple[int | None, int | None] | None = None) -> None:
        """Fill a fresh ladder around ``fair`` (token-0 probability); ``depth`` in (0, 1] = liquidity.

        ``touch`` pins the best bid/ask (thousandths; None = empty side), e.g. from recorded Gamma
        ``bestBid``/``bestAsk`` when replaying.
        """
        tick = self.tick
        if touch is not None:
            best_bid = -1 if touch[0] is None else touch[0] - touch[0] % tick
            best_ask = 1001 if touch[1] is None else touch[1] + (-touch[1]) % tick
        else:
            mid = min(max(round(fair * 1000 / tick) * tick, tick), 1000 - tick)
            wide = 1 + int(6 * (1 - depth)) + 1
            spread_ticks = 1 if depth > 0.7 and rng.random() < 0.8 else rng.randint(1, wide)
            best_bid = mid - tick * (spread_ticks // 2)
            best_ask = best_bid + tick * spread_ticks
        coarse = max(tick, 10)
        p = best_bid
        while p >= tick:
            dist = best_bid - p
            near = dist <= 6 * tick
            if p == best_bid or (p == coarse and depth > 0.3) or rng.random() < (0.85 if near else 0.55) * depth:
                self.bids[p] = random_size(rng, deep=(p <= 30 or dist > 200))
            p -= tick if near else coarse
            if not near and tick == 1:
                p -= p % 10
        p = best_ask
        top = 1000 - coarse
        while p <= 1000 - tick:
            dist = p - best_ask
            near = dist <= 6 * tick
            if p == best_ask or (p == top and depth > 0.3) or rng.random() < (0.85 if near else 0.55) * depth:
                self.asks[p] = random_size(rng, deep=(p >= 970 or dist > 200))
            p += tick if near else coarse
            if not near and tick == 1 and p % 10:
                p += 10 - p % 10
        self.bid_px = sorted(self.bids)
        self.ask_px = sorted(self.asks)
        self._dirty()

    # ----------------------------------------------------------------- queries
    def best(self, token: int) -> tuple[int | None, int | None]:
        """Best bid and ask of a token in thousandths (None when that side is empty)."""
        bb = self.bid_px[-1] if self.bid_px else None
        ba = self.ask_px[0] if self.ask_px else None
        if token == 0:
            return bb, ba
        return (None if ba is None else 1000 - ba), (None if bb is None else 1000 - bb)

    def mid(self) -> float | None:
        """Token-0 midpoint as a probability (None for an empty book)."""
        bb, ba = self.best(0)
        if bb is None and ba is None:
            return None
        # An empty side counts as 0 (no bids) or 1 (no asks), like Gamma's outcomePrices.
        return ((bb or 0) + (1000 if ba is None else ba)) / 2000

    def levels(self, token: int) -> tuple[list[tuple[int, str]], list[tuple[int, str]]]:
        """(bids ascending, asks descending) as (price, size) for a token — the wire order."""
        if token == 0:
            bids = [(p, self.bids[p]) for p in self.bid_px]
            asks = [(p, self.asks[p]) for p in reversed(self.ask_px)]
        else:
            bids = [(1000 - p, self.asks[p]) for p in reversed(self.ask_px)]
            asks = [(1000 - p, self.bids[p]) for p in self.bid_px]
        return bids, asks

    def side_json(self, slot: int) -> str:
        """Compact JSON of one side: slot = 2*token + (0 bids | 1 asks)."""
        cached = self._json[slot]
        if cached is not None:
            return cached
        bids, asks = self.levels(slot // 2)
        rows = asks if slot % 2 else bids
        ps = PRICE_STRINGS
        text = "[" + ",".join(['{"price":"' + ps[p] + '","size":"' + s + '"}' for p, s in rows]) + "]"
        self._json[slot] = text
        return text

    def tick_str(self) -> str:
        return PRICE_STRINGS[self.tick]

    def ltp_text(self) -> str:
        return ltp_str(self.ltp)

    def hash(self, token: int) -> str:
        """Hash of the token's book as the REST ``/book`` would serve it now."""
        cached = self._hash[token]
        if cached is not None:
            return cached
        prefix = (
            f'{{"market":"{self.market}","asset_id":"{self.tokens[token]}",'
            f'"timestamp":"{self.ts[token]}","hash":"","bids":'
        )
        suffix = (
            f',"min_order_size":"{self.min_order_size}","tick_size":"{self.tick_str()}",'
            f'"neg_risk":{"true" if self.neg_risk else "false"},"last_trade_price":"{self.ltp_text()}"}}'
        )
        digest = hash_serialized(prefix, self.side_json(2 * token), self.side_json(2 * token + 1), suffix)
        self._hash[token] = digest
        return digest

    def rest_book(self, token: int) -> dict[str, object]:
        """The REST ``/book`` object (key order as captured)."""
        bids, asks = self.levels(token)
        ps = PRICE_STRINGS
        return {
            "market": self.market,
            "asset_id": self.tokens[token],
            "timestamp": str(self.ts[token]),
            "hash": self.hash(token),
            "bids": [{"price": ps[p], "size": s} for p, s in bids],
            "asks": [{"price": ps[p], "size": s} for p, s in asks],
            "min_order_size": self.min_order_size,
            "tick_size": self.tick_str(),
            "neg_risk": self.neg_risk,
            "last_trade_price": self.ltp_text(),
        }

    def dump_book(self, token: int) -> dict[str, object]:
        """An initial-dump ``book`` object (2026 shape: with tick_size and last_trade_price)."""
        rest = self.rest_book(token)
        return {
            "market": rest["market"],
            "asset_id": rest["asset_id"],
            "timestamp": rest["timestamp"],
            "hash": rest["hash"],
            "bids": rest["bids"],
            "asks": rest["asks"],
            "tick_size": rest["tick_size"],
            "event_type": "book",
            "last_trade_price": rest["last_trade_price"],
        }

    def snapshot_frame(self, token: int) -> bytes:
        """A post-trade ``book`` frame: no tick_size/last_trade_price, server's ``", "`` separators."""
        rest = self.rest_book(token)
        frame = {
            "market": rest["market"],
            "asset_id": rest["asset_id"],
            "bids": rest["bids"],
            "asks": rest["asks"],
            "hash": rest["hash"],
            "timestamp": rest["timestamp"],
            "event_type": "book",
        }
        # CLOB frames never contain a comma inside a string, so this only touches separators.
        return orjson.dumps(frame).replace(b",", b", ")

    # ----------------------------------------------------------------- mutation
    def _dirty(self) -> None:
        self._hash[0] = self._hash[1] = None
        self._json[0] = self._json[1] = self._json[2] = self._json[3] = None

    def apply(self, change: Change, ts: int) -> None:
        """Set a token-0 level to an absolute size (``"0"`` removes it)."""
        book, px = (self.bids, self.bid_px) if change.side == BIDS else (self.asks, self.ask_px)
        if change.size == "0":
            if change.price in book:
                del book[change.price]
                px.pop(bisect.bisect_left(px, change.price))
        else:
            if change.price not in book:
                bisect.insort(px, change.price)
            book[change.price] = change.size
        # Token-0 bids are token-1 asks: both tokens' books change, so both hashes and timestamps do.
        self._hash[0] = self._hash[1] = None
        if change.side == BIDS:
            self._json[0] = self._json[3] = None
        else:
            self._json[1] = self._json[2] = None
        self.ts[0] = self.ts[1] = ts

    def touch(self, ts: int) -> None:
        """A change that alters no level (trade price, tick size) still moves timestamp and hash."""
        self.ts[0] = self.ts[1] = ts
        self._hash[0] = self._hash[1] = None

    # ----------------------------------------------------------------- random walk
    def propose(self, rng: random.Random, target: int) -> Change:
        """Next order-book event: resize, improve, cancel or add a level, drifting toward ``target``."""
        tick = self.tick
        bb, ba = self.best(0)
        lo = bb if bb is not None else (ba - 2 * tick if ba is not None else 500)
        hi = ba if ba is not None else lo + 2 * tick
        mid = (lo + hi) / 2
        up = target > mid + tick
        down = target < mid - tick
        r = rng.random()
        if r < 0.20 and hi - lo > tick:
            # Improve the touch inside the spread, preferring the side that moves toward the target.
            side = BIDS if (up or (not down and rng.random() < 0.5)) else ASKS
            gap = (hi - lo) // tick - 1
            steps = 1 + (rng.randrange(gap) if gap > 1 and (up or down) else 0)
            price = lo + steps * tick if side == BIDS else hi - steps * tick
            price = min(max(price, tick), 1000 - tick)
            if (side == BIDS and (ba is None or price < ba)) or (side == ASKS and (bb is None or price > bb)):
                return Change(side, price, random_size(rng))
        if r < 0.42:
            # Cancel the touch (moves it away), on the side that lets the price drift toward target.
            side = ASKS if up else BIDS if down else (BIDS if rng.random() < 0.5 else ASKS)
            px = self.bid_px if side == BIDS else self.ask_px
            if len(px) > 2:
                price = px[-1] if side == BIDS else px[0]
                return Change(side, price, "0")
        if r > 0.88:
            return self._deep_change(rng)
        return self._resize_near_touch(rng)

    def _resize_near_touch(self, rng: random.Random) -> Change:
        side = BIDS if rng.random() < 0.5 else ASKS
        px = self.bid_px if side == BIDS else self.ask_px
        if not px:
            side = ASKS if side == BIDS else BIDS
            px = self.bid_px if side == BIDS else self.ask_px
        if not px:
            return Change(BIDS, 500 - 500 % self.tick, random_size(rng))
        k = min(len(px), 6)
        idx = int(rng.random() ** 2 * k)
        price = px[-1 - idx] if side == BIDS else px[idx]
        current = (self.bids if side == BIDS else self.asks)[price]
        size = random_size(rng)
        if size == current:
            size = size_str(round(float(size) * 100) + 100)
        return Change(side, price, size)

    def _deep_change(self, rng: random.Random) -> Change:
        tick = max(self.tick, 10)
        bb, ba = self.best(0)
        side = BIDS if rng.random() < 0.5 else ASKS
        if side == BIDS:
            top = (bb if bb is not None else (ba if ba is not None else 500)) - tick
            if top < tick:
                return self._resize_near_touch(rng)
            price = rng.randrange(tick, top + 1, tick)
            if price in self.bids and rng.random() < 0.3 and len(self.bid_px) > 2:
                return Change(BIDS, price, "0")
            return Change(BIDS, price, random_size(rng, deep=True))
        bottom = (ba if ba is not None else (bb if bb is not None else 500)) + tick
        bottom += (-bottom) % tick
        if bottom > 1000 - tick:
            return self._resize_near_touch(rng)
        price = rng.randrange(bottom, 1000 - tick + 1, tick)
        if price in self.asks and rng.random() < 0.3 and len(self.ask_px) > 2:
            return Change(ASKS, price, "0")
        return Change(ASKS, price, random_size(rng, deep=True))

    def propose_trade(self, rng: random.Random, target: int) -> Trade | None:
        """A taker order against the touch, biased toward ``target``; None if the side is empty."""
        bb, ba = self.best(0)
        mid = ((bb or 0) + (ba or 1000)) / 2
        lift = target > mid if abs(target - mid) > self.tick else rng.random() < 0.5
        # Lifting token 0's ask is the same match as hitting token 1's bid; report it on either token.
        token = 0 if rng.random() < 0.6 else 1
        if lift:
            if ba is None or len(self.ask_px) < 2:
                return None
            level = self.asks[ba]
            change_side, price0 = ASKS, ba
        else:
            if bb is None or len(self.bid_px) < 2:
                return None
            level = self.bids[bb]
            change_side, price0 = BIDS, bb
        have = round(float(level) * 100)
        take = have if rng.random() < 0.35 else max(100, int(have * rng.uniform(0.05, 0.9)))
        take = min(take, have)
        remaining = "0" if take >= have else size_str(have - take)
        if token == 0:
            taker_side, price = (BUY if lift else SELL), price0
        else:
            taker_side, price = (SELL if lift else BUY), 1000 - price0
        return Trade(token, taker_side, price, size_str(take), Change(change_side, price0, remaining))

    # ----------------------------------------------------------------- tick size
    def tick_transition(self) -> tuple[int, int] | None:
        """(old, new) tick if the price crossed the 0.04/0.96 boundaries, else None."""
        m = self.mid()
        if m is None:
            return None
        milli = m * 1000
        if self.tick == 10 and (milli < _FINE_BELOW or milli > _FINE_ABOVE):
            return 10, 1
        if self.tick == 1 and _COARSE_FROM <= milli <= _COARSE_TO:
            return 1, 10
        return None

    def set_tick(self, new_tick: int, ts: int) -> None:
        """Switch tick size; going coarse snaps off-grid levels onto the grid (clients get a snapshot)."""
        if new_tick > self.tick:
            self.bids = _snap(self.bids, new_tick, down=True)
            self.asks = _snap(self.asks, new_tick, down=False)
            bb = max(self.bids) if self.bids else None
            self.asks = {p: s for p, s in self.asks.items() if bb is None or p > bb}
            self.bid_px = sorted(self.bids)
            self.ask_px = sorted(self.asks)
        self.tick = new_tick
        self._dirty()
        self.ts[0] = self.ts[1] = ts


def _snap(levels: dict[int, str], tick: int, down: bool) -> dict[int, str]:
    out: dict[int, int] = {}
    for price, size in levels.items():
        snapped = price - price % tick if down else price + (-price) % tick
        if tick <= snapped <= 1000 - tick:
            out[snapped] = out.get(snapped, 0) + round(float(size) * 100)
    return {p: size_str(c) for p, c in out.items()}


# --------------------------------------------------------------------- frames (hot path)
_ENTRY = (
    '{{"asset_id":"{0}", "price":"{1}", "size":"{2}", "side":"{3}", "hash":"{4}", '
    '"best_bid":"{5}", "best_ask":"{6}"}}'
)


def price_change_frame(book: Book, change: Change, origin: int, ts: int) -> bytes:
    """A ``price_change`` with the mirrored pair; ``origin`` is the token whose entry comes first.

    Formatted like the server's later frames: ``", "`` after commas, none after colons.
    """
    ps = PRICE_STRINGS
    entries = []
    for token in (origin, 1 - origin):
        if token == 0:
            price, side = change.price, (BUY if change.side == BIDS else SELL)
        else:
            price, side = 1000 - change.price, (SELL if change.side == BIDS else BUY)
        bb, ba = book.best(token)
        entries.append(
            _ENTRY.format(
                book.tokens[token],
                ps[price],
                change.size,
                side,
                book.hash(token),
                "" if bb is None else ps[bb],
                "" if ba is None else ps[ba],
            )
        )
    return (
        f'{{"market":"{book.market}", "price_changes":[{entries[0]}, {entries[1]}], '
        f'"timestamp":"{ts}", "event_type":"price_change"}}'
    ).encode()


def last_trade_frame(book: Book, trade: Trade, ts: int, tx_hash: str) -> bytes:
    return (
        f'{{"asset_id":"{book.tokens[trade.token]}", "event_type":"last_trade_price", "fee_rate_bps":"0", '
        f'"market":"{book.market}", "price":"{PRICE_STRINGS[trade.price]}", "side":"{trade.taker_side}", '
        f'"size":"{trade.size}", "timestamp":"{ts}", "transaction_hash":"{tx_hash}"}}'
    ).encode()


def tick_size_frame(book: Book, token: int, old: int, new: int, ts: int) -> bytes:
    return (
        f'{{"event_type":"tick_size_change", "asset_id":"{book.tokens[token]}", "market":"{book.market}", '
        f'"old_tick_size":"{PRICE_STRINGS[old]}", "new_tick_size":"{PRICE_STRINGS[new]}", "timestamp":"{ts}"}}'
    ).encode()


def best_bid_ask_frame(book: Book, token: int, ts: int) -> bytes:
    """Custom-feature ``best_bid_ask`` (sent only to sockets with ``custom_feature_enabled``)."""
    bb, ba = book.best(token)
    spread = "" if bb is None or ba is None else PRICE_STRINGS[ba - bb]
    return (
        f'{{"event_type":"best_bid_ask", "market":"{book.market}", "asset_id":"{book.tokens[token]}", '
        f'"best_bid":"{"" if bb is None else PRICE_STRINGS[bb]}", '
        f'"best_ask":"{"" if ba is None else PRICE_STRINGS[ba]}", "spread":"{spread}", "timestamp":"{ts}"}}'
    ).encode()
