"""The stream program: the one process in the deployment holding the upstream sockets.

It runs only while it holds the `stream` lease (realtime.lease). Tasks of the program:
  renew       keep the lease (every TTL/3); losing it stops everything within one renew period
  tokens      follow the versioned token set, subscribe/unsubscribe incrementally, reload game views
  sockets     the CLOB market sockets (markets.stream.sockets), feeding the books
  window      every coalescing window: newest price of each changed token -> Redis hash + price_update
  persist     every ~1 s: Outcome prices, PricePoints and GameProbability in one fenced transaction
  views       reload views of games whose row changed (scores, status) so events never carry old data
  resnapshot  REST `/book` for tokens whose hash did not verify
  metrics     counters and socket states in Redis, for status pages and tests
  sports      the sports (live scores) socket, written by the games pipeline
Every write is fenced; a StaleFenceError anywhere stops the program.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import dataclasses
import datetime as dt
import importlib
import logging
import os
import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import orjson
from django.conf import settings
from django.db import close_old_connections, connections

from games.listing import listing_invalidate_async
from markets.prices import TokenPrice, prices_key
from markets.stream.books import StreamCounters
from markets.stream.feed import BookStore, book_price
from markets.stream.gameindex import GameIndex, game_index_load, game_views_changed_since, histories_load
from markets.stream.persist import FenceBehindError, fence_pg_advance, stream_prices_persist
from markets.stream.resnapshot import Resnapshotter
from markets.stream.sockets import SocketConfig, SocketPool
from markets.tokenset import token_set_read, token_set_version
from mevu import metrics
from mevu.metrics_stream import stream_metrics_end, stream_metrics_export
from mevu.redis import redis_async, redis_key
from realtime.errors import StaleFenceError
from realtime.lease import (
    Fence,
    Lease,
    fence_floor_raise_async,
    fenced_hset_async,
    fenced_set_async,
    lease_acquire_async,
    lease_release_async,
    lease_renew,
)
from realtime.publish import GameEvent, game_events_publish_async

log = logging.getLogger("mevu.stream")

LEASE_NAME = "stream"
Publish = Callable[..., Awaitable[None]]


STANDBY_POLL_S = 0.25  # a stand-by retries the lease this often: takeover ≈ the lease TTL after a death
STANDBY_TTL_S = 3
HISTORY_REFRESH = dt.timedelta(seconds=60)  # chart buckets are ~75 min wide: a minute is fresh enough


class LeaseLost(Exception):
    """The lease could not be renewed: another holder may already be writing."""


def metrics_key() -> str:
    return redis_key("stream", "metrics")


@dataclasses.dataclass(frozen=True)
class StreamConfig:
    holder: str
    lease_name: str = LEASE_NAME
    lease_ttl_s: float = 10.0
    coalesce_s: float = 0.15
    persist_every_s: float = 1.0
    tokenset_poll_s: float = 1.0
    views_refresh_s: float = 2.0
    resnapshot_per_s: float = 5.0
    clob_url: str = ""
    sports_ws_url: str = ""
    run_sports: bool = True
    parent_pid: int | None = None  # under a Celery prefork worker: stop if it dies (orphaned child)
    sockets: SocketConfig = dataclasses.field(default_factory=lambda: SocketConfig(url=""))


def stream_config_from_settings(**overrides: Any) -> StreamConfig:
    base = StreamConfig(
        holder=settings.INSTANCE_ID,
        lease_ttl_s=settings.STREAM_LEASE_TTL_S,
        coalesce_s=settings.STREAM_COALESCE_MS / 1000,
        persist_every_s=settings.STREAM_PERSIST_EVERY_S,
        tokenset_poll_s=settings.STREAM_TOKENSET_POLL_S,
        resnapshot_per_s=settings.STREAM_RESNAPSHOT_PER_S,
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


class DbThread:
    """All ORM work of the program runs on one thread (Django connections are per thread)."""

    def __init__(self) -> None:
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="stream-db")

    async def run(self, fn: Callable[..., Any], *args: Any) -> Any:
        def call() -> Any:
            close_old_connections()
            return fn(*args)

        return await asyncio.get_running_loop().run_in_executor(self._pool, call)

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self.run(connections.close_all)
        self._pool.shutdown(wait=False)


def standby_key() -> str:
    return redis_key("stream", "standby")


async def lease_acquire_waiting(config: StreamConfig, stop: asyncio.Event | None = None) -> Lease | None:
    """Take the lease now, or stand by until it frees up, so takeover never waits for beat or a queue.

    While standing by we advertise ourselves (a short-TTL key), so the watchdog keeps exactly one
    stand-by and does not enqueue more. Returns None only when asked to stop.
    """
    ttl_ms = int(config.lease_ttl_s * 1000)
    stop = stop or asyncio.Event()
    client = redis_async()
    announced = False
    try:
        while not stop.is_set():
            lease = await lease_acquire_async(config.lease_name, config.holder, ttl_ms)
            if lease is not None:
                return lease
            with contextlib.suppress(Exception):  # advertising is best effort; acquisition is what counts
                await client.set(standby_key(), config.holder, ex=STANDBY_TTL_S)
                announced = True
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), STANDBY_POLL_S)
        return None
    finally:
        if announced:
            with contextlib.suppress(Exception):
                await client.delete(standby_key())


class StreamProgram:
    def __init__(self, config: StreamConfig, *, publish: Publish | None = None) -> None:
        self.config = config
        self.publish: Publish = publish or game_events_publish_async
        self.counters = StreamCounters()
        self.store = BookStore(self.counters)
        self.pool = SocketPool(config.sockets, self.store)
        self.resnapshot = Resnapshotter(self.store, config.clob_url, per_s=config.resnapshot_per_s)
        self.index = GameIndex()
        self.latest: dict[str, TokenPrice] = {}
        self.persist_pending: dict[str, TokenPrice] = {}
        self._suspects: set[str] = set()  # tokens whose hash mismatched once, re-checked next window
        self.db = DbThread()
        self.lease: Lease | None = None
        self.token_version = -1
        self.started = time.monotonic()
        self.reason = ""

    @property
    def fence(self) -> Fence:
        assert self.lease is not None
        return self.lease.fence

    # --- lifecycle -------------------------------------------------------------------------------------
    async def run(self, stop: asyncio.Event) -> str:
        """Hold the lease and stream until `stop` is set or the lease is lost; returns why it ended."""
        self.lease = await lease_acquire_waiting(self.config, stop)
        if self.lease is None:
            await self.db.close()
            return "stopped while standing by"
        log.info("stream lease acquired", extra={"token": self.lease.token, "holder": self.config.holder})
        metrics.LEASE_TAKEOVERS.labels(self.lease.name).inc()
        tasks: list[asyncio.Task[Any]] = []
        lost = False
        try:
            await self._fence_register()
            tasks = [
                asyncio.create_task(coro, name=name)
                for name, coro in (
                    ("renew", self._renew_loop()),
                    ("tokens", self._tokens_loop()),
                    ("window", self._window_loop()),
                    ("persist", self._persist_loop()),
                    ("views", self._views_loop()),
                    ("resnapshot", self.resnapshot.run()),
                    ("metrics", self._metrics_loop()),
                    ("lag", self._lag_loop()),
                    *self._sports_task(stop),
                )
            ]
            stopper = asyncio.create_task(stop.wait(), name="stop")
            done, _ = await asyncio.wait([*tasks, stopper], return_when=asyncio.FIRST_COMPLETED)
            stopper.cancel()
            stop.set()  # the sports socket watches it: let it flush before anything is cancelled
            sports = [t for t in tasks if t.get_name() == "sports" and not t.done()]
            if sports:
                await asyncio.wait(sports, timeout=5)
            self.reason = "stopped"
            for task in done:
                if task is stopper:
                    continue
                exc = task.exception()
                if isinstance(exc, (LeaseLost, StaleFenceError)):
                    lost = True
                    self.reason = f"lease lost: {exc}"
                elif exc is not None:
                    self.reason = f"{task.get_name()} failed: {exc!r}"
                    log.error("stream task failed", exc_info=exc)
                else:
                    self.reason = f"{task.get_name()} ended"
        except (LeaseLost, StaleFenceError) as exc:
            lost = True
            self.reason = f"lease lost: {exc}"
        except Exception as exc:  # e.g. PostgreSQL unreachable at start: give the lease back, retry later
            self.reason = f"failed to start: {exc!r}"
            log.exception("stream failed to start")
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await self.pool.close()
            stream_metrics_end(self)
            if not lost:
                await self._final_flush()
                with contextlib.suppress(Exception):
                    await lease_release_async(self.lease)
            await self.db.close()
        log.info("stream ended: %s", self.reason)
        return self.reason

    async def _fence_register(self) -> None:
        """Advance PostgreSQL's fence row to our token. If PostgreSQL has seen a higher token, Redis lost
        its counter: raise the counter above it, give the lease back and take it again (once)."""
        assert self.lease is not None
        try:
            await self.db.run(fence_pg_advance, self.fence)
        except FenceBehindError as behind:
            log.warning("fence counter behind PostgreSQL (%s): raising it", behind.current)
            await fence_floor_raise_async(self.config.lease_name, behind.current)
            await lease_release_async(self.lease)
            self.lease = await lease_acquire_async(
                self.config.lease_name, self.config.holder, int(self.config.lease_ttl_s * 1000)
            )
            if self.lease is None:
                raise LeaseLost("lease taken by another process while the fence was raised") from behind
            await self.db.run(fence_pg_advance, self.fence)

    async def _final_flush(self) -> None:
        """Flush pending writes before releasing; a stale fence here means someone else took over."""
        try:
            await self.flush_window()
            await self.persist_once()
        except StaleFenceError:
            self.reason += " (final flush fenced out)"
        except Exception:
            log.exception("final flush failed")

    def _sports_task(self, stop: asyncio.Event) -> list[tuple[str, Awaitable[Any]]]:
        if not self.config.run_sports or not self.config.sports_ws_url:
            return []
        try:
            module = importlib.import_module("games.live_scores")
        except ImportError:
            return []
        run = getattr(module, "sports_socket_run", None)
        if run is None:
            return []
        return [("sports", self._sports_supervised(run, stop))]

    async def _sports_supervised(self, run: Callable[..., Awaitable[None]], stop: asyncio.Event) -> None:
        """The sports socket runs beside the price sockets: its failures restart it, not the price stream
        (a stale fence still stops everything)."""
        while not stop.is_set():
            try:
                await run(self.config.sports_ws_url, stop, self.fence)
            except StaleFenceError:
                raise
            except Exception:
                log.exception("sports socket failed; restarting it")
            if not stop.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), 5)

    # --- loops -----------------------------------------------------------------------------------------
    async def _renew_loop(self) -> None:
        """Renewals run on their own thread: a busy event loop (a flood of frames, a CPU-starved host)
        must not let the lease expire under a healthy holder. Loss is reported back to the loop."""
        assert self.lease is not None
        loop = asyncio.get_running_loop()
        ended: asyncio.Future[str | None] = loop.create_future()
        halt = threading.Event()

        def report(outcome: str | None) -> None:
            if not ended.done():
                ended.set_result(outcome)

        thread = threading.Thread(
            target=self._renew_thread, args=(self.lease, halt, lambda o: loop.call_soon_threadsafe(report, o)),
            name="stream-lease-renew", daemon=True,
        )
        thread.start()
        try:
            outcome = await ended
        finally:
            halt.set()
        if outcome is not None:
            raise LeaseLost(outcome)

    def _renew_thread(self, lease: Lease, halt: threading.Event, report: Callable[[str | None], None]) -> None:
        period = self.config.lease_ttl_s / 3
        last_ok = time.monotonic()
        while not halt.wait(period):
            if self.config.parent_pid is not None and os.getppid() != self.config.parent_pid:
                log.warning("stream worker process died: releasing the lease")
                report(None)
                return
            try:
                renewed = lease_renew(lease)
            except Exception as exc:  # Redis unreachable: the lease may expire under us
                metrics.LEASE_RENEWALS.labels(lease.name, "error").inc()
                if time.monotonic() - last_ok > self.config.lease_ttl_s - period / 2:
                    report(f"renewal failing: {exc!r}")
                    return
                continue
            metrics.LEASE_RENEWALS.labels(lease.name, "ok" if renewed else "lost").inc()
            if not renewed:
                report("renewal refused: another holder has the lease")
                return
            last_ok = time.monotonic()

    async def _tokens_loop(self) -> None:
        while True:
            try:
                await self._tokens_follow()
            except StaleFenceError:
                raise
            except Exception as exc:  # Redis or PostgreSQL hiccup: keep the current subscriptions, retry
                log.warning("token set refresh failed: %r", exc)
            await asyncio.sleep(self.config.tokenset_poll_s)

    async def _tokens_follow(self) -> None:
        version = await asyncio.to_thread(token_set_version)
        if version != self.token_version:
            version, tokens = await asyncio.to_thread(token_set_read)
            index = await self.db.run(game_index_load, tokens)
            self.index = index
            self.store.track(tokens, {t: ref.market_id for t, ref in index.tokens.items()})
            added, removed = await self.pool.apply(tokens)
            for token in set(self.latest).difference(tokens):
                del self.latest[token]
            self.token_version = version
            log.info("token set v%s: %s tokens (+%s -%s)", version, len(tokens), added, removed)

    async def _views_loop(self) -> None:
        while True:
            await asyncio.sleep(self.config.views_refresh_s)
            index = self.index
            if index.loaded_at is None or not index.views:
                continue
            try:
                views, loaded_at = await self.db.run(game_views_changed_since, list(index.views), index.loaded_at)
            except Exception as exc:  # PostgreSQL hiccup: events keep the views we have
                log.warning("game views refresh failed: %r", exc)
                continue
            if index is self.index:
                index.views.update(views)
                index.loaded_at = loaded_at
            if index.histories_at is None or loaded_at - index.histories_at > HISTORY_REFRESH:
                try:
                    index.histories = await self.db.run(histories_load, dict(index.views), loaded_at)
                    index.histories_at = loaded_at
                except Exception as exc:  # charts keep their previous samples
                    log.warning("game histories refresh failed: %r", exc)

    async def _window_loop(self) -> None:
        while True:
            await asyncio.sleep(self.config.coalesce_s)
            try:
                await self.flush_window()
            except StaleFenceError:
                raise
            except Exception:  # one bad window (e.g. a game that fails to build) must not stop prices
                log.exception("price window failed")

    async def flush_window(self) -> int:
        """Publish the newest price of every token changed since the last window; returns how many."""
        dirty = self.store.take_dirty()
        if not dirty:
            return 0
        books, latest, counters = self.store.books, self.latest, self.counters
        changed: dict[str, TokenPrice] = {}
        recheck: set[str] = set()
        for token in dirty:
            book = books.get(token)
            if book is None:
                continue
            # A mismatch gets a second look one window later before the REST repair: frames of one market
            # travel on the sockets of both its tokens, so the explaining frame can be a moment behind.
            second_look = token in self._suspects
            verified = book.verify_pending(keep_on_mismatch=not second_look)
            if verified is True:
                counters.hash_ok += 1
                self._suspects.discard(token)
            elif verified is False:
                if second_look:
                    self._suspects.discard(token)
                    counters.hash_mismatch += 1
                    self.resnapshot.request(token)
                else:
                    self._suspects.add(token)
                    recheck.add(token)
            price = book_price(book)
            previous = latest.get(token)
            if (
                previous is not None
                and previous["bid"] == price["bid"]
                and previous["ask"] == price["ask"]
                and previous["last"] == price["last"]
            ):
                continue
            changed[token] = price
        self.store.dirty.update(recheck)
        if not changed:
            return 0
        try:
            await fenced_hset_async(self.fence, prices_key(), {t: orjson.dumps(p) for t, p in changed.items()})
        except StaleFenceError:
            raise
        except Exception as exc:  # Redis hiccup: keep the tokens dirty, the next window retries
            counters.publish_errors += 1
            self.store.dirty.update(changed)
            log.warning("price hash write failed: %r", exc)
            return 0
        latest.update(changed)
        metrics.PRICES_WRITTEN.inc(len(changed))
        self.persist_pending.update(changed)
        events = self.index.events_for(changed, latest)
        if events:
            await self._publish(events)
        try:
            await listing_invalidate_async()
        except Exception as exc:  # the listing re-renders within its max age anyway
            log.info("listing invalidation failed: %r", exc)
        return len(changed)

    async def _publish(self, events: Sequence[GameEvent]) -> None:
        try:
            await self.publish(events, fence=self.fence)
            self.counters.published += len(events)
        except StaleFenceError:
            raise
        except Exception as exc:  # clients resync from REST/history; prices are already in Redis
            self.counters.publish_errors += 1
            log.warning("price_update publish failed: %r", exc)

    async def _persist_loop(self) -> None:
        while True:
            await asyncio.sleep(self.config.persist_every_s)
            await self.persist_once()

    async def persist_once(self) -> int:
        if not self.persist_pending:
            return 0
        batch, self.persist_pending = self.persist_pending, {}
        index = self.index
        live_tokens = {t for t, ref in index.tokens.items() if t in batch and _is_live(index, ref.game_id)}
        game_ids = {index.tokens[t].game_id for t in batch if t in index.tokens}
        games = [index.views[g] for g in game_ids if g in index.views and not index.views[g].ended]
        needed = {o.token_id for view in games for o in _moneyline(view)}
        prices = {t: self.latest[t] for t in needed if t in self.latest}
        try:
            updated = await self.db.run(stream_prices_persist, self.fence, batch, live_tokens, games, prices)
        except StaleFenceError:
            raise
        except Exception as exc:  # keep the batch; newer prices that arrived meanwhile win
            for token, price in batch.items():
                self.persist_pending.setdefault(token, price)
            log.warning("price persist failed: %r", exc)
            return 0
        self.counters.persisted += updated
        return updated

    async def _lag_loop(self) -> None:
        """Event-loop lag (the loop must stay responsive: lease renewals and heartbeats run on it)."""
        period = 0.25
        while True:
            started = time.monotonic()
            await asyncio.sleep(period)
            lag_ms = int((time.monotonic() - started - period) * 1000)
            self.counters.extra["loop_lag_max_ms"] = max(self.counters.extra.get("loop_lag_max_ms", 0), lag_ms)
            if lag_ms > 1000:
                log.warning("stream event loop blocked for %sms", lag_ms)

    async def _metrics_loop(self) -> None:
        while True:
            try:
                await fenced_set_async(self.fence, metrics_key(), orjson.dumps(self.metrics()), ttl_ms=15_000)
                await fenced_hset_async(self.fence, redis_key("stream", "status"), self.status_fields())
                stream_metrics_export(self)  # Prometheus (mevu/metrics_stream.py)
            except StaleFenceError:
                raise
            except Exception as exc:  # informational only
                log.info("stream metrics write failed: %r", exc)
            await asyncio.sleep(1.0)

    def status_fields(self) -> dict[str, str]:
        """The summary /api/games/status shows: connected sockets, subscribed tokens, newest frame time."""
        sockets = self.pool.status()
        frames = [s["last_frame_ts"] for s in sockets if s.get("last_frame_ts")]
        fields = {
            "sockets": sum(1 for s in sockets if s["connected"]),
            "subscribed": sum(int(s["assets"]) for s in sockets),
            "last_frame_ts": max(frames) if frames else 0,
            "token": self.lease.token if self.lease else 0,
        }
        return {name: str(value) for name, value in fields.items()}

    def metrics(self) -> dict[str, Any]:
        return {
            "holder": self.config.holder,
            "token": self.lease.token if self.lease else None,
            "uptime_s": round(time.monotonic() - self.started, 1),
            "token_version": self.token_version,
            "tokens": len(self.store.books),
            "counters": self.counters.as_dict(),
            "sockets": self.pool.status(),
            "ts": int(time.time() * 1000),
        }


def _is_live(index: GameIndex, game_id: str) -> bool:
    view = index.views.get(game_id)
    return view is not None and view.live


def _moneyline(view: Any) -> list[Any]:
    roles = view.moneyline
    return [o for o in (roles.home, roles.away, roles.draw) if o is not None]


def stream_metrics_read() -> dict[str, Any] | None:
    """The holder's latest metrics (None when no holder wrote any recently)."""
    from mevu.redis import redis_sync

    raw = redis_sync().get(metrics_key())
    return orjson.loads(raw) if raw else None
