"""Live scores from the sports WebSocket: apply frames to games, persist in small batches, publish.

No subscription is sent (the server broadcasts every game). Text `ping`/`PING` get `pong`/`PONG`;
protocol pings are answered by `websockets`. Frames are full-state snapshots, applied idempotently:
a duplicate changes nothing and writes nothing. Games are found by Gamma `gameId` in an in-memory
index loaded from PostgreSQL (refreshed periodically and on an unknown id, never a scan per frame).
Changes are flushed every LIVE_SCORES_FLUSH_MS with one `UPDATE … FROM (VALUES …)` and published as
`game_update` events. With a fence, a writer that lost its lease stops (StaleFenceError): the UPDATE
is fenced in PostgreSQL and the publish in Redis.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import random
import time
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import orjson
import websockets
from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import DatabaseError, close_old_connections, connection, transaction
from django.utils import timezone

from games import rules
from games.models import Game
from mevu import metrics
from realtime.errors import StaleFenceError
from realtime.publish import Fence

log = logging.getLogger(__name__)

INDEX_REFRESH_S = 30.0
MISS_REFRESH_MIN_S = 5.0
INDEX_LOOKBACK = timedelta(days=3)
MAX_BACKOFF_S = 30.0
HEADERS = {"Origin": "https://polymarket.com", "User-Agent": "Mozilla/5.0 (compatible; mevu)"}


@dataclasses.dataclass
class LiveGame:
    """The live state of one game as the socket last reported it (plus what matching needs)."""

    pk: int
    gamma_id: str
    ordering: str
    kickoff: datetime | None
    home_labels: frozenset[str]
    away_labels: frozenset[str]
    score_raw: str
    home_score: int | None
    away_score: int | None
    period: str
    elapsed: str
    live: bool
    ended: bool
    status: str
    period_scores: dict[str, Any]

    def persisted(self) -> tuple[Any, ...]:
        return (self.score_raw, self.home_score, self.away_score, self.period, self.elapsed, self.live,
                self.ended, self.status, self.period_scores)


def _labels(*values: object) -> frozenset[str]:
    # Socket frames may carry any JSON type here; only strings are labels.
    return frozenset(v.strip().lower() for v in values if isinstance(v, str) and v.strip())


def live_index_load(now: datetime | None = None) -> dict[int, LiveGame]:
    """Games with a sports-socket gameId that can still change (one indexed query)."""
    now = now or timezone.now()
    rows = (
        Game.objects.filter(game_id__isnull=False, kickoff__gte=now - INDEX_LOOKBACK)
        .exclude(status__in=[Game.Status.FINAL, Game.Status.CANCELED], score_updated_at__lt=now - timedelta(hours=6))
        .values_list(
            "pk", "gamma_id", "game_id", "league__ordering", "kickoff", "home_team__abbreviation",
            "home_team__name", "home_name", "away_team__abbreviation", "away_team__name", "away_name",
            "score_raw", "home_score", "away_score", "period", "elapsed", "live", "ended", "status",
            "period_scores",
        )
    )
    index: dict[int, LiveGame] = {}
    for (pk, gamma_id, game_id, ordering, kickoff, h_abbr, h_name, h_fallback, a_abbr, a_name, a_fallback,
         score_raw, home_score, away_score, period, elapsed, live, ended, status, period_scores) in rows:
        index[game_id] = LiveGame(
            pk, gamma_id, ordering, kickoff, _labels(h_abbr, h_name, h_fallback), _labels(a_abbr, a_name, a_fallback),
            score_raw, home_score, away_score, period, elapsed, live, ended, status, dict(period_scores or {}),
        )
    return index


def live_frame_apply(game: LiveGame, frame: Mapping[str, Any], now: datetime) -> LiveGame | None:
    """The game's new state after a frame, or None when the frame changes nothing."""
    score_raw = frame.get("score") if isinstance(frame.get("score"), str) else game.score_raw
    score = rules.score_parse(score_raw)
    home_score, away_score = rules.orient(score.first, score.second, game.ordering) if score else (None, None)
    period = frame["period"].strip()[:30] if isinstance(frame.get("period"), str) else game.period
    elapsed = frame["elapsed"].strip()[:30] if isinstance(frame.get("elapsed"), str) else game.elapsed
    live = rules.bool_or(frame.get("live"), game.live)
    ended = rules.bool_or(frame.get("ended"), game.ended)
    feed_status = frame.get("status") if isinstance(frame.get("status"), str) else ""
    status = rules.game_status(period=period, live=live, ended=ended, kickoff=game.kickoff, now=now,
                               feed_status=feed_status)
    period_scores = rules.period_scores_update(
        game.period_scores, previous_period=game.period, previous_score=(game.home_score, game.away_score),
        period=period, score=(home_score, away_score),
    )
    new = dataclasses.replace(
        game, score_raw=score_raw[:80], home_score=home_score, away_score=away_score, period=period,
        elapsed=elapsed, live=status == "live", ended=ended or status in ("final", "canceled"),
        status=status, period_scores=period_scores,
    )
    return None if new.persisted() == game.persisted() else new


def orientation_check(game: LiveGame, frame: Mapping[str, Any]) -> str:
    """Compare the socket's homeTeam/awayTeam with our orientation: same | swapped | unknown."""
    home, away = _labels(frame.get("homeTeam")), _labels(frame.get("awayTeam"))  # type: ignore[arg-type]
    if not home or not away:
        return "unknown"
    if home & game.home_labels and away & game.away_labels:
        return "same"
    if home & game.away_labels and away & game.home_labels:
        return "swapped"
    return "unknown"


_UPDATE_SQL = """
UPDATE {table} AS g SET score_raw = v.score_raw, home_score = v.home_score, away_score = v.away_score,
  period = v.period, elapsed = v.elapsed, live = v.live, ended = v.ended, status = v.status,
  period_scores = v.period_scores, score_updated_at = now(), updated_at = now()
FROM (VALUES {rows}) AS v(id, score_raw, home_score, away_score, period, elapsed, live, ended, status, period_scores)
WHERE g.id = v.id
"""
_ROW = "(%s::bigint, %s::text, %s::int, %s::int, %s::text, %s::text, %s::bool, %s::bool, %s::text, %s::jsonb)"


def live_games_persist(games: list[LiveGame], fence: Fence | None = None) -> int:
    """One UPDATE for the whole batch, rows in id order (no lock-order deadlocks with other writers).

    With a fence, the transaction first locks the lease's PostgreSQL fence row and requires our token
    (markets.stream.persist.fence_pg_assert), so a holder that lost the lease can never commit.
    """
    if not games:
        return 0
    games = sorted(games, key=lambda g: g.pk)
    params: list[Any] = []
    for game in games:
        params.extend([game.pk, *game.persisted()[:-1], orjson.dumps(game.period_scores).decode()])
    sql = _UPDATE_SQL.format(table=Game._meta.db_table, rows=", ".join([_ROW] * len(games)))
    with transaction.atomic():
        if fence is not None:
            from markets.stream.persist import fence_pg_assert

            fence_pg_assert(fence)
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.rowcount


def _in_worker_thread(func: Any) -> Any:
    """Run ORM work from the event loop; drop a connection the database closed meanwhile (long-lived worker)."""

    def run(*args: Any) -> Any:
        close_old_connections()
        return func(*args)

    return sync_to_async(run)


def _game_events_build(gamma_ids: list[str]) -> list[Any]:
    from games.frontend import game_views_load
    from games.selectors import frontend_games_build
    from markets.prices import prices_read

    views = game_views_load(gamma_ids)
    prices = prices_read([t for view in views.values() for t in view.token_ids])
    return [{"type": "game_update", "game": game} for game in frontend_games_build(views, prices).values()]


class LiveScores:
    """Index, pending changes and the flush of one sports-socket consumer."""

    def __init__(self, fence: Fence | None) -> None:
        self.fence = fence
        self.index: dict[int, LiveGame] = {}
        self.pending: dict[int, LiveGame] = {}
        self.loaded_at = 0.0
        self.miss_refresh_at = 0.0
        self.warned_orientation: set[int] = set()
        self.frames = self.applied = self.skipped = 0

    async def index_refresh(self) -> None:
        """Reload the gameId index; on a database error keep the current one (retried on the next tick)."""
        try:
            fresh = await _in_worker_thread(live_index_load)()
        except DatabaseError as exc:
            log.error("live index refresh failed, keeping the current index: %s", exc)
            self.loaded_at = time.monotonic()
            return
        for game_id, game in fresh.items():  # unflushed socket state is newer than the database's
            pending = self.pending.get(game.pk)
            if pending is not None:
                fresh[game_id] = pending
        self.index = fresh
        self.loaded_at = time.monotonic()

    async def frame_handle(self, text: str | bytes) -> None:
        self.frames += 1
        try:
            frame = orjson.loads(text)
        except orjson.JSONDecodeError:
            self.skipped += 1
            metrics.UPSTREAM_MALFORMED.labels("sports").inc()
            return
        if not isinstance(frame, dict) or not isinstance(frame.get("gameId"), int) or "score" not in frame:
            self.skipped += 1
            return
        game_id = frame["gameId"]
        game = self.index.get(game_id)
        if game is None and time.monotonic() - self.miss_refresh_at > MISS_REFRESH_MIN_S:
            self.miss_refresh_at = time.monotonic()
            await self.index_refresh()
            game = self.index.get(game_id)
        if game is None:
            self.skipped += 1  # not ingested yet; the next games sync brings it
            return
        if game_id not in self.warned_orientation and orientation_check(game, frame) == "swapped":
            self.warned_orientation.add(game_id)
            # Kept as ingested: Gamma's /sports.ordering is the verified source (upstream README §1.8).
            log.warning(
                "gameId %s (event %s): socket says home=%r away=%r, the reverse of the league ordering",
                game_id, game.gamma_id, frame.get("homeTeam"), frame.get("awayTeam"),
            )
        try:
            new = live_frame_apply(game, frame, timezone.now())
        except (TypeError, ValueError, AttributeError) as exc:  # odd field types: skip the frame, keep going
            self.skipped += 1
            log.warning("sports frame for gameId %s skipped: %s", game_id, exc)
            return
        if new is None:
            return
        self.index[game_id] = new
        self.pending[new.pk] = new
        self.applied += 1

    async def flush(self) -> int:
        if not self.pending:
            return 0
        batch, self.pending = list(self.pending.values()), {}
        try:
            await _in_worker_thread(live_games_persist)(batch, self.fence)
        except DatabaseError as exc:
            log.error("live score flush of %d games failed, retrying next tick: %s", len(batch), exc)
            for game in batch:
                self.pending.setdefault(game.pk, game)
            return 0
        try:
            events = await _in_worker_thread(_game_events_build)([g.gamma_id for g in batch])
            from games.listing import listing_invalidate_async
            from realtime.publish import game_events_publish_async

            await game_events_publish_async(events, fence=self.fence)
            await listing_invalidate_async()
        except StaleFenceError:
            raise
        except Exception:  # publishing is best effort: the row is saved, the next change republishes
            log.exception("live score publish failed")
        return len(batch)

    async def flush_loop(self, stop: asyncio.Event) -> None:
        interval = settings.LIVE_SCORES_FLUSH_MS / 1000
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), interval)
            await self.flush()
            if time.monotonic() - self.loaded_at > INDEX_REFRESH_S:
                await self.index_refresh()


async def _read(ws: Any, state: LiveScores, stop: asyncio.Event, flusher: asyncio.Task[None]) -> None:
    async def close_on_stop() -> None:
        waiter = asyncio.ensure_future(stop.wait())
        try:
            await asyncio.wait([waiter, flusher], return_when=asyncio.FIRST_COMPLETED)
        finally:
            waiter.cancel()
        await ws.close()

    closer = asyncio.create_task(close_on_stop())
    try:
        async for message in ws:
            text = message.decode(errors="replace") if isinstance(message, bytes) else message
            stripped = text.strip()
            metrics.upstream_frame("sports", "ping" if stripped in ("ping", "PING") else "score", "0")
            if stripped in ("ping", "PING"):
                await ws.send("pong" if stripped == "ping" else "PONG")
                continue
            await state.frame_handle(text)
    finally:
        closer.cancel()


async def sports_socket_run(url: str, stop: asyncio.Event, fence: Fence | None = None) -> None:
    """Consume the sports socket until `stop` is set; reconnect with jittered exponential back-off.

    Raises StaleFenceError when `fence` is given and another holder took the lease.
    """
    state = LiveScores(fence)
    await state.index_refresh()
    flusher = asyncio.create_task(state.flush_loop(stop))
    failures = 0
    try:
        while not stop.is_set() and not flusher.done():
            try:
                async with websockets.connect(
                    url, additional_headers=HEADERS, open_timeout=10, ping_interval=20, ping_timeout=20,
                    close_timeout=2, max_size=2**20,
                ) as ws:
                    failures = 0
                    log.info("sports socket connected to %s", url)
                    await _read(ws, state, stop, flusher)
            except (OSError, TimeoutError, websockets.WebSocketException) as exc:
                log.warning("sports socket dropped: %s: %s", type(exc).__name__, exc)
            if stop.is_set() or flusher.done():
                break
            failures += 1
            metrics.UPSTREAM_RECONNECTS.labels("sports").inc()
            delay = min(MAX_BACKOFF_S, 0.5 * 2 ** min(failures, 10)) * (0.5 + random.random() / 2)
            waiter = asyncio.ensure_future(stop.wait())
            await asyncio.wait([waiter, flusher], timeout=delay, return_when=asyncio.FIRST_COMPLETED)
            waiter.cancel()
    finally:
        if not flusher.done():
            flusher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await flusher  # re-raises StaleFenceError from a flush
        await state.flush()
