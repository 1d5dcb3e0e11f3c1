"""Latest token prices: a Redis hash written (fenced) by the stream worker, read by everyone else."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypedDict

import orjson

from core.redis import redis_key, redis_sync


class TokenPrice(TypedDict):
    bid: float | None
    ask: float | None
    mid: float | None
    last: float | None
    ts: int  # ms since epoch of the upstream frame


def price_mid(bid: float | None, ask: float | None, last: float | None = None) -> float | None:
    """The displayed price: the mid of a real two-sided book, else the one side there is, else last trade.

    A one-sided or crossed book (ask >= 1 or bid <= 0) would give a misleading mid.
    """
    if bid is not None and ask is not None and bid > 0 and 0 < ask < 1:
        return round((bid + ask) / 2, 6)
    if bid is not None and bid > 0:
        return bid
    if ask is not None and 0 < ask < 1:
        return ask
    return last


def prices_key() -> str:
    return redis_key("prices")


def _decode(raw: bytes | None) -> TokenPrice | None:
    if not raw:
        return None
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None


def prices_read(token_ids: Iterable[str]) -> dict[str, TokenPrice]:
    tokens = list(dict.fromkeys(token_ids))
    if not tokens:
        return {}
    values = redis_sync().hmget(prices_key(), tokens)
    found = {token: _decode(raw) for token, raw in zip(tokens, values, strict=True)}
    return {token: price for token, price in found.items() if price is not None}


def prices_read_all() -> dict[str, TokenPrice]:
    raw = redis_sync().hgetall(prices_key())
    decoded = {key.decode(): _decode(value) for key, value in raw.items()}
    return {token: price for token, price in decoded.items() if price is not None}
