"""Every Prometheus metric of MEVU, declared in one place (see docs/OPERATIONS.md "Metrics and alerts").

Multiprocess mode: one container runs several processes (N daphne processes sharing a socket, Celery
workers with prefork children, beat, the stream worker), so each process writes its samples to
memory-mapped files in PROMETHEUS_MULTIPROC_DIR (created per container by `manage.py serve`) and a
scrape of any process (`/metrics` on HTTP instances, METRICS_PORT in the workers container) sums the
whole container. Without that variable (a bare `daphne`, tests) the usual in-process registry is used.

Gauge modes: `livesum` for things that only exist while a process lives (connections); `livemax` for
"this container holds X" flags; `max` for values that only grow or are timestamps and must survive a
process restart (fencing token, time of the last upstream frame).

Label values are bounded: routes are URL templates, types are mapped onto known sets ("other").
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
import time

from prometheus_client import (
    Counter,
    Gauge,
    Histogram,
)
from prometheus_client import multiprocess as _multiprocess

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
if os.environ.get(MULTIPROC_ENV):  # values below open their files at import: the directory must exist
    os.makedirs(os.environ[MULTIPROC_ENV], exist_ok=True)

FAST_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
SLOW_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 900.0)

# --- HTTP (ASGI middleware ops/metrics_asgi.py) --------------------------------------------------
HTTP_REQUESTS = Counter(
    "mevu_http_requests_total", "HTTP requests answered, by URL route template, method and status code.",
    ["route", "method", "status"],
)
HTTP_LATENCY = Histogram(
    "mevu_http_request_duration_seconds",
    "Time from receiving an HTTP request to sending the response headers (time to first byte).",
    ["route", "method"], buckets=FAST_BUCKETS,
)

# --- Game listing hot path -------------------------------------------------------------------------
LISTING_BUILDS = Counter(
    "mevu_listing_builds_total", "Listing payloads built from the database (cache misses that did the work).",
    ["listing"],
)
LISTING_BUILD_SECONDS = Histogram(
    "mevu_listing_build_duration_seconds", "Time to build one listing payload.", ["listing"], buckets=FAST_BUCKETS,
)
LISTING_CACHE = Counter(
    "mevu_listing_cache_total", "Listing cache lookups, by result (hit|miss).", ["listing", "result"],
)
LISTING_SINGLEFLIGHT_WAITS = Counter(
    "mevu_listing_singleflight_waits_total",
    "Requests that waited for a concurrent build of the same listing instead of building it again.",
    ["listing"],
)

# --- Realtime delivery (WebSockets / SSE) ----------------------------------------------------------
WS_CONNECTIONS = Gauge(
    "mevu_ws_connections", "Open WebSocket connections.", ["route"], multiprocess_mode="livesum",
)
WS_CONNECTIONS_OPENED = Counter(
    "mevu_ws_connections_opened_total", "WebSocket connections accepted.", ["route"],
)
WS_SUBSCRIPTIONS = Gauge(
    "mevu_ws_subscriptions", "Active topic subscriptions over all open connections.", multiprocess_mode="livesum",
)
WS_SUBSCRIBE_REQUESTS = Counter(
    "mevu_ws_subscribe_requests_total", "Subscribe/unsubscribe requests from clients, by action.", ["action"],
)
WS_FRAMES_SENT = Counter("mevu_ws_frames_sent_total", "WebSocket frames sent to clients.", ["route"])
WS_FRAMES_DROPPED = Counter(
    "mevu_ws_frames_dropped_total",
    "Frames not sent to a client, by reason (slow_client: its backlog exceeded the limit).", ["reason"],
)
WS_RESYNCS = Counter(
    "mevu_ws_resyncs_total", "Resync notices sent (the client must refetch), by reason.", ["reason"],
)
WS_RESUMES = Counter(
    "mevu_ws_resumes_total",
    "Resume requests (reconnect with last seen sequence), by result: hit (gap replayed) or miss (too old).",
    ["result"],
)
WS_SLOW_CLOSES = Counter("mevu_ws_slow_client_closes_total", "Clients closed for staying slow too long.")
SSE_CONNECTIONS = Gauge("mevu_sse_connections", "Open Server-Sent-Events streams.", multiprocess_mode="livesum")
REALTIME_EVENTS_PUBLISHED = Counter(
    "mevu_realtime_events_published_total", "Game events published to the realtime fan-out, by type.", ["type"],
)
REALTIME_DELIVERY_LAG = Histogram(
    "mevu_realtime_delivery_lag_seconds",
    "Time from publishing an event (Redis time) to writing it to a client connection.",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
STALE_FENCE_REJECTIONS = Counter(
    "mevu_stale_fence_rejections_total", "Writes refused because the writer's fencing token was stale.", ["lease"],
)

# --- Upstream sockets (CLOB market channel, sports scores) ----------------------------------------
UPSTREAM_FRAMES = Counter(
    "mevu_upstream_frames_total", "Upstream socket events received, by source and event type.",
    ["source", "type"],
)
UPSTREAM_MALFORMED = Counter(
    "mevu_upstream_malformed_frames_total", "Upstream messages that could not be parsed (skipped).", ["source"],
)
UPSTREAM_RECONNECTS = Counter(
    "mevu_upstream_reconnects_total", "Upstream socket (re)connection attempts after a drop or stall.", ["source"],
)
UPSTREAM_LAST_FRAME = Gauge(
    "mevu_upstream_last_frame_timestamp_seconds",
    "Unix time of the last message received on an upstream socket (age = time() - value).",
    ["source", "socket"], multiprocess_mode="max",
)
UPSTREAM_SOCKETS = Gauge(
    "mevu_upstream_sockets_open", "Upstream sockets currently open.", ["source"], multiprocess_mode="livesum",
)
UPSTREAM_TOKENS = Gauge(
    "mevu_upstream_subscribed_tokens", "CLOB token ids currently subscribed by the stream holder.",
    multiprocess_mode="livemax",
)
UPSTREAM_HTTP = Counter(
    "mevu_upstream_http_requests_total", "Upstream REST calls (Gamma, CLOB), by api and outcome.",
    ["api", "outcome"],
)
PRICES_WRITTEN = Counter("mevu_prices_written_total", "Token prices written to the shared price hash.")
STREAM_LOOP_LAG = Gauge(
    "mevu_stream_loop_lag_max_seconds", "Longest event-loop stall of the stream program since it started.",
    multiprocess_mode="livemax",
)
STREAM_EVENTS = Counter(
    "mevu_stream_events_total",
    "Stream program bookkeeping, by kind: duplicates, stale, unknown_asset, hash_ok, hash_mismatch, "
    "resnapshots, published, publish_errors, persisted.",
    ["kind"],
)

# --- Lease + fencing -------------------------------------------------------------------------------
LEASE_HELD = Gauge(
    "mevu_lease_held", "1 while a process of this instance holds the lease.", ["lease"], multiprocess_mode="livemax",
)
LEASE_FENCE = Gauge(
    "mevu_lease_fencing_token", "Fencing token of the last lease acquired here (only grows).", ["lease"],
    multiprocess_mode="max",
)
LEASE_RENEWALS = Counter(
    "mevu_lease_renewals_total", "Lease renewals, by result (ok|lost).", ["lease", "result"],
)
LEASE_TAKEOVERS = Counter(
    "mevu_lease_takeovers_total", "Lease acquisitions (a new holder and a new fencing token).", ["lease"],
)

# --- Celery (signals wired in mevu/celery.py) -----------------------------------------------------
TASK_RUNS = Counter("mevu_celery_task_runs_total", "Celery task runs finished, by task and state.", ["task", "state"])
TASK_FAILURES = Counter(
    "mevu_celery_task_failures_total", "Celery task runs that raised, by task and exception class.",
    ["task", "exception"],
)
TASK_DURATION = Histogram(
    "mevu_celery_task_duration_seconds", "Celery task run time.", ["task"], buckets=SLOW_BUCKETS,
)
TASKS_RUNNING = Gauge(
    "mevu_celery_tasks_running", "Celery tasks executing right now.", ["task"], multiprocess_mode="livesum",
)

# --- Ingestion (Gamma / CLOB polling) ---------------------------------------------------------------
INGEST_UPSERTS = Counter("mevu_ingest_upserts_total", "Rows inserted or updated by ingestion, by entity.", ["entity"])
INGEST_SKIPPED = Counter(
    "mevu_ingest_skipped_total", "Upstream records skipped as invalid (logged, never crash), by entity.", ["entity"],
)

# --- Backends --------------------------------------------------------------------------------------
REDIS_ERRORS = Counter("mevu_redis_errors_total", "Redis errors seen by MEVU code, by exception class.", ["kind"])
POSTGRES_ERRORS = Counter(
    "mevu_postgres_errors_total", "PostgreSQL errors seen by MEVU code, by exception class.", ["kind"],
)

CLOB_FRAME_TYPES = frozenset(
    {"book", "price_change", "last_trade_price", "tick_size_change", "best_bid_ask", "new_market",
     "market_resolved", "pong"}
)


def upstream_frame(source: str, frame_type: str, socket: str) -> None:
    """Count one upstream message and stamp its socket's last-frame time (type bounded to known values)."""
    label = frame_type if frame_type in CLOB_FRAME_TYPES or source != "clob" else "other"
    UPSTREAM_FRAMES.labels(source, label).inc()
    UPSTREAM_LAST_FRAME.labels(source, socket).set(time.time())


def upstream_http(api: str, status: int | None) -> None:
    """Count one upstream REST call: outcome 2xx/3xx/4xx/5xx, 429 (rate limited) or transport_error."""
    outcome = "transport_error" if status is None else "429" if status == 429 else f"{status // 100}xx"
    UPSTREAM_HTTP.labels(api, outcome).inc()


def backend_error(exc: BaseException) -> bool:
    """Count a Redis or PostgreSQL error once (also when wrapped by another exception); True if counted."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if getattr(current, "_mevu_counted", False):
            return False
        counter = _backend_counter(current)
        if counter is not None:
            counter.labels(type(current).__name__).inc()
            # Exceptions with __slots__ cannot be marked: they may count again if re-reported.
            with contextlib.suppress(AttributeError):
                current._mevu_counted = True  # type: ignore[attr-defined]
            return True
        current = current.__cause__ or current.__context__
    return False


def _backend_counter(exc: BaseException) -> Counter | None:
    module = type(exc).__module__
    root = module.split(".")[0]
    if root == "redis":
        return REDIS_ERRORS
    if root in ("psycopg", "psycopg2") or module == "django.db.utils":
        return POSTGRES_ERRORS
    return None


def multiprocess_enabled() -> bool:
    return bool(os.environ.get(MULTIPROC_ENV))


# --- The per-container multiprocess directory (managed by ops/supervisor.py) -----------------
_LIVE_GAUGE_FILE = re.compile(r"^gauge_live[a-z]+_(\d+)\.db$")


def metrics_dir_prepare(env: dict[str, str]) -> tuple[str, bool]:
    """Create (or empty) the container's metrics directory and put it into the children's env.

    Returns (path, created): an operator-given PROMETHEUS_MULTIPROC_DIR is emptied and kept; otherwise
    a private temporary directory is created, to be removed by metrics_dir_remove at shutdown.
    """
    path = env.get(MULTIPROC_ENV, "")
    created = not path
    if created:
        _private_dirs_sweep()
        path = tempfile.mkdtemp(prefix=f"mevu-metrics-{os.getpid()}-")
    else:
        os.makedirs(path, exist_ok=True)
        for name in os.listdir(path):
            if name.endswith(".db"):
                os.unlink(os.path.join(path, name))
    env[MULTIPROC_ENV] = path
    return path, created


_PRIVATE_DIR = re.compile(r"^mevu-metrics-(\d+)-")


def _private_dirs_sweep() -> None:
    """Remove private directories left by supervisors that were killed (SIGKILL skips their cleanup)."""
    base = tempfile.gettempdir()
    for name in os.listdir(base):
        match = _PRIVATE_DIR.match(name)
        if match and not _pid_alive(int(match.group(1))):
            shutil.rmtree(os.path.join(base, name), ignore_errors=True)


def metrics_dir_remove(path: str, created: bool) -> None:
    if created:
        shutil.rmtree(path, ignore_errors=True)


def metrics_process_dead(pid: int, path: str) -> None:
    """Forget the live gauges of an exited process (its counters keep counting in the totals)."""
    _multiprocess.mark_process_dead(pid, path)


def metrics_dir_sweep(path: str) -> list[int]:
    """Mark dead every process with live gauges that no longer exists (e.g. a killed Celery pool child)."""
    dead: list[int] = []
    try:
        names = os.listdir(path)
    except FileNotFoundError:
        return dead
    for name in names:
        match = _LIVE_GAUGE_FILE.match(name)
        if match and not _pid_alive(int(match.group(1))):
            metrics_process_dead(int(match.group(1)), path)
            dead.append(int(match.group(1)))
    return dead


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
