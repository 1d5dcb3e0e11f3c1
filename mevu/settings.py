"""The one settings module. Every knob is an environment variable, parsed strictly.

A bad value stops the process at start with one line naming the variable and what it accepts.
"""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path
from urllib.parse import urlsplit

import environ

from core import redisurl as _redisurl

BASE_DIR = Path(__file__).resolve().parent.parent
env = environ.Env()


def _fail(name: str, value: object, accepts: str) -> None:
    sys.stderr.write(f"mevu: invalid {name}={value!r}: expected {accepts}\n")
    raise SystemExit(2)


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    lowered = raw.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    _fail(name, raw, "a boolean (true/false, 1/0, yes/no, on/off)")
    return default


def env_int(name: str, default: int, minimum: int = 0, maximum: int = 1_000_000) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        value = None
    if value is None or not minimum <= value <= maximum:
        _fail(name, raw, f"an integer from {minimum} to {maximum}")
    return value  # type: ignore[return-value]


def env_float(name: str, default: float, minimum: float = 0.0, maximum: float = 1e9) -> float:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        value = None
    if value is None or not minimum <= value <= maximum:
        _fail(name, raw, f"a number from {minimum} to {maximum}")
    return value  # type: ignore[return-value]


def env_choice(name: str, choices: tuple[str, ...], default: str) -> str:
    raw = os.environ.get(name, "") or default
    if raw not in choices:
        _fail(name, raw, "one of " + "|".join(choices))
    return raw


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_url(name: str, default: str, schemes: tuple[str, ...]) -> str:
    raw = os.environ.get(name, "") or default
    parts = urlsplit(raw)
    if parts.scheme not in schemes or not (parts.netloc or parts.query or parts.path):
        _fail(name, raw, "a URL with scheme " + "|".join(schemes))
    return raw.rstrip("/")


# --- Core --------------------------------------------------------------------------------------
DEBUG = env_bool("DEBUG", False)
SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        _fail("SECRET_KEY", "", "a long random string (required when DEBUG is off)")
    SECRET_KEY = "dev-only-insecure-key-not-for-production-use-0123456789abcdef"
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"] if DEBUG else [])
APP_MODE = env_choice("APP_MODE", ("http", "workers", "all"), "all")
WORKER_COUNT = env_int("WORKER_COUNT", 2, minimum=1, maximum=64)
PORT = env_int("PORT", 8000, minimum=1, maximum=65535)
BIND_HOST = os.environ.get("BIND_HOST", "") or "0.0.0.0"  # the address of this instance's HTTP and metrics ports
# Several `workers` instances on one host need distinct names: Celery node names and heartbeats are keyed by it.
MEVU_NODE_NAME = os.environ.get("MEVU_NODE_NAME", "")
# SIGTERM: how long an HTTP process waits for its WebSockets (closed with 1001) and requests to finish.
DRAIN_TIMEOUT_S = env_float("DRAIN_TIMEOUT_S", 10.0, minimum=0.0, maximum=600.0)
# Processes of the Celery `sports` worker in APP_MODE=workers|all (the `stream` worker is always 1).
SPORTS_CONCURRENCY = env_int("SPORTS_CONCURRENCY", 2, minimum=1, maximum=64)
INSTANCE_ID = f"{socket.gethostname()}:{os.getpid()}"

# --- Upstream (Polymarket, or the bundled simulator) --------------------------------------------
MEVU_UPSTREAM = env_choice("MEVU_UPSTREAM", ("live", "sim"), "live")
GAMMA_URL = env_url("GAMMA_URL", "https://gamma-api.polymarket.com", ("http", "https"))
CLOB_URL = env_url("CLOB_URL", "https://clob.polymarket.com", ("http", "https"))
CLOB_WS_URL = env_url("CLOB_WS_URL", "wss://ws-subscriptions-clob.polymarket.com/ws/market", ("ws", "wss"))
SPORTS_WS_URL = env_url("SPORTS_WS_URL", "wss://sports-api.polymarket.com/ws", ("ws", "wss"))
DATA_API_URL = env_url("DATA_API_URL", "https://data-api.polymarket.com", ("http", "https"))  # holders, trades
UPSTREAM_TIMEOUT_S = env_float("UPSTREAM_TIMEOUT_S", 10.0, minimum=0.1, maximum=120)
UPSTREAM_MAX_RETRIES = env_int("UPSTREAM_MAX_RETRIES", 3, minimum=0, maximum=10)
SIM_ARGS = os.environ.get("SIM_ARGS", "")

# --- Apps ----------------------------------------------------------------------------------------
INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "corsheaders",
    "channels",
    "games",
    "markets",
    "delivery",
    "ops",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "core.staticfiles.AsyncWhiteNoiseMiddleware",  # WhiteNoise, async-capable (no thread hop)
    "corsheaders.middleware.CorsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "mevu.urls"
ASGI_APPLICATION = "mevu.asgi.application"
WSGI_APPLICATION = None

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- PostgreSQL ----------------------------------------------------------------------------------
_db_raw = os.environ.get("DATABASE_URL", "") or "postgresql://postgres@127.0.0.1:5432/mevu"
if urlsplit(_db_raw).scheme not in ("postgres", "postgresql", "pgsql"):
    _fail("DATABASE_URL", _db_raw, "a postgresql:// URL")
try:
    _db = env.db_url_config(_db_raw)
except Exception:  # django-environ raises several types on garbage
    _fail("DATABASE_URL", _db_raw, "a postgresql:// URL")
DB_POOLER = env_choice("DB_POOLER", ("none", "pgbouncer"), "none")
DB_CONN_MAX_AGE = env_int("DB_CONN_MAX_AGE", 60, minimum=0, maximum=3600)
_db["ENGINE"] = "core.pgbackend"  # Django's, reading timestamps in C (core/pgbackend/base.py)
_db["CONN_MAX_AGE"] = 0 if DB_POOLER == "pgbouncer" else DB_CONN_MAX_AGE
_db["CONN_HEALTH_CHECKS"] = True
_db.setdefault("OPTIONS", {})
_db["OPTIONS"].setdefault("connect_timeout", env_int("DB_CONNECT_TIMEOUT_S", 5, minimum=1, maximum=60))
if DB_POOLER == "pgbouncer":
    # Transaction pooling: no server-side cursors, no prepared statements, no session state.
    _db["DISABLE_SERVER_SIDE_CURSORS"] = True
    _db["OPTIONS"]["prepare_threshold"] = None
_db["TEST"] = {"NAME": os.environ.get("TEST_DB_NAME", "test_mevu")}
DATABASES = {"default": _db}
# Optional read replica for the hot read-only selectors (core/dbrouter.py). Unset: all on the primary.
DATABASE_REPLICA_URL = os.environ.get("DATABASE_REPLICA_URL", "")
if DATABASE_REPLICA_URL:
    if urlsplit(DATABASE_REPLICA_URL).scheme not in ("postgres", "postgresql", "pgsql"):
        _fail("DATABASE_REPLICA_URL", DATABASE_REPLICA_URL, "a postgresql:// URL")
    try:
        _replica = env.db_url_config(DATABASE_REPLICA_URL)
    except Exception:
        _fail("DATABASE_REPLICA_URL", DATABASE_REPLICA_URL, "a postgresql:// URL")
    DATABASES["replica"] = {
        **_db,
        **_replica,
        "ENGINE": "core.pgbackend",
        "OPTIONS": {**_db["OPTIONS"], **_replica.get("OPTIONS", {})},
        "TEST": {"MIRROR": "default"},
    }
DATABASE_ROUTERS = ["core.dbrouter.ReplicaRouter"]
# The router probes the replica with this connect timeout and trusts the answer for DB_REPLICA_RECHECK_S.
DB_REPLICA_CHECK_TIMEOUT_S = env_int("DB_REPLICA_CHECK_TIMEOUT_S", 1, minimum=1, maximum=30)
DB_REPLICA_RECHECK_S = env_float("DB_REPLICA_RECHECK_S", 5.0, minimum=0.5, maximum=300)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: broker, cache, channel layer, coordination -------------------------------------------
REDIS_URL = env_url("REDIS_URL", "redis://127.0.0.1:6379/0", ("redis", "rediss", "unix", "redis+sentinel"))
# Managed Redis over TLS (rediss://): certificates are verified unless REDIS_TLS_CERT_REQS says otherwise.
# The choice goes into the URL (redis-py, the cache, channels-redis and Celery's result backend read it
# there) and into the *_USE_SSL options of the Celery broker and RedBeat below.
REDIS_TLS = urlsplit(REDIS_URL).scheme == "rediss"
REDIS_TLS_CERT_REQS = env_choice("REDIS_TLS_CERT_REQS", ("required", "optional", "none"), "required")
if REDIS_TLS and "ssl_cert_reqs=" not in REDIS_URL:
    REDIS_URL += ("&" if "?" in REDIS_URL else "?") + f"ssl_cert_reqs={REDIS_TLS_CERT_REQS}"
# redis+sentinel://[:password@]s1:26379,s2:26379,s3:26379/<master>[/db]: every Redis user below follows the
# Sentinels to the current primary (core/redisurl.py; docs/OPERATIONS.md "Failure modes").
try:
    REDIS_TARGET = _redisurl.redis_url_parse(REDIS_URL)
except ValueError as _exc:
    _fail("REDIS_URL", REDIS_URL, f"redis://host:port/db or redis+sentinel://h1:p1,h2:p2/<master>[/db] ({_exc})")
# Every key, channel and queue carries this prefix, so deployments (and test runs) can share a server.
REDIS_PREFIX = os.environ.get("REDIS_PREFIX", "mevu") or "mevu"

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": [REDIS_URL],  # a list: Django would split a string on the commas of a sentinel URL
        "KEY_PREFIX": f"{REDIS_PREFIX}:cache",
        "OPTIONS": {"pool_class": "core.redisurl.SentinelCachePool"} if REDIS_TARGET.is_sentinel else {},
    }
}

CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
        "CONFIG": {"hosts": [_redisurl.channel_layer_host(REDIS_TARGET)], "prefix": f"{REDIS_PREFIX}:ch"},
    }
}

# --- Celery --------------------------------------------------------------------------------------
CELERY_BROKER_URL = _redisurl.celery_url(REDIS_TARGET)
CELERY_RESULT_BACKEND = _redisurl.celery_url(REDIS_TARGET)
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "global_keyprefix": f"{REDIS_PREFIX}:q:", "visibility_timeout": 3600,
    **_redisurl.celery_sentinel_options(REDIS_TARGET),
}
CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS = {
    "global_keyprefix": f"{REDIS_PREFIX}:r:", **_redisurl.celery_sentinel_options(REDIS_TARGET)
}
CELERY_RESULT_EXPIRES = 600
if REDIS_TLS:
    import ssl

    _cert_reqs = {"required": ssl.CERT_REQUIRED, "optional": ssl.CERT_OPTIONAL, "none": ssl.CERT_NONE}
    CELERY_BROKER_USE_SSL = {"ssl_cert_reqs": _cert_reqs[REDIS_TLS_CERT_REQS]}
    CELERY_REDIS_BACKEND_USE_SSL = CELERY_BROKER_USE_SSL
    CELERY_REDBEAT_REDIS_USE_SSL = CELERY_BROKER_USE_SSL
CELERY_TASK_DEFAULT_QUEUE = "sports"
CELERY_TASK_ROUTES = {
    "markets.tasks.stream_run": {"queue": "stream"},
    "games.tasks.*": {"queue": "sports"},
    "markets.tasks.*": {"queue": "sports"},
}
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ACKS_LATE = False
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# RedBeat that knows whether it holds the lock, so only the holder reports itself as the beat.
CELERY_BEAT_SCHEDULER = "ops.beat.LeaderRedBeatScheduler"
CELERY_REDBEAT_REDIS_URL, _redbeat_options = _redisurl.redbeat_settings(REDIS_TARGET)
if _redbeat_options:
    CELERY_REDBEAT_REDIS_OPTIONS = _redbeat_options
CELERY_REDBEAT_KEY_PREFIX = f"{REDIS_PREFIX}:redbeat"
# Failover after a crash of the holder <= lock timeout + loop interval (~3.5 s by default; see
# docs/OPERATIONS.md "Failover budget" for the trade-off against false failovers under load).
CELERY_REDBEAT_LOCK_TIMEOUT = env_int("BEAT_LOCK_TIMEOUT_S", 3, minimum=2, maximum=600)
# How often the holder ticks (and extends the lock) and how often a standby beat retries the lock.
CELERY_BEAT_MAX_LOOP_INTERVAL = env_float("BEAT_LOOP_S", 0.5, minimum=0.1, maximum=60.0)

# --- Polling intervals (seconds) -----------------------------------------------------------------
SYNC_LEAGUES_EVERY_S = env_int("SYNC_LEAGUES_EVERY_S", 86400, minimum=5)
SYNC_TEAMS_EVERY_S = env_int("SYNC_TEAMS_EVERY_S", 3600, minimum=5)
SYNC_GAMES_EVERY_S = env_int("SYNC_GAMES_EVERY_S", 60, minimum=1)
SYNC_LIVE_GAMES_EVERY_S = env_int("SYNC_LIVE_GAMES_EVERY_S", 15, minimum=1)
STREAM_WATCHDOG_EVERY_S = env_int("STREAM_WATCHDOG_EVERY_S", 3, minimum=1)

# --- Games pipeline --------------------------------------------------------------------------------
# /sports codes whose games are ingested (matched against Gamma's `sport` field).
GAMES_LEAGUES = env_list("GAMES_LEAGUES", ["nfl", "nba", "mlb", "nhl", "cbb", "cfb", "epl", "lal", "atp", "wta", "ufc"])
# "code:series[+series]" replacing /sports' series id (live Gamma's ufc series 10500 lists the wrong events).
GAMES_SERIES_OVERRIDES = env_list("GAMES_SERIES_OVERRIDES", ["ufc:38"] if MEVU_UPSTREAM == "live" else [])
# The sports socket flushes score updates to PostgreSQL in batches this often (milliseconds).
LIVE_SCORES_FLUSH_MS = env_int("LIVE_SCORES_FLUSH_MS", 250, minimum=10, maximum=10000)

# --- Price stream (markets/stream): the single holder of the upstream sockets ---------------------
# Renewed every TTL/3; after the holder dies a stand-by takes over within TTL + STREAM_STANDBY_POLL_S
# (docs/OPERATIONS.md "Failover budget": shorter is faster failover, at the cost of more renewals and a
# holder that a stall longer than the TTL fences out, which fencing makes safe but not free).
STREAM_LEASE_TTL_S = env_float("STREAM_LEASE_TTL_S", 3.0, minimum=1.0, maximum=120.0)
STREAM_STANDBY_POLL_S = env_float("STREAM_STANDBY_POLL_S", 0.1, minimum=0.02, maximum=10.0)
STREAM_COALESCE_MS = env_int("STREAM_COALESCE_MS", 150, minimum=100, maximum=250)
STREAM_PERSIST_EVERY_S = env_float("STREAM_PERSIST_EVERY_S", 1.0, minimum=0.1, maximum=60.0)
STREAM_ASSETS_PER_SOCKET = env_int("STREAM_ASSETS_PER_SOCKET", 500, minimum=1, maximum=500)
STREAM_PING_EVERY_S = env_float("STREAM_PING_EVERY_S", 10.0, minimum=0.1, maximum=60.0)
STREAM_STALE_AFTER_S = env_float("STREAM_STALE_AFTER_S", 30.0, minimum=0.5, maximum=300.0)
STREAM_STABLE_AFTER_S = env_float("STREAM_STABLE_AFTER_S", 10.0, minimum=0.1, maximum=300.0)
STREAM_BACKOFF_MAX_S = env_float("STREAM_BACKOFF_MAX_S", 30.0, minimum=0.1, maximum=600.0)
STREAM_TOKENSET_POLL_S = env_float("STREAM_TOKENSET_POLL_S", 1.0, minimum=0.1, maximum=30.0)
STREAM_RESNAPSHOT_PER_S = env_float("STREAM_RESNAPSHOT_PER_S", 5.0, minimum=0.1, maximum=100.0)
# Every book is re-read from CLOB REST this often: the bound on how long a lost frame can leave a book wrong.
STREAM_RESNAPSHOT_SWEEP_S = env_float("STREAM_RESNAPSHOT_SWEEP_S", 60.0, minimum=5.0, maximum=3600.0)
STREAM_HISTORY_RETENTION_DAYS = env_int("STREAM_HISTORY_RETENTION_DAYS", 7, minimum=1, maximum=3650)

# --- Realtime delivery (WebSockets / SSE; see docs/ARCHITECTURE.md "Realtime delivery") ----------
REALTIME_HISTORY_S = env_float("REALTIME_HISTORY_S", 120, minimum=1, maximum=3600)  # resume window
REALTIME_HISTORY_MAX = env_int("REALTIME_HISTORY_MAX", 20000, minimum=10, maximum=1_000_000)  # per topic
REALTIME_WINDOW_MS = env_int("REALTIME_WINDOW_MS", 100, minimum=0, maximum=5000)  # coalescing window
REALTIME_HEARTBEAT_S = env_float("REALTIME_HEARTBEAT_S", 25, minimum=0.5, maximum=300)
REALTIME_MAX_FRAME_BYTES = env_int("REALTIME_MAX_FRAME_BYTES", 65536, minimum=1024, maximum=16_777_216)
# Client frames up to this size are read and refused with an error frame; larger ones close the socket (1009).
REALTIME_MAX_TRANSPORT_BYTES = env_int("REALTIME_MAX_TRANSPORT_BYTES", 1_048_576, minimum=65536, maximum=1 << 28)
REALTIME_MAX_SUBSCRIPTIONS = env_int("REALTIME_MAX_SUBSCRIPTIONS", 200, minimum=1, maximum=100_000)
# A client whose unsent bytes exceed this is "slow": its backlog is dropped and it gets a resync.
REALTIME_SLOW_CLIENT_BYTES = env_int("REALTIME_SLOW_CLIENT_BYTES", 1_048_576, minimum=4096, maximum=1 << 30)
REALTIME_SLOW_CLIENT_CLOSE_S = env_float("REALTIME_SLOW_CLIENT_CLOSE_S", 10, minimum=0.5, maximum=600)
# WebSocket clients without an Origin header (non-browser clients) are accepted unless this is off.
REALTIME_ALLOW_NO_ORIGIN = env_bool("REALTIME_ALLOW_NO_ORIGIN", True)
# Open WebSockets per HTTP process; attempts beyond it are refused in the handshake (delivery/wslimit.py).
REALTIME_MAX_CONNECTIONS = env_int("REALTIME_MAX_CONNECTIONS", 10000, minimum=1, maximum=1_000_000)

# --- App-level rate limit of expensive endpoints, per client address, cluster-wide (core/ratelimit.py) --
RATELIMIT_ENABLED = env_bool("RATELIMIT_ENABLED", True)
RATELIMIT_EXPENSIVE_PREFIXES = env_list(
    "RATELIMIT_EXPENSIVE_PREFIXES", ["/api/price-history/", "/api/holders/", "/api/trades/"]
)
RATELIMIT_EXPENSIVE_PER_WINDOW = env_int("RATELIMIT_EXPENSIVE_PER_WINDOW", 120, minimum=1, maximum=1_000_000)
RATELIMIT_WINDOW_S = env_float("RATELIMIT_WINDOW_S", 60.0, minimum=0.1, maximum=86400)

# --- HTTP ----------------------------------------------------------------------------------------
# The public API and sockets are read-only and cookie-less: any origin may use them unless CORS_ALLOWED_ORIGINS
# lists the allowed ones (delivery/routing.py checks WebSocket Origins against it). Only the public routes get CORS
# headers; the admin keeps its login and CSRF.
CORS_ALLOWED_ORIGINS = env_list("CORS_ALLOWED_ORIGINS", [])
CORS_ALLOW_ALL_ORIGINS = not CORS_ALLOWED_ORIGINS
CORS_URLS_REGEX = r"^/(api|api-docs|health|ws/health)(/.*)?$"
CORS_ALLOW_CREDENTIALS = False
# POST /api/games/refresh and /api/teams/refresh: a staff session or `Authorization: Bearer <token>`;
# at most one queued sync per kind per interval, cluster-wide.
REFRESH_TOKEN = os.environ.get("REFRESH_TOKEN", "")
REFRESH_MIN_INTERVAL_S = env_float("REFRESH_MIN_INTERVAL_S", 30.0, minimum=1, maximum=86400)
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
STATIC_URL = "static/"
# Where collectstatic puts the files DEBUG-off serving uses (the image builds them here; tests elsewhere).
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT") or BASE_DIR / "staticfiles")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = True
WHITENOISE_MANIFEST_STRICT = False
USE_TZ = True
TIME_ZONE = "UTC"
LANGUAGE_CODE = "en-us"

# Production hardening; TLS terminates at the load balancer, which sets X-Forwarded-Proto.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SECURE_REDIRECT_EXEMPT = [r"^health$", r"^api/health$", r"^ws/health$", r"^metrics$"]
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000, minimum=0, maximum=63072000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

# --- Logging: JSON lines in production, readable lines in development ----------------------------
LOG_FORMAT = env_choice("LOG_FORMAT", ("json", "text"), "text" if DEBUG else "json")
LOG_LEVEL = env_choice("LOG_LEVEL", ("DEBUG", "INFO", "WARNING", "ERROR"), "INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {"()": "core.logs.JsonFormatter"},
        "text": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
    },
    "handlers": {"stdout": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT}},
    "root": {"handlers": ["stdout"], "level": LOG_LEVEL},
    "loggers": {
        "django": {"level": "INFO"},  # drops Django's DEBUG-only console handler: one line per event
        "django.db.backends": {"level": "INFO"},
        "daphne": {"level": "WARNING"},
        "httpx": {"level": "WARNING"},
        "celery": {"level": "INFO"},
        # JSON (production) logs: one line per meaningful event, not two per task run; failures still log.
        "celery.app.trace": {"level": "WARNING" if LOG_FORMAT == "json" else "INFO"},
        "celery.worker.strategy": {"level": "WARNING" if LOG_FORMAT == "json" else "INFO"},
    },
}

# --- Observability (docs/OPERATIONS.md "Metrics and alerts") ------------------------------------
# Access log lines from the ASGI middleware (ops/metrics_asgi.py; daphne's own log is off):
# notable = errors (>= 400), slow requests (>= ACCESS_LOG_SLOW_MS), writes and WebSocket closes; all =
# every request too (a line per request costs hot-path throughput); off. Metrics count every request.
ACCESS_LOG = env_choice("ACCESS_LOG", ("notable", "all", "off"), "notable")
ACCESS_LOG_SLOW_MS = env_int("ACCESS_LOG_SLOW_MS", 1000, minimum=1, maximum=600_000)
# Port of the Prometheus endpoint of the workers container (`python -m ops.metrics_server`); 0 = off.
METRICS_PORT = env_int("METRICS_PORT", 9100, minimum=0, maximum=65535)
