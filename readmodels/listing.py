"""The games listing hot path (`GET /api/games/frontend`).

A listing is rendered from current state (PostgreSQL + the latest prices in Redis) into JSON bytes,
gzip-compressed once, and tagged with the cluster-wide listing *version*:

* Producers (stream worker, sync) call `listing_invalidate()`. It marks the listing dirty and bumps the
  version at most once per `PUBLISH_EVERY_MS` cluster-wide (a Redis gate), publishing the new version.
  Every HTTP process also runs the same script every `POLL_S`, which flushes a pending mark (the
  trailing edge of a burst) and keeps its view of the version fresh even if a pub/sub message is lost.
* Each process keeps rendered listings per (query, version) in memory; the ASGI fast path
  (api/fastpath.py) serves them without entering Django. Right after the version moves, the previous
  listing is served for up to STALE_WINDOW_S while one background task fetches the new one, so a
  version change does not push a burst of requests through Django.
* A miss is resolved by a Redis singleflight: one process in the cluster takes a lock and builds; the
  others wait for its result (pub/sub wake-up + polling), then fall back to their stale copy (or a
  local build) after `WAIT_S`. Within one process, concurrent misses share one asyncio task.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import dataclasses
import datetime as dt
import gzip
import hashlib
import logging
import re
import time
from collections.abc import Mapping

import cachetools
import orjson
from django.db import DatabaseError, close_old_connections, connections
from django.utils.http import parse_etags
from redis.exceptions import LockError, RedisError

from core import metrics
from core.aio import event_wait, tasks_cancel
from core.dbrouter import replica_reads
from core.redis import redis_async, redis_key, redis_sync
from markets.prices import prices_read
from readmodels.frontend import frontend_game_build, game_views_load
from readmodels.selectors import GameFilter, game_histories_load, games_listing_page

log = logging.getLogger(__name__)

LISTING_PATH = "/api/games/frontend"
DEFAULT_LIMIT = 50
MAX_LIMIT = 100
CACHE_CONTROL = "public, max-age=1, stale-while-revalidate=5"
PUBLISH_EVERY_MS = 1000
POLL_S = 0.5
VERSION_FRESH_S = 2.0  # the fast path serves only while this process's view of the version is this fresh
MAX_AGE_S = 30.0  # time-dependent filters (games going stale) are re-evaluated at least this often
# A hot listing whose version just moved (or whose age just ran out) is served stale for this long
# while one background task refreshes it, so a version change never sends a burst through Django.
STALE_WINDOW_S = 2.0
DEGRADED = -1  # the "version" of a listing rendered while Redis is unreachable: never served by the fast path
DEGRADED_MAX_AGE_S = 5.0
LOCK_MS = 15_000
WAIT_S = 8.0
RESULT_TTL_S = 120
LOCAL_ENTRIES = 512

# --- Parameters ----------------------------------------------------------------------------------

PARAM_PATTERNS = {
    "sport": r"^[A-Za-z0-9_-]{0,40}$",
    "live": r"^(true|false|1|0)?$",
    "includeEnded": r"^(true|false|1|0)?$",
    "status": r"^(upcoming|live|ended)?$",
    "date": r"^([0-9]{4}-[0-9]{2}-[0-9]{2})?$",
    "page": r"^([0-9]{1,9})?$",
    "limit": r"^([0-9]{1,9})?$",
}
PARAM_NAMES = tuple(PARAM_PATTERNS)
_COMPILED = {name: re.compile(pattern) for name, pattern in PARAM_PATTERNS.items()}
_BOOL = {"true": True, "1": True, "false": False, "0": False, "": None}


class ListingParamError(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@dataclasses.dataclass(frozen=True, slots=True)
class ListingParams:
    filter: GameFilter
    page: int
    limit: int

    @property
    def key(self) -> str:
        f = self.filter
        return f"{f.sport or ''}|{f.live}|{f.include_ended}|{f.status or ''}|{f.date or ''}|{self.page}|{self.limit}"


def listing_params_parse(raw: Mapping[str, str | None]) -> ListingParams:
    """Validate and normalise query parameters; `limit` is clamped to 1..100, `page` to >= 1."""
    values: dict[str, str] = {}
    for name in PARAM_NAMES:
        value = raw.get(name)
        value = "" if value is None else value
        if not _COMPILED[name].match(value):
            raise ListingParamError(name, f"invalid {name}: must match {PARAM_PATTERNS[name]}")
        values[name] = value
    date = None
    if values["date"]:
        try:
            date = dt.date.fromisoformat(values["date"])
        except ValueError:
            raise ListingParamError("date", "invalid date: expected a calendar date YYYY-MM-DD (UTC)") from None
    flt = GameFilter(
        sport=values["sport"].lower() or None,
        live=_BOOL[values["live"]],
        include_ended=bool(_BOOL[values["includeEnded"]]),
        status=values["status"] or None,
        date=date,
    )
    page = max(1, int(values["page"] or 1))
    limit = min(MAX_LIMIT, max(1, int(values["limit"] or DEFAULT_LIMIT)))
    return ListingParams(filter=flt, page=page, limit=limit)


# --- Rendering -----------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class ListingBody:
    version: int
    built_at: float  # epoch seconds
    body: bytes
    gz: bytes
    etag: str  # content hash, without quotes
    stale: bool = False  # served from this process's last copy while PostgreSQL is unavailable

    @classmethod
    def make(cls, version: int, body: bytes) -> ListingBody:
        digest = hashlib.blake2b(body, digest_size=12).hexdigest()
        return cls(version, time.time(), body, gzip.compress(body, compresslevel=6, mtime=0), digest)

    def fresh(self, version: int) -> bool:
        return self.version == version and time.time() - self.built_at < MAX_AGE_S

    def as_stale(self) -> ListingBody:
        """This listing marked stale: `"stale": true` in the body, `X-Stale: 1` (listing_response)."""
        body = b'{"stale":true,' + self.body[1:]
        return dataclasses.replace(self, body=body, gz=gzip.compress(body, compresslevel=6, mtime=0),
                                   etag=self.etag + "-stale", stale=True)


def listing_render(params: ListingParams, now: dt.datetime | None = None) -> bytes:
    """The listing JSON for these parameters from current state (a constant number of queries)."""
    now = now or dt.datetime.now(dt.UTC)
    ids, total = games_listing_page(params.filter, page=params.page, limit=params.limit, now=now)
    views = game_views_load(ids) if ids else {}
    ordered = [views[gamma_id] for gamma_id in ids if gamma_id in views]
    try:
        prices = prices_read(t for view in ordered for t in view.token_ids)
    except RedisError:  # degrade to the last persisted prices rather than fail
        log.warning("listing: Redis prices unavailable, using persisted prices")
        prices = {}
    histories = game_histories_load([view.pk for view in ordered], now)
    games = [frontend_game_build(view, prices, histories.get(view.pk)) for view in ordered]
    offset = (params.page - 1) * params.limit
    return orjson.dumps(
        {
            "success": True,
            "count": len(games),
            "total": total,
            "page": params.page,
            "limit": params.limit,
            "hasMore": offset + len(games) < total,
            "games": games,
        }
    )


# Builds run on one dedicated thread: its DB connection persists across builds (CONN_MAX_AGE) instead
# of being opened in whichever request thread happened to miss.
_builder = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="listing-build")


@metrics.LISTING_BUILD_SECONDS.labels("frontend").time()
def _render_in_thread(params: ListingParams) -> bytes:
    metrics.LISTING_BUILDS.labels("frontend").inc()
    close_old_connections()
    try:
        # Read-only: served by the read replica when DATABASE_REPLICA_URL is set and healthy.
        with replica_reads():
            return listing_render(params)
    finally:
        close_old_connections()


async def _render(params: ListingParams) -> bytes:
    return await asyncio.get_running_loop().run_in_executor(_builder, _render_in_thread, params)


# --- HTTP representation (shared by the Django view and the ASGI fast path) --------------------------


def gzip_accepted(accept_encoding: str) -> bool:
    for item in accept_encoding.split(","):
        coding, _, params = item.strip().partition(";")
        if coding.strip().lower() not in ("gzip", "x-gzip", "*"):
            continue
        quality = params.strip().lower()
        if quality.startswith("q="):
            try:
                return float(quality[2:]) > 0
            except ValueError:
                return False
        return True
    return False


def etag_matches(if_none_match: str, digest: str) -> bool:
    """If-None-Match (weak comparison, RFC 9110) against the listing's plain or gzip ETag."""
    tags = parse_etags(if_none_match)
    return "*" in tags or any(tag.removeprefix("W/") in (f'"{digest}"', f'"{digest}-gz"') for tag in tags)


def listing_response(
    entry: ListingBody, accept_encoding: str, if_none_match: str
) -> tuple[int, list[tuple[str, str]], bytes]:
    """(status, headers, body) for a listing: gzip when accepted, 304 on a matching ETag."""
    use_gzip = gzip_accepted(accept_encoding)
    etag = f'"{entry.etag}-gz"' if use_gzip else f'"{entry.etag}"'
    headers = [("ETag", etag), ("Cache-Control", CACHE_CONTROL), ("Vary", "Accept-Encoding")]
    if entry.stale:  # PostgreSQL unavailable: the last listing this process had; caches must not keep it
        headers = [("ETag", etag), ("Cache-Control", "no-cache"), ("Vary", "Accept-Encoding"), ("X-Stale", "1")]
    if etag_matches(if_none_match, entry.etag):
        return 304, headers, b""
    headers.insert(0, ("Content-Type", "application/json"))
    if use_gzip:
        headers.append(("Content-Encoding", "gzip"))
        return 200, headers, entry.gz
    return 200, headers, entry.body


# --- Version and invalidation ----------------------------------------------------------------------

_BUMP = """
if ARGV[2] == '1' then redis.call('INCR', KEYS[1]) end
local dirty = tonumber(redis.call('GET', KEYS[1]) or '0')
local seen = tonumber(redis.call('GET', KEYS[2]) or '0')
local version = redis.call('GET', KEYS[3])
if not version then
  -- Start from the clock, so a Redis that lost its data never re-issues a version a process still holds.
  local now = redis.call('TIME')
  version = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
  redis.call('SET', KEYS[3], version)
end
version = tonumber(version)
if dirty > seen and redis.call('SET', KEYS[4], '1', 'NX', 'PX', tonumber(ARGV[3])) then
  redis.call('SET', KEYS[2], dirty)
  version = redis.call('INCR', KEYS[3])
  redis.call('PUBLISH', ARGV[1], version)
end
return version
"""


def _bump_keys() -> list[str]:
    return [
        redis_key("listing", "dirty"),
        redis_key("listing", "seen"),
        redis_key("listing", "version"),
        redis_key("listing", "gate"),
    ]


def version_channel() -> str:
    return redis_key("listing", "versions")


def built_channel() -> str:
    return redis_key("listing", "built")


def builds_key() -> str:
    """Counter of listing builds, cluster-wide (observability and the coalescing test)."""
    return redis_key("listing", "builds")


def listing_counters() -> tuple[int, int]:
    """(the cluster-wide listing version, how many builds ever) for status pages."""
    version, builds = redis_sync().mget(redis_key("listing", "version"), builds_key())
    return int(version or 0), int(builds or 0)


def listing_invalidate() -> int:
    """Mark the listing stale after any change to games or prices; cheap, call it freely.

    The version moves (and is broadcast) at most about once a second; a mark made inside that window
    is published by the next call or by any HTTP process's poll within ~POLL_S after the window.
    """
    return int(redis_sync().eval(_BUMP, 4, *_bump_keys(), version_channel(), "1", PUBLISH_EVERY_MS))


async def listing_invalidate_async() -> int:
    return int(await redis_async().eval(_BUMP, 4, *_bump_keys(), version_channel(), "1", PUBLISH_EVERY_MS))


async def _version_flush() -> int:
    """Publish a pending mark if the gate allows; returns the current version."""
    return int(await redis_async().eval(_BUMP, 4, *_bump_keys(), version_channel(), "0", PUBLISH_EVERY_MS))


# --- Per-process state -------------------------------------------------------------------------------

_local: cachetools.LRUCache[str, ListingBody] = cachetools.LRUCache(maxsize=LOCAL_ENTRIES)
# True from a listing build failing on the database until one succeeds; the fast path defers to Django
# meanwhile, so outdated listings go out marked stale.
_database = {"failing": False}


class _Cluster:
    """This process's view of the cluster: the version (pub/sub + polling) and build notifications."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.version: int | None = None
        self.seen_at = 0.0
        self.changed_at = 0.0  # monotonic time this process saw the version move
        self.task: asyncio.Task[None] | None = None
        self.built: dict[str, asyncio.Event] = {}
        self.inflight: dict[tuple[str, int], asyncio.Task[ListingBody]] = {}
        self.version_fetch: asyncio.Task[int] | None = None

    def ensure_watching(self) -> None:
        if self.task is None or self.task.done():
            self.task = self.loop.create_task(self._watch())

    def version_fresh(self) -> int | None:
        if self.version is not None and time.monotonic() - self.seen_at < VERSION_FRESH_S:
            return self.version
        return None

    def _set_version(self, version: int) -> None:
        if version != self.version:
            self.changed_at = time.monotonic()
        self.version = version
        self.seen_at = time.monotonic()

    def refresh(self, params: ListingParams) -> None:
        """Bring this listing up to date in the background (deduplicated by listing_get)."""
        if (params.key, self.version) in self.inflight:
            return
        task = self.loop.create_task(listing_get(params))
        task.add_done_callback(_log_failure)

    async def version_now(self) -> int:
        fresh = self.version_fresh()
        if fresh is not None:
            return fresh
        # Concurrent callers share one fetch: one Redis round trip and connection per process, not
        # one per waiting request (the async client's pool would grow to the request concurrency).
        if self.version_fetch is None or self.version_fetch.done():
            self.version_fetch = self.loop.create_task(_version_flush())
        self._set_version(await asyncio.shield(self.version_fetch))
        return self.version  # type: ignore[return-value]

    async def _watch(self) -> None:
        while True:
            pubsub = redis_async().pubsub()
            try:
                await pubsub.subscribe(version_channel(), built_channel())
                next_poll = 0.0
                while True:
                    if time.monotonic() >= next_poll:
                        self._set_version(await _version_flush())
                        next_poll = time.monotonic() + POLL_S
                    message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=POLL_S)
                    if message and message.get("type") == "message":
                        self._dispatch(message["channel"], message["data"])
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # Redis away: the fast path stops serving until we are back
                log.warning("listing watcher: %s", exc)
                self.version = None
                await asyncio.sleep(1.0)
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()

    def _dispatch(self, channel: bytes, data: bytes) -> None:
        text = data.decode(errors="replace")
        if channel.decode(errors="replace") == version_channel():
            if text.isdigit():
                self._set_version(int(text))
            return
        event = self.built.get(text)
        if event is not None:
            event.set()

    async def wait_built(self, flight: str, timeout: float) -> None:
        event = self.built.setdefault(flight, asyncio.Event())
        try:
            await event_wait(event, timeout)
        finally:
            self.built.pop(flight, None)  # one waiter per flight per process (listing_get dedups)


_clusters: dict[int, _Cluster] = {}


async def listing_shutdown() -> None:
    """Stop this loop's version watcher and close the builder's DB connection (tests, orderly exit)."""
    cluster = _clusters.get(id(asyncio.get_running_loop()))
    if cluster is not None and cluster.task is not None:
        await tasks_cancel([cluster.task])
        cluster.task = None
    await asyncio.get_running_loop().run_in_executor(_builder, connections.close_all)


def _cluster() -> _Cluster:
    loop = asyncio.get_running_loop()
    cluster = _clusters.get(id(loop))
    if cluster is None or cluster.loop is not loop:
        _clusters.clear()  # one event loop per process in production; tests may switch loops
        cluster = _clusters[id(loop)] = _Cluster(loop)
    cluster.ensure_watching()
    return cluster


def _log_failure(task: asyncio.Task[ListingBody]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.warning("listing: background refresh failed: %r", task.exception())


def listing_cached(params: ListingParams) -> ListingBody | None:
    """What the fast path may serve for this query without I/O, or None (then Django answers).

    The current version's listing while fresh; right after a version move (or the age limit) the
    previous one, for STALE_WINDOW_S, while a background task refreshes it.
    """
    cluster = _cluster()
    version = cluster.version_fresh()
    entry = _local.get(params.key)
    if version is None or entry is None:
        return None
    if entry.version != version and _database["failing"]:
        return None  # rebuilds fail on the database: Django serves the last listing marked stale
    if entry.fresh(version):
        return entry
    age = time.time() - entry.built_at
    just_moved = entry.version != version and time.monotonic() - cluster.changed_at < STALE_WINDOW_S
    just_aged = entry.version == version and age < MAX_AGE_S + STALE_WINDOW_S
    if (just_moved and age < MAX_AGE_S) or just_aged:
        cluster.refresh(params)
        return entry
    return None


# --- Singleflight ----------------------------------------------------------------------------------


def _flight(key: str, version: int) -> str:
    return f"{hashlib.blake2b(key.encode(), digest_size=10).hexdigest()}:{version}"


def _result_key(flight: str) -> str:
    return redis_key("listing", "body", flight)


async def _result_read(flight: str) -> ListingBody | None:
    raw = await redis_async().hgetall(_result_key(flight))
    if not raw or b"meta" not in raw:
        return None
    meta = orjson.loads(raw[b"meta"])
    return ListingBody(meta["version"], meta["built_at"], raw[b"body"], raw[b"gz"], meta["etag"])


async def _build_and_share(params: ListingParams, version: int, flight: str) -> ListingBody:
    body = await _render(params)
    entry = ListingBody.make(version, body)
    meta = orjson.dumps({"version": version, "built_at": entry.built_at, "etag": entry.etag})
    pipe = redis_async().pipeline(transaction=True)
    pipe.hset(_result_key(flight), mapping={"meta": meta, "body": entry.body, "gz": entry.gz})
    pipe.expire(_result_key(flight), RESULT_TTL_S)
    pipe.incr(builds_key())
    pipe.publish(built_channel(), flight)
    await pipe.execute()
    return entry


async def _obtain(cluster: _Cluster, params: ListingParams, version: int) -> ListingBody:
    flight = _flight(params.key, version)
    lock = redis_async().lock(redis_key("listing", "lock", flight), timeout=LOCK_MS / 1000, blocking=False)
    deadline = time.monotonic() + WAIT_S
    try:
        while True:
            found = await _result_read(flight)
            if found is not None and found.fresh(version):
                metrics.LISTING_SINGLEFLIGHT_WAITS.labels("frontend").inc()  # built by another process
                return found
            if await lock.acquire():
                try:
                    # The builder may have stored its result and released the lock between our read
                    # above and taking the lock: read again, or this would be a second build.
                    found = await _result_read(flight)
                    if found is not None and found.fresh(version):
                        metrics.LISTING_SINGLEFLIGHT_WAITS.labels("frontend").inc()
                        return found
                    return await _build_and_share(params, version, flight)
                finally:
                    with contextlib.suppress(LockError):  # expired meanwhile: someone else may hold it now
                        await lock.release()
            if time.monotonic() > deadline:
                log.warning("listing: no result from the builder of %s within %ss", flight, WAIT_S)
                break
            await cluster.wait_built(flight, 0.1)
    except RedisError as exc:
        log.warning("listing: Redis singleflight failed (%s); serving locally", exc)
    stale = _local.get(params.key)
    if stale is not None:
        return stale
    return await _build_local(params, version)


async def _build_local(params: ListingParams, version: int) -> ListingBody:
    return ListingBody.make(version, await _render(params))


async def listing_get(params: ListingParams) -> ListingBody:
    """The current listing: from this process, else from the cluster's one builder.

    Without Redis it is rendered locally (persisted prices), once per DEGRADED_MAX_AGE_S per query.
    """
    cluster = _cluster()
    entry = _local.get(params.key)
    try:
        version = await cluster.version_now()
    except RedisError as exc:
        log.warning("listing: version unavailable (%s); rendering without the cluster", exc)
        version = DEGRADED
        if entry is not None and time.time() - entry.built_at < DEGRADED_MAX_AGE_S:
            return entry
    else:
        if entry is not None and entry.fresh(version):
            return entry
    flight = (params.key, version)
    metrics.LISTING_CACHE.labels("frontend", "miss").inc()
    task = cluster.inflight.get(flight)
    if task is not None:  # another request of this process is building it
        metrics.LISTING_SINGLEFLIGHT_WAITS.labels("frontend").inc()
    if task is None:
        work = _build_local(params, version) if version == DEGRADED else _obtain(cluster, params, version)
        task = cluster.loop.create_task(work)
        cluster.inflight[flight] = task

        def done(finished: asyncio.Task[ListingBody]) -> None:
            cluster.inflight.pop(flight, None)
            if not finished.cancelled() and finished.exception() is None:
                result = finished.result()
                current = _local.get(params.key)
                if current is None or result.built_at >= current.built_at:
                    _local[params.key] = result
                _database["failing"] = False

        task.add_done_callback(done)
    try:
        return await asyncio.shield(task)
    except DatabaseError as exc:
        # PostgreSQL unavailable: keep serving this process's last listing, marked stale (docs/OPERATIONS.md
        # "Failure modes"; tests/reliability/test_postgres_outage.py). Without one the API answers 503.
        _database["failing"] = True
        last = _local.get(params.key)
        if last is None:
            raise
        log.warning("listing: database unavailable (%s); serving the last listing, stale", type(exc).__name__)
        return last.as_stale()
