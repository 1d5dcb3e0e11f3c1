"""Order-book hash exactly as the CLOB computes it (upstream README §3.7).

``hash`` = SHA-1 hex of the compact JSON of the REST ``/book`` object with ``hash`` set to ``""``,
keys in the order market, asset_id, timestamp, hash, bids, asks, min_order_size, tick_size,
neg_risk, last_trade_price. WebSocket frames hash the same object with the frame's timestamp.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence

import orjson

DEFAULT_MIN_ORDER_SIZE = "5"
DEFAULT_TICK_SIZE = "0.01"


def book_hash(book: Mapping[str, object]) -> str:
    """Hash a REST ``/book`` or WebSocket ``book`` object.

    Missing ``min_order_size``/``tick_size``/``neg_risk``/``last_trade_price`` (WebSocket frames
    omit some of them) default to ``"5"``, ``"0.01"``, ``false`` and ``""``; an integer
    ``timestamp`` (re-serialised captures) is turned back into the string the server hashed.
    """
    canonical = {
        "market": book["market"],
        "asset_id": book["asset_id"],
        "timestamp": str(book["timestamp"]),
        "hash": "",
        "bids": [{"price": lvl["price"], "size": lvl["size"]} for lvl in _levels(book.get("bids"))],
        "asks": [{"price": lvl["price"], "size": lvl["size"]} for lvl in _levels(book.get("asks"))],
        "min_order_size": book.get("min_order_size", DEFAULT_MIN_ORDER_SIZE),
        "tick_size": book.get("tick_size", DEFAULT_TICK_SIZE),
        "neg_risk": book.get("neg_risk", False),
        "last_trade_price": book.get("last_trade_price", ""),
    }
    return hashlib.sha1(orjson.dumps(canonical)).hexdigest()


def _levels(value: object) -> Sequence[Mapping[str, str]]:
    if not value:
        return []
    if not isinstance(value, Sequence):
        raise TypeError("book sides must be lists of {price, size}")
    return [lvl for lvl in value if isinstance(lvl, Mapping)]


def hash_serialized(prefix: str, bids_json: str, asks_json: str, suffix: str) -> str:
    """Fast path used by the book store: the same bytes as :func:`book_hash`, built from cached parts.

    ``prefix`` is ``{"market":..,"asset_id":..,"timestamp":"..","hash":"","bids":`` and ``suffix``
    is ``,"min_order_size":..,"tick_size":..,"neg_risk":..,"last_trade_price":..}``.
    """
    data = f'{prefix}{bids_json},"asks":{asks_json}{suffix}'
    return hashlib.sha1(data.encode()).hexdigest()


def apply_price_change(book: Mapping[str, object], entry: Mapping[str, str]) -> dict[str, object]:
    """Apply one ``price_change`` entry (absolute size, ``"0"`` deletes) to a book dict copy.

    Keeps the wire ordering (bids ascending, asks descending) so the result hashes like the server's.
    """
    side = "bids" if entry["side"] == "BUY" else "asks"
    levels = {lvl["price"]: lvl["size"] for lvl in _levels(book.get(side))}
    if _is_zero(entry["size"]):
        levels.pop(entry["price"], None)
    else:
        levels[entry["price"]] = entry["size"]
    ordered = sorted(levels.items(), key=lambda kv: float(kv[0]), reverse=(side == "asks"))
    out = dict(book)
    out[side] = [{"price": price, "size": size} for price, size in ordered]
    return out


def _is_zero(size: str) -> bool:
    return float(size) == 0.0
