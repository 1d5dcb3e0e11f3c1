"""The stream's prices: each coalescing window's newest quotes to Redis (fenced) and to clients; in batches,
Outcome quotes, one PricePoint per token per minute and GameProbability snapshots in one transaction fenced in
PostgreSQL (markets.fences); plus history retention."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping, Sequence
from datetime import timedelta

import orjson
from django.db import connection, transaction
from django.utils import timezone

from actions.announce import Publish, events_announce_async
from core import metrics
from core.lease import Fence, fenced_hset_async
from core.publish import GameEvent
from games.models import GameProbability
from games.rules import probabilities_from_prices
from markets.fences import fence_pg_assert
from markets.models import Outcome, PricePoint
from markets.prices import TokenPrice, prices_key
from readmodels.gameviews import GameView

CHUNK = 2000
log = logging.getLogger(__name__)


async def do_write_prices(
    fence: Fence, changed: Mapping[str, TokenPrice], events: Sequence[GameEvent], publish: Publish
) -> bool:
    """One window's newest prices: the Redis hash (fenced; a failure raises, and the caller retries those tokens
    next window), then `price_update` events and the listing. Returns whether the events went out: publishing
    is best effort, as the prices are in Redis already (a stale fence still raises)."""
    await fenced_hset_async(fence, prices_key(), {t: orjson.dumps(p) for t, p in changed.items()})
    metrics.PRICES_WRITTEN.inc(len(changed))
    return await events_announce_async(events, fence=fence, publish=publish)


def _ts(ms: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC)


def _minute(moment: dt.datetime) -> dt.datetime:
    return moment.replace(second=0, microsecond=0)


def _outcomes_update(prices: Mapping[str, TokenPrice]) -> int:
    """Latest prices onto Outcome rows: one UPDATE ... FROM (VALUES ...) per chunk."""
    table = Outcome._meta.db_table
    items = sorted(prices.items())  # stable lock order
    updated = 0
    with connection.cursor() as cursor:
        for start in range(0, len(items), CHUNK):
            chunk = items[start : start + CHUNK]
            rows = ", ".join(["(%s, %s::numeric, %s::numeric, %s::numeric, %s::numeric, %s::timestamptz)"] * len(chunk))
            params: list[object] = []
            for token, p in chunk:
                params += [token, p["bid"], p["ask"], p["last"], p["mid"], _ts(p["ts"]) if p["ts"] > 0 else None]
            cursor.execute(
                f"UPDATE {table} AS o SET best_bid = v.bid, best_ask = v.ask, last_trade = v.last, "
                "price = COALESCE(v.mid, o.price), price_updated_at = COALESCE(v.ts, now()) "
                f"FROM (VALUES {rows}) AS v(token_id, bid, ask, last, mid, ts) WHERE o.token_id = v.token_id",
                params,
            )
            updated += cursor.rowcount
    return updated


def _price_points_upsert(points: Sequence[tuple[str, dt.datetime, float]]) -> None:
    if not points:
        return
    table = PricePoint._meta.db_table
    with connection.cursor() as cursor:
        for start in range(0, len(points), CHUNK):
            chunk = points[start : start + CHUNK]
            rows = ", ".join(["(%s, %s, %s)"] * len(chunk))
            cursor.execute(
                f"INSERT INTO {table} (token_id, minute, price) VALUES {rows} "
                "ON CONFLICT (token_id, minute) DO UPDATE SET price = EXCLUDED.price",
                [value for point in chunk for value in point],
            )


def _probabilities_upsert(snapshots: Sequence[tuple[int, dt.datetime, float, float, float | None]]) -> None:
    """At most one row per game per minute: update that minute's row, else insert it."""
    if not snapshots:
        return
    table = GameProbability._meta.db_table
    rows = ", ".join(["(%s::bigint, %s::timestamptz, %s::float8, %s::float8, %s::float8)"] * len(snapshots))
    params = [value for snap in snapshots for value in snap]
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH v(game_id, minute, home, away, draw) AS (VALUES {rows}), "
            f"upd AS (UPDATE {table} AS p SET home = v.home, away = v.away, draw = v.draw FROM v "
            "WHERE p.game_id = v.game_id AND p.recorded_at = v.minute RETURNING p.game_id) "
            f"INSERT INTO {table} (game_id, recorded_at, home, away, draw) "
            "SELECT v.game_id, v.minute, v.home, v.away, v.draw FROM v "
            "WHERE v.game_id NOT IN (SELECT game_id FROM upd)",
            params,
        )


def _mid(prices: Mapping[str, TokenPrice], token: str | None) -> float | None:
    if token is None:
        return None
    price = prices.get(token)
    return None if price is None else price["mid"]


def game_probability_snapshot(
    view: GameView, prices: Mapping[str, TokenPrice]
) -> tuple[float, float, float | None] | None:
    """Home/away(/draw) probabilities (0-100) of a game from its moneyline tokens' live mids."""
    roles = view.moneyline
    home = _mid(prices, roles.home.token_id if roles.home else None)
    away = _mid(prices, roles.away.token_id if roles.away else None)
    draw = _mid(prices, roles.draw.token_id if roles.draw else None) if roles.draw else None
    if roles.draw is not None and draw is None:
        return None
    return probabilities_from_prices(home, away, draw)


def do_persist_stream_prices(
    fence: Fence,
    changed: Mapping[str, TokenPrice],
    live_tokens: set[str],
    games: Sequence[GameView],
    all_prices: Mapping[str, TokenPrice],
    now: dt.datetime | None = None,
) -> int:
    """One fenced transaction: Outcome prices, per-minute PricePoints of live tokens, GameProbability.

    Raises StaleFenceError (nothing written) when the writer's token is no longer current.
    """
    now = now or timezone.now()
    minute = _minute(now)
    points = [
        (token, minute, price["mid"])
        for token, price in sorted(changed.items())
        if token in live_tokens and price["mid"] is not None
    ]
    snapshots = []
    for view in sorted(games, key=lambda v: v.pk):
        probabilities = game_probability_snapshot(view, all_prices)
        if probabilities is not None:
            snapshots.append((view.pk, minute, *probabilities))
    with transaction.atomic():
        fence_pg_assert(fence)
        updated = _outcomes_update(changed)
        _price_points_upsert(points)
        _probabilities_upsert(snapshots)
    return updated


def price_history_prune(days: int, now: dt.datetime | None = None) -> tuple[int, int]:
    """Delete PricePoints and GameProbability snapshots older than `days`; returns the counts."""
    cutoff = (now or timezone.now()) - timedelta(days=days)
    points, _ = PricePoint.objects.filter(minute__lt=cutoff).delete()
    snapshots, _ = GameProbability.objects.filter(recorded_at__lt=cutoff).delete()
    return points, snapshots
