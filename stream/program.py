"""The stream program: the one process in the deployment holding the upstream sockets.

It runs only while it holds the `stream` lease (stream.holding). Its loops, each a small step under
one guard (stream.loops.every):
  lease       renew (every TTL/3); losing it stops everything within one renew period
  tokens      follow the versioned token set, subscribe/unsubscribe incrementally, reload game views
  sockets     the CLOB market sockets (stream.sockets), feeding the books
  window      every quarter window: the newest price of each changed token whose game's last event is a
              window old -> Redis hash + price_update (stream.window)
  persist     every ~1 s: Outcome prices, PricePoints and GameProbability in one fenced transaction
  views       reload views of games whose row changed (scores, status) so events never carry old data
  resnapshot  REST `/book` for tokens whose hash did not verify
  metrics     counters and socket states in Redis, for status pages and tests
  sports      the sports (live scores) socket, written by the games pipeline
Every write is fenced; a StaleFenceError anywhere stops the program.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import logging
import time
from typing import Any

import orjson
from django.conf import settings

from actions.announce import Publish
from core import metrics
from core.aio import event_wait, tasks_cancel
from core.errors import StaleFenceError
from core.keys import stream_metrics_key, stream_status_key
from core.lease import Fence, fenced_hset_async, fenced_set_async
from core.publish import game_events_publish_async
from core.redis import redis_sync
from markets.tokenset import token_set_read, token_set_version
from stream.books import StreamCounters
from stream.feed import BookStore
from stream.gameindex import GameIndex, game_index_load, game_views_changed_since, histories_load
from stream.holding import LEASE_NAME, LeaseHolder, LeaseLost, standby_key
from stream.live_scores import sports_socket_run
from stream.loops import DbThread, every
from stream.metrics_export import stream_metrics_end, stream_metrics_export
from stream.resnapshot import Resnapshotter
from stream.sockets import SocketConfig, SocketPool
from stream.window import PriceWindow

log = logging.getLogger("mevu.stream")

__all__ = ["LEASE_NAME", "StreamProgram", "standby_key", "stream_config_from_settings", "stream_metrics_read"]
HISTORY_REFRESH = dt.timedelta(seconds=60)  # chart buckets are ~75 min wide: a minute is fresh enough
SPORTS_RESTART_S = 5.0


@dataclasses.dataclass(frozen=True)
class StreamConfig:
    holder: str
    lease_name: str = LEASE_NAME
    lease_ttl_s: float = 3.0
    standby_poll_s: float = 0.1
    coalesce_s: float = 0.15
    persist_every_s: float = 1.0
    tokenset_poll_s: float = 1.0
    views_refresh_s: float = 2.0
    resnapshot_per_s: float = 5.0
    resnapshot_sweep_s: float = 60.0
    clob_url: str = ""
    sports_ws_url: str = ""
    run_sports: bool = True
    parent_pid: int | None = None  # under a Celery prefork worker: stop if it dies (orphaned child)
    sockets: SocketConfig = dataclasses.field(default_factory=lambda: SocketConfig(url=""))


def stream_config_from_settings(**overrides: Any) -> StreamConfig:
    base = StreamConfig(
        holder=settings.INSTANCE_ID,
        lease_ttl_s=settings.STREAM_LEASE_TTL_S,
        standby_poll_s=settings.STREAM_STANDBY_POLL_S,
        coalesce_s=settings.STREAM_COALESCE_MS / 1000,
        persist_every_s=settings.STREAM_PERSIST_EVERY_S,
        tokenset_poll_s=settings.STREAM_TOKENSET_POLL_S,
        resnapshot_per_s=settings.STREAM_RESNAPSHOT_PER_S,
        resnapshot_sweep_s=settings.STREAM_RESNAPSHOT_SWEEP_S,
        clob_url=settings.CLOB_URL,
        sports_ws_url=settings.SPORTS_WS_URL,
        sockets=SocketConfig(
            url=settings.CLOB_WS_URL,
            assets_per_socket=settings.STREAM_ASSETS_PER_SOCKET,
            ping_every_s=settings.STREAM_PING_EVERY_S,
            stale_after_s=settings.STREAM_STALE_AFTER_S,
            stable_after_s=settings.STREAM_STABLE_AFTER_S,
            backoff_max_s=settings.STREAM_BACKOFF_MAX_S,
            open_timeout_s=settings.UPSTREAM_TIMEOUT_S,
        ),
    )
    return dataclasses.replace(base, **overrides)


class StreamProgram:
    def __init__(self, config: StreamConfig, *, publish: Publish = game_events_publish_async) -> None:
        self.config = config
        self.counters = StreamCounters()
        self.store = BookStore(self.counters)
        self.pool = SocketPool(config.sockets, self.store)
        self.resnapshot = Resnapshotter(self.store, config.clob_url, per_s=config.resnapshot_per_s,
                                        sweep_every_s=config.resnapshot_sweep_s)
        self.holder = LeaseHolder(config.lease_name, config.holder, config.lease_ttl_s, config.parent_pid,
                                  config.standby_poll_s)
        self.window = PriceWindow(self.store, self.counters, self.resnapshot, publish,
                                  lambda: self.holder.fence, config.coalesce_s)
        self.db = DbThread()
        self.token_version = -1
        self.prepared: tuple[int, set[str], GameIndex] | None = None  # loaded while standing by
        self.started = time.monotonic()
        self.reason = ""

    @property
    def fence(self) -> Fence:
        return self.holder.fence

    # --- lifecycle -------------------------------------------------------------------------------------
    async def run(self, stop: asyncio.Event) -> str:
        """Hold the lease and stream until `stop` is set or the lease is lost; returns why it ended."""
        prepare = asyncio.create_task(self._standby_prepare(), name="prepare")
        try:
            acquired = await self.holder.acquire(stop)
        finally:
            await tasks_cancel([prepare])
        if not acquired:
            await self.db.close()
            return "stopped while standing by"
        lease = self.holder.lease
        assert lease is not None
        log.info("stream lease acquired", extra={"token": lease.token, "holder": self.config.holder})
        metrics.LEASE_TAKEOVERS.labels(lease.name).inc()
        tasks: list[asyncio.Task[Any]] = []
        lost = False
        try:
            await self.holder.fence_register(self.db)
            tasks = [asyncio.create_task(coro, name=name) for name, coro in self._loops(stop)]
            lost = await self._until_done(tasks, stop)
        except (LeaseLost, StaleFenceError) as exc:
            lost, self.reason = True, f"lease lost: {exc}"
        except Exception as exc:  # e.g. PostgreSQL unreachable at start: give the lease back, retry later
            self.reason = f"failed to start: {exc!r}"
            log.exception("stream failed to start")
        finally:
            await tasks_cancel(tasks)
            await self.pool.close()
            stream_metrics_end(self)
            if not lost:
                await self._final_flush()
                await self.holder.release()
            await self.db.close()
        log.info("stream ended: %s", self.reason)
        return self.reason

    def _loops(self, stop: asyncio.Event) -> list[tuple[str, Any]]:
        config = self.config
        loops = [
            ("lease", self.holder.keep()),
            ("tokens", every(config.tokenset_poll_s, self._tokens_follow, "token set refresh")),
            ("window", every(config.coalesce_s / 4, self.window.flush_due, "price window")),
            ("persist", every(config.persist_every_s, lambda: self.window.persist(self.db), "price persist")),
            ("views", every(config.views_refresh_s, self._views_refresh, "game views refresh")),
            ("resnapshot", self.resnapshot.run()),
            ("metrics", every(1.0, self._metrics_write, "metrics write")),
            ("lag", self._lag_watch()),
        ]
        if config.run_sports and config.sports_ws_url:
            loops.append(("sports", self._sports_supervised(stop)))
        return loops

    async def _until_done(self, tasks: list[asyncio.Task[Any]], stop: asyncio.Event) -> bool:
        """Wait for `stop` or the first loop to end; sets the reason; returns whether the lease was lost."""
        stopper = asyncio.create_task(stop.wait(), name="stop")
        done, _ = await asyncio.wait([*tasks, stopper], return_when=asyncio.FIRST_COMPLETED)
        stopper.cancel()
        stop.set()  # the sports socket watches it: let it flush before anything is cancelled
        sports = [t for t in tasks if t.get_name() == "sports" and not t.done()]
        if sports:
            await asyncio.wait(sports, timeout=5)
        self.reason, lost = "stopped", False
        for task in done - {stopper}:
            exc = task.exception()
            if isinstance(exc, (LeaseLost, StaleFenceError)):
                lost, self.reason = True, f"lease lost: {exc}"
            elif exc is not None:
                self.reason = f"{task.get_name()} failed: {exc!r}"
                log.error("stream task failed", exc_info=exc)
            else:
                self.reason = f"{task.get_name()} ended"
        return lost

    async def _final_flush(self) -> None:
        """Flush pending writes before releasing; a stale fence here means someone else took over."""
        try:
            await self.window.flush()
            await self.window.persist(self.db)
        except StaleFenceError:
            self.reason += " (final flush fenced out)"
        except Exception:
            log.exception("final flush failed")

    async def _sports_supervised(self, stop: asyncio.Event) -> None:
        """The sports socket runs beside the price sockets: its failures restart it, not the price stream
        (a stale fence still stops everything)."""
        while not stop.is_set():
            try:
                await sports_socket_run(self.config.sports_ws_url, stop, self.fence)
            except StaleFenceError:
                raise
            except Exception:
                log.exception("sports socket failed; restarting it")
            if not stop.is_set():
                await event_wait(stop, SPORTS_RESTART_S)

    # --- steps -----------------------------------------------------------------------------------------
    async def _standby_prepare(self) -> None:
        """While standing by, keep the token set and its game index loaded and as fresh as a holder keeps them
        (views refreshed every views period), so a takeover only has to open the sockets."""
        while True:
            with contextlib.suppress(Exception):  # best effort: a takeover loads whatever is missing
                version = await asyncio.to_thread(token_set_version)
                if self.prepared is None or self.prepared[0] != version:
                    self.prepared = await self._tokens_load()
                else:
                    await self._index_refresh(self.prepared[2])
            await asyncio.sleep(self.config.views_refresh_s)

    async def _tokens_load(self) -> tuple[int, set[str], GameIndex]:
        version, tokens = await asyncio.to_thread(token_set_read)
        return version, tokens, await self.db.run(game_index_load, tokens)

    async def _tokens_follow(self) -> None:
        version = await asyncio.to_thread(token_set_version)
        if version == self.token_version:
            return
        prepared, self.prepared = self.prepared, None
        version, tokens, index = prepared if prepared and prepared[0] == version else await self._tokens_load()
        self.window.index = index
        self.store.track(tokens, {t: ref.market_id for t, ref in index.tokens.items()})
        added, removed = await self.pool.apply(tokens)
        self.window.forget(set(self.window.latest) - tokens)
        self.token_version = version
        log.info("token set v%s: %s tokens (+%s -%s)", version, len(tokens), added, removed)

    async def _views_refresh(self) -> None:
        await self._index_refresh(self.window.index)

    async def _index_refresh(self, index: GameIndex) -> None:
        """Reload the views of games whose row changed (PostgreSQL hiccups: events keep the views we have).
        An index replaced meanwhile (token set change) is updated to no effect: it is no longer used."""
        if index.loaded_at is None or not index.views:
            return
        views, loaded_at = await self.db.run(game_views_changed_since, list(index.views), index.loaded_at)
        index.views.update(views)
        index.loaded_at = loaded_at
        if index.histories_at is None or loaded_at - index.histories_at > HISTORY_REFRESH:
            index.histories = await self.db.run(histories_load, dict(index.views), loaded_at)
            index.histories_at = loaded_at

    async def _lag_watch(self) -> None:
        """Event-loop lag (the loop must stay responsive: lease renewals and heartbeats run on it)."""
        period = 0.25
        while True:
            started = time.monotonic()
            await asyncio.sleep(period)
            lag_ms = int((time.monotonic() - started - period) * 1000)
            self.counters.extra["loop_lag_max_ms"] = max(self.counters.extra.get("loop_lag_max_ms", 0), lag_ms)
            if lag_ms > 1000:
                log.warning("stream event loop blocked for %sms", lag_ms)

    async def _metrics_write(self) -> None:
        await fenced_set_async(self.fence, stream_metrics_key(), orjson.dumps(self.metrics()), ttl_ms=15_000)
        await fenced_hset_async(self.fence, stream_status_key(), self.status_fields())
        stream_metrics_export(self)  # Prometheus (stream/metrics_export.py)

    def status_fields(self) -> dict[str, str]:
        """The summary /api/games/status shows: connected sockets, subscribed tokens, newest frame time."""
        sockets = self.pool.status()
        frames = [s["last_frame_ts"] for s in sockets if s.get("last_frame_ts")]
        lease = self.holder.lease
        fields = {
            "sockets": sum(1 for s in sockets if s["connected"]),
            "subscribed": sum(int(s["assets"]) for s in sockets),
            "last_frame_ts": max(frames) if frames else 0,
            "token": lease.token if lease else 0,
        }
        return {name: str(value) for name, value in fields.items()}

    def metrics(self) -> dict[str, Any]:
        lease = self.holder.lease
        return {
            "holder": self.config.holder,
            "token": lease.token if lease else None,
            "uptime_s": round(time.monotonic() - self.started, 1),
            "token_version": self.token_version,
            "tokens": len(self.store.books),
            "counters": self.counters.as_dict(),
            "sockets": self.pool.status(),
            "ts": int(time.time() * 1000),
        }


def stream_metrics_read() -> dict[str, Any] | None:
    """The holder's latest metrics (None when no holder wrote any recently)."""
    raw = redis_sync().get(stream_metrics_key())
    return orjson.loads(raw) if raw else None
