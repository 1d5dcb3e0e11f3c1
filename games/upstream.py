"""HTTP client for Gamma REST: timeouts from settings, retries with back-off, list-shape tolerance."""

from __future__ import annotations

import email.utils
import itertools
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar

import httpx
import orjson
import tenacity
from django.conf import settings
from redis.exceptions import RedisError

from core import metrics
from core.redis import redis_key, redis_sync
from core.tls import tls_context

log = logging.getLogger(__name__)

HEADERS = {
    "Accept": "application/json",
    "User-Agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124 Safari/537.36",
}
RETRY_STATUSES = {429, 500, 502, 503, 504}
MAX_BACKOFF_S = 10.0
MAX_RETRY_AFTER_S = 60.0  # a longer Retry-After is not waited out in full: the caller's next run retries
T = TypeVar("T")


class UpstreamError(Exception):
    """The upstream could not give a usable answer after retries (the caller keeps its last good data)."""


class _Retryable(Exception):
    """One failed attempt worth retrying; `retry_after` is the server's own wait, when it said one."""

    def __init__(self, problem: str, retry_after: float | None = None) -> None:
        super().__init__(problem)
        self.retry_after = retry_after


# "Equal jitter": half the exponential step fixed, half random (1 s, 2 s, 4 s … up to MAX_BACKOFF_S).
_backoff = tenacity.wait_exponential(multiplier=0.5, max=MAX_BACKOFF_S / 2) + tenacity.wait_random_exponential(
    multiplier=0.5, max=MAX_BACKOFF_S / 2
)


def _retry_wait(state: tenacity.RetryCallState) -> float:
    """The server's Retry-After when given (at most MAX_RETRY_AFTER_S), else jittered exponential back-off."""
    failure = state.outcome.exception() if state.outcome else None
    if isinstance(failure, _Retryable) and failure.retry_after is not None:
        return min(failure.retry_after, MAX_RETRY_AFTER_S)
    return _backoff(state)


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """`Retry-After` as delta-seconds or as an HTTP-date."""
    if not value:
        return None
    text = value.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def rows_of(payload: Any) -> list[Any]:
    """A bare array, or `{data: [...]}` / `{events: [...]}` (other list keys too). Items are returned as
    they came: the caller skips (and counts) the ones that are not objects."""
    if isinstance(payload, dict):
        for key in ("data", "events", "markets", "teams", "sports"):
            if isinstance(payload.get(key), list):
                payload = payload[key]
                break
        else:
            raise UpstreamError(f"expected a list, got an object with keys {sorted(payload)[:8]}")
    if not isinstance(payload, list):
        raise UpstreamError(f"expected a list, got {type(payload).__name__}")
    return payload


class ListedPage(Protocol):
    """One page of a list endpoint: its row count and each row's id (None for a row that is not an object)."""

    @property
    def ids(self) -> list[Any]: ...

    def __len__(self) -> int: ...


P = TypeVar("P", bound=ListedPage)


class Rows(list[Any]):
    """A page's rows, decoded."""

    @property
    def ids(self) -> list[Any]:
        return [row.get("id") if isinstance(row, dict) else None for row in self]


def rows_read(body: bytes) -> Rows:
    return Rows(rows_of(orjson.loads(body)))


def _decoded(path: str, body: bytes, read: Callable[[bytes], T]) -> T:
    try:
        return read(body)
    except orjson.JSONDecodeError as exc:
        raise UpstreamError(f"GET {path}: invalid JSON ({exc})") from exc


_calls = itertools.count()


def _call_id() -> str:
    """A request call (its retries included), as the owner of a pause: only the call that got a 429 waits it
    out through its own retry; every other call waits for what is left of it, in this process or another. The
    pid is taken now: INSTANCE_ID names the process that imported the settings, which Celery's prefork
    children all inherit from their parent."""
    return f"{settings.INSTANCE_ID}/{os.getpid()}/{next(_calls)}"


def _shared_pause_key() -> str:
    return redis_key("upstream", "gamma", "retry-after")


def _shared_pause_set(seconds: float, owner: str) -> None:
    """Tell the other processes (sports workers, other instances: one egress to Gamma) to hold back too."""
    if seconds > 0:
        try:
            redis_sync().set(_shared_pause_key(), owner, px=max(1, int(seconds * 1000)))
        except RedisError as exc:  # the local pause still holds this process's threads back
            log.warning("gamma Retry-After not shared: %r", exc)


def _shared_pause_left(caller: str) -> float:
    """Seconds left of a Retry-After another call was given (0 when none, or Redis is unreachable)."""
    try:
        pipe = redis_sync().pipeline(transaction=False)
        pipe.get(_shared_pause_key())
        pipe.pttl(_shared_pause_key())
        owner, left_ms = pipe.execute()
    except RedisError:
        return 0.0
    if owner is None or left_ms <= 0 or _text(owner) == caller:
        return 0.0
    return left_ms / 1000


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


class GammaClient:
    """Synchronous Gamma client (Celery tasks and the management command are synchronous)."""

    def __init__(
        self,
        base_url: str | None = None,
        *,
        timeout_s: float | None = None,
        max_retries: int | None = None,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.base_url = (base_url or settings.GAMMA_URL).rstrip("/")
        self.max_retries = settings.UPSTREAM_MAX_RETRIES if max_retries is None else max_retries
        self._sleep = sleep
        self._http = httpx.Client(
            base_url=self.base_url,
            timeout=timeout_s or settings.UPSTREAM_TIMEOUT_S,
            headers=HEADERS,
            transport=transport,
            verify=tls_context(),
        )
        self.requests = 0
        # Retry-After binds the whole client: threads fetching ahead wait out another call's 429 too, and they
        # take turns on the wire, so none has a request in flight when another one's 429 arrives.
        self._turn = threading.Lock()
        self._paused_until = 0.0
        self._paused_by: str | None = None

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> GammaClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def get_bytes(self, path: str, params: Mapping[str, Any] | None = None) -> bytes:
        """GET the body, with retries on network errors, timeouts, 5xx and 429 (honouring Retry-After)."""
        retrying = tenacity.Retrying(
            stop=tenacity.stop_after_attempt(self.max_retries + 1),
            wait=_retry_wait,
            retry=tenacity.retry_if_exception_type(_Retryable),
            before_sleep=lambda state: log.warning(
                "gamma GET %s: %s, retry in %.2f s", path, state.outcome.exception(), state.upcoming_sleep
            ),
            sleep=self._sleep,
            reraise=True,
        )
        try:
            return retrying(self._get_once, path, params, _call_id())
        except _Retryable as exc:
            attempts = retrying.statistics.get("attempt_number", 1)
            raise UpstreamError(f"GET {path} {dict(params or {})}: {exc} after {attempts} attempts") from exc

    def get_json(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        return _decoded(path, self.get_bytes(path, params), orjson.loads)

    def _pause_wait(self, call: str) -> None:
        """Wait out a Retry-After another call, thread or process was given (the call that got it waits it out
        through its retry; once it gives up, its thread's next call waits like any other)."""
        wait = self._paused_until - time.monotonic() if self._paused_by != call else 0.0
        wait = max(wait, _shared_pause_left(call))
        if wait > 0:
            self._sleep(wait)

    def _pause(self, seconds: float, call: str) -> None:
        seconds = min(seconds, MAX_RETRY_AFTER_S)
        self._paused_until = max(self._paused_until, time.monotonic() + seconds)
        self._paused_by = call
        _shared_pause_set(seconds, call)

    def _get_once(self, path: str, params: Mapping[str, Any] | None, call: str) -> bytes:
        with self._turn:
            self._pause_wait(call)
            self.requests += 1
            try:
                response = self._http.get(path, params=params)
            except httpx.TransportError as exc:  # connect/read errors and timeouts
                metrics.upstream_http("gamma", None)
                raise _Retryable(f"{type(exc).__name__}: {exc}") from exc
            metrics.upstream_http("gamma", response.status_code)
            if response.status_code in RETRY_STATUSES:
                retry_after = retry_after_seconds(response.headers.get("Retry-After"))
                if retry_after is not None:
                    self._pause(retry_after, call)
                raise _Retryable(f"HTTP {response.status_code}", retry_after)
        if response.status_code >= 400:
            raise UpstreamError(f"GET {path} {dict(params or {})}: HTTP {response.status_code}")
        return response.content

    def get_list(self, path: str, params: Mapping[str, Any] | None = None) -> list[Any]:
        return rows_of(self.get_json(path, params))

    def pages(
        self, path: str, params: Mapping[str, Any], *, limit: int, max_pages: int = 50, honoured: bool = False,
        read: Callable[[bytes], P] = rows_read,  # type: ignore[assignment]
    ) -> Iterator[P]:
        """Offset pagination that survives silent limit clamping: stop on an empty page, a page shorter
        than the longest seen, or a page that repeats the previous one (offset ignored). With `honoured`
        (the limit is within the endpoint's known page cap), a page shorter than the limit is the last:
        no empty page is asked for. `read` turns a page's body into its rows."""
        offset = 0
        longest = 0
        previous_ids: list[Any] | None = None
        for _ in range(max_pages):
            page = _decoded(path, self.get_bytes(path, {**params, "limit": limit, "offset": offset}), read)
            ids = page.ids
            if not ids or ids == previous_ids:
                return
            yield page
            previous_ids = ids
            longest = max(longest, len(page))
            if len(page) < longest or len(page) < min(limit, 20) or (honoured and len(page) < limit):
                return
            offset += len(page)
        log.warning("gamma GET %s: pagination stopped after %d pages", path, max_pages)
