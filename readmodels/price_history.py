"""Price history of a token (original §3.5): our PricePoint rows when they cover the window, else the
upstream CLOB `/prices-history`, cached in Redis and fetched once cluster-wide (Redis singleflight)
and once per process (shared asyncio task). Upstream failure falls back to whatever we stored.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import re
import time
from collections.abc import Mapping
from typing import TypedDict

import httpx
import orjson
from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import close_old_connections
from redis.exceptions import LockError, RedisError

from core.redis import redis_async, redis_key
from core.tls import tls_context
from markets.models import PricePoint

log = logging.getLogger(__name__)

INTERVALS: dict[str, dt.timedelta | None] = {
    "1h": dt.timedelta(hours=1),
    "6h": dt.timedelta(hours=6),
    "1d": dt.timedelta(days=1),
    "1w": dt.timedelta(days=7),
    "1m": dt.timedelta(days=30),
    "max": None,
}
MIN_FIDELITY = {"1h": 1, "6h": 1, "1d": 1, "1w": 5, "1m": 60, "max": 60}
MIN_DB_POINTS = {"1h": 6, "6h": 36}  # else 144 (the original's coverage rule)
CACHE_TTL_S = {"1h": 30, "6h": 60, "1d": 120, "1w": 300, "1m": 600, "max": 600}
MAX_FIDELITY = 43_200  # 30 days in minutes
MAX_BATCH = 50
FALLBACK_POINTS = 5_000
INTERVAL_ERROR = "interval must be one of: 1h, 6h, 1d, 1w, 1m, max"
FIDELITY_ERROR = "fidelity must be a positive integer"
TOKEN_PATTERN = r"^[0-9]{1,100}$"
FIDELITY_PATTERN = r"^[0-9]{1,9}$"
_TOKEN = re.compile(TOKEN_PATTERN)
_FIDELITY = re.compile(FIDELITY_PATTERN)


class PriceHistoryParamError(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


class HistoryPoint(TypedDict):
    timestamp: int  # unix seconds
    price: float  # 0-1


class PriceHistory(TypedDict):
    history: list[HistoryPoint]
    source: str  # db | upstream | fallback
    cached: bool  # True when upstream failed and stored points were served instead


def token_validate(token_id: str) -> str:
    if not _TOKEN.match(token_id):
        raise PriceHistoryParamError("tokenId", "tokenId must be a CLOB token id (decimal digits)")
    return token_id


def interval_validate(interval: str | None) -> str:
    if interval not in INTERVALS:
        raise PriceHistoryParamError("interval", INTERVAL_ERROR)
    return interval


def fidelity_resolve(interval: str, fidelity: str | int | None) -> int:
    """The effective fidelity (minutes): at least the interval's minimum, which is also the default."""
    if fidelity is None or fidelity == "":
        return MIN_FIDELITY[interval]
    text = str(fidelity)
    if not _FIDELITY.match(text) or not 0 < int(text) <= MAX_FIDELITY:
        raise PriceHistoryParamError("fidelity", FIDELITY_ERROR)
    return max(int(text), MIN_FIDELITY[interval])


# --- Our stored points -------------------------------------------------------------------------------


def _downsample(rows: list[tuple[dt.datetime, float]], fidelity: int) -> list[HistoryPoint]:
    """The last point of every `fidelity`-minute bucket, oldest first."""
    step = fidelity * 60
    buckets: dict[int, HistoryPoint] = {}
    for minute, price in rows:
        ts = int(minute.timestamp())
        buckets[ts // step] = {"timestamp": ts, "price": float(price)}
    return [buckets[k] for k in sorted(buckets)]


def price_history_from_db(token_id: str, interval: str, fidelity: int, now: dt.datetime) -> list[HistoryPoint] | None:
    """Stored points when they cover the window (enough points, starting near its start), else None."""
    window = INTERVALS[interval]
    if window is None:
        return None
    start = now - window
    in_window = PricePoint.objects.filter(token_id=token_id, minute__gte=start)
    rows = list(in_window.order_by("minute").values_list("minute", "price"))
    if len(rows) < MIN_DB_POINTS.get(interval, 144) or rows[0][0] > start + window / 10:
        return None
    return _downsample([(m, float(p)) for m, p in rows], fidelity)


def price_history_stored(token_id: str) -> list[HistoryPoint]:
    newest = PricePoint.objects.filter(token_id=token_id).order_by("-minute")
    rows = list(newest.values_list("minute", "price")[:FALLBACK_POINTS])
    return [{"timestamp": int(m.timestamp()), "price": float(p)} for m, p in reversed(rows)]


def _db_in_thread(token_id: str, interval: str, fidelity: int) -> list[HistoryPoint] | None:
    close_old_connections()
    try:
        return price_history_from_db(token_id, interval, fidelity, dt.datetime.now(dt.UTC))
    finally:
        close_old_connections()


def _stored_in_thread(token_id: str) -> list[HistoryPoint]:
    close_old_connections()
    try:
        return price_history_stored(token_id)
    finally:
        close_old_connections()


# --- Upstream ------------------------------------------------------------------------------------------


class UpstreamHistoryError(Exception):
    pass


def upstream_history_parse(payload: object) -> list[HistoryPoint]:
    """`{"history": [{"t": seconds, "p": 0..1}]}`; malformed points are dropped, a wrong shape raises."""
    if not isinstance(payload, dict) or not isinstance(payload.get("history"), list):
        raise UpstreamHistoryError("prices-history: expected {history: [...]}")
    points: dict[int, HistoryPoint] = {}
    for item in payload["history"]:
        if not isinstance(item, dict):
            continue
        t, p = item.get("t"), item.get("p")
        if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in (t, p)):
            continue
        if not 0 <= p <= 1 or t <= 0:
            continue
        points[int(t)] = {"timestamp": int(t), "price": float(p)}
    return [points[t] for t in sorted(points)]


async def price_history_fetch(token_id: str, interval: str, fidelity: int) -> list[HistoryPoint]:
    url = f"{settings.CLOB_URL}/prices-history"
    params = {"market": token_id, "interval": interval, "fidelity": str(fidelity)}
    try:
        async with httpx.AsyncClient(timeout=settings.UPSTREAM_TIMEOUT_S, verify=tls_context()) as client:
            response = await client.get(url, params=params, headers={"Accept": "application/json"})
    except httpx.HTTPError as exc:
        raise UpstreamHistoryError(f"prices-history: {type(exc).__name__}") from exc
    if response.status_code != 200:
        raise UpstreamHistoryError(f"prices-history: HTTP {response.status_code}")
    try:
        payload = orjson.loads(response.content)
    except orjson.JSONDecodeError as exc:
        raise UpstreamHistoryError("prices-history: invalid JSON") from exc
    return upstream_history_parse(payload)


# --- Cache + singleflight ----------------------------------------------------------------------------

LOCK_S = 20.0
_inflight: dict[tuple[int, str, str, int], asyncio.Task[PriceHistory]] = {}


def upstream_calls_key() -> str:
    return redis_key("pricehistory", "upstream_calls")


async def _upstream_shared(token_id: str, interval: str, fidelity: int) -> list[HistoryPoint]:
    """The upstream answer from the Redis cache, else fetched by one process while others wait."""
    client = redis_async()
    cache = redis_key("pricehistory", token_id, interval, fidelity)
    lock = client.lock(f"{cache}:lock", timeout=LOCK_S, blocking=False)
    deadline = time.monotonic() + settings.UPSTREAM_TIMEOUT_S + 2
    while True:
        raw = await client.get(cache)
        if raw is not None:
            return orjson.loads(raw)
        if await lock.acquire():
            try:
                await client.incr(upstream_calls_key())
                history = await price_history_fetch(token_id, interval, fidelity)
                await client.set(cache, orjson.dumps(history), ex=CACHE_TTL_S[interval])
                return history
            finally:
                with contextlib.suppress(LockError):  # expired meanwhile: someone else may hold it now
                    await lock.release()
        if time.monotonic() > deadline:
            raise UpstreamHistoryError("prices-history: timed out waiting for another fetch")
        await asyncio.sleep(0.05)


async def _resolve(token_id: str, interval: str, fidelity: int) -> PriceHistory:
    from_db = await sync_to_async(_db_in_thread, thread_sensitive=True)(token_id, interval, fidelity)
    if from_db is not None:
        return {"history": from_db, "source": "db", "cached": False}
    try:
        return {"history": await _upstream_shared(token_id, interval, fidelity), "source": "upstream", "cached": False}
    except (UpstreamHistoryError, RedisError) as exc:
        log.warning("price history for %s…: %s; serving stored points", token_id[:12], exc)
    stored = await sync_to_async(_stored_in_thread, thread_sensitive=True)(token_id)
    return {"history": stored, "source": "fallback", "cached": True}


async def price_history_get(token_id: str, interval: str, fidelity: int) -> PriceHistory:
    """One resolution per (token, interval, fidelity) at a time in this process."""
    key = (id(asyncio.get_running_loop()), token_id, interval, fidelity)
    task = _inflight.get(key)
    if task is None:
        task = asyncio.get_running_loop().create_task(_resolve(token_id, interval, fidelity))
        _inflight[key] = task
        task.add_done_callback(lambda _: _inflight.pop(key, None))
    return await asyncio.shield(task)


async def price_histories_get(token_ids: list[str], interval: str, fidelity: int) -> Mapping[str, PriceHistory]:
    unique = list(dict.fromkeys(token_ids))
    results = await asyncio.gather(*(price_history_get(t, interval, fidelity) for t in unique))
    return dict(zip(unique, results, strict=True))
