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
import logging
import time
from typing import Any

import orjson
import websockets
from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import DatabaseError, close_old_connections
from django.utils import timezone

from actions.scores import do_apply_live_scores
from core import metrics
from core.aio import event_wait, tasks_cancel
from core.lease import Fence
from games.live import GameLiveState, live_frame_apply, live_index_load, orientation_check
from stream.loops import backoff_delay

log = logging.getLogger(__name__)

INDEX_REFRESH_S = 30.0
MISS_REFRESH_MIN_S = 5.0
BACKOFF_BASE_S, MAX_BACKOFF_S = 0.5, 30.0
HEADERS = {"Origin": "https://polymarket.com", "User-Agent": "Mozilla/5.0 (compatible; mevu)"}


def _in_worker_thread(func: Any) -> Any:
    """Run ORM work from the event loop; drop a connection the database closed meanwhile (long-lived worker)."""

    def run(*args: Any) -> Any:
        close_old_connections()
        return func(*args)

    return sync_to_async(run)


class LiveScores:
    """Index, pending changes and the flush of one sports-socket consumer."""

    def __init__(self, fence: Fence | None) -> None:
        self.fence = fence
        self.index: dict[int, GameLiveState] = {}
        self.pending: dict[int, GameLiveState] = {}
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
            await _in_worker_thread(do_apply_live_scores)(batch, self.fence)
        except DatabaseError as exc:
            log.error("live score flush of %d games failed, retrying next tick: %s", len(batch), exc)
            for game in batch:
                self.pending.setdefault(game.pk, game)
            return 0
        return len(batch)

    async def flush_loop(self, stop: asyncio.Event) -> None:
        interval = settings.LIVE_SCORES_FLUSH_MS / 1000
        while not stop.is_set():
            await event_wait(stop, interval)
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
            delay = backoff_delay(failures, BACKOFF_BASE_S, MAX_BACKOFF_S)
            waiter = asyncio.ensure_future(stop.wait())
            await asyncio.wait([waiter, flusher], timeout=delay, return_when=asyncio.FIRST_COMPLETED)
            waiter.cancel()
    finally:
        await tasks_cancel([flusher])
        failure = None if flusher.cancelled() else flusher.exception()
        if failure is not None:
            raise failure  # a StaleFenceError from a flush
        await state.flush()
