"""Read replica routing and managed-service URLs (TLS), each checked in a fresh process with its env."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

from tests.conftest import REPO, database_url
from tests.scaling.harness import free_port


def _run(code: str, env: dict[str, str], timeout_s: float = 60) -> dict:
    full = {**os.environ, **env, "DJANGO_SETTINGS_MODULE": "mevu.settings"}
    script = "import django, json\ndjango.setup()\n" + textwrap.dedent(code)
    result = subprocess.run([sys.executable, "-c", script], cwd=REPO, env=full, capture_output=True, text=True,
                            timeout=timeout_s)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


ROUTE = """
import time
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from core.dbrouter import replica_reads
out = {"outside": ContentType.objects.all().db}
started = time.monotonic()
with replica_reads():
    out["inside"] = ContentType.objects.all().db
    out["first_probe_s"] = time.monotonic() - started
    started = time.monotonic()
    out["again"] = ContentType.objects.all().db
    out["cached_probe_s"] = time.monotonic() - started
    out["rows"] = len(list(ContentType.objects.all()[:3]))
    with transaction.atomic():
        out["in_transaction"] = ContentType.objects.all().db
out["aliases"] = sorted(django.conf.settings.DATABASES)
print(json.dumps(out))
"""


def _service_url(service_env: dict[str, str]) -> str:
    return service_env["DATABASE_URL"]


def test_without_replica_everything_reads_from_the_primary(service_env) -> None:
    out = _run(ROUTE, {"DATABASE_URL": _service_url(service_env), "DATABASE_REPLICA_URL": ""})
    assert out["aliases"] == ["default"]
    assert out["outside"] == out["inside"] == out["in_transaction"] == "default"


def test_hot_selectors_read_from_a_healthy_replica(service_env) -> None:
    # The "replica" is the same database under another alias: routing is what is tested here.
    url = _service_url(service_env)
    out = _run(ROUTE, {"DATABASE_URL": url, "DATABASE_REPLICA_URL": url})
    assert out["aliases"] == ["default", "replica"]
    assert out["outside"] == "default"
    assert out["inside"] == out["again"] == "replica"
    assert out["rows"] >= 1  # the query really ran on the replica connection
    assert out["in_transaction"] == "default"  # read-your-writes inside a transaction


def test_a_dead_replica_falls_back_to_the_primary_quickly(service_env) -> None:
    dead = database_url(_service_url(service_env), host="127.0.0.1", port=free_port())
    out = _run(ROUTE, {"DATABASE_URL": _service_url(service_env), "DATABASE_REPLICA_URL": dead,
                       "DB_REPLICA_CHECK_TIMEOUT_S": "1", "DB_REPLICA_RECHECK_S": "30"})
    assert out["inside"] == out["again"] == "default"
    assert out["rows"] >= 1
    assert out["first_probe_s"] < 2.5  # one short probe...
    assert out["cached_probe_s"] < 0.05  # ...then the cached answer, no probe per query


def test_replica_is_never_migrated(service_env) -> None:
    url = _service_url(service_env)
    out = _run("""
from core.dbrouter import ReplicaRouter
r = ReplicaRouter()
print(json.dumps({"replica": r.allow_migrate("replica", "games"), "default": r.allow_migrate("default", "games")}))
""", {"DATABASE_URL": url, "DATABASE_REPLICA_URL": url})
    assert out == {"replica": False, "default": None}


def test_managed_service_urls_with_tls_are_honoured() -> None:
    out = _run("""
import ssl
import redis
from django.conf import settings
from mevu.celery import app
from channels_redis.utils import create_pool
pool = redis.ConnectionPool.from_url(settings.REDIS_URL)
layer_host = settings.CHANNEL_LAYERS["default"]["CONFIG"]["hosts"][0]
layer_url = layer_host if isinstance(layer_host, str) else layer_host["address"]
backend = app.backend  # Celery's redis backend validates ssl_cert_reqs for rediss:// at construction
print(json.dumps({
    "db_options": settings.DATABASES["default"]["OPTIONS"],
    "replica_options": settings.DATABASES["replica"]["OPTIONS"],
    "redis_url": settings.REDIS_URL,
    "redis_ssl": pool.connection_class.__name__,
    "cert_reqs": pool.connection_kwargs.get("ssl_cert_reqs"),
    "cache_url": settings.CACHES["default"]["LOCATION"][0] if isinstance(settings.CACHES["default"]["LOCATION"], list)
                 else settings.CACHES["default"]["LOCATION"],
    "layer_url": layer_url,
    "broker_ssl": app.conf.broker_use_ssl["ssl_cert_reqs"] == ssl.CERT_NONE,
    "backend_ssl": type(backend).__name__,
    "backend_conn": backend.connparams["connection_class"].__name__,
    "redbeat_ssl": app.conf.redbeat_redis_use_ssl["ssl_cert_reqs"] == ssl.CERT_NONE,
}))
""", {
        "DATABASE_URL": "postgresql://doadmin:secret@db-mevu.example.com:25060/mevu?sslmode=require",
        "DATABASE_REPLICA_URL": "postgresql://doadmin:secret@replica-mevu.example.com:25060/mevu?sslmode=verify-full",
        "REDIS_URL": "rediss://default:secret@redis-mevu.example.com:25061/0",
        "REDIS_TLS_CERT_REQS": "none",
    })
    assert out["db_options"]["sslmode"] == "require"
    assert out["replica_options"]["sslmode"] == "verify-full"
    assert out["redis_url"].startswith("rediss://") and out["redis_url"].endswith("?ssl_cert_reqs=none")
    assert out["redis_ssl"] == "SSLConnection" and out["cert_reqs"] == "none"
    assert out["cache_url"] == out["layer_url"] == out["redis_url"]
    assert out["broker_ssl"] and out["redbeat_ssl"]
    assert out["backend_ssl"] == "RedisBackend" and out["backend_conn"] == "SSLConnection"


def test_tls_certificates_are_verified_by_default() -> None:
    out = _run("""
from django.conf import settings
import redis
pool = redis.ConnectionPool.from_url(settings.REDIS_URL)
print(json.dumps({"url": settings.REDIS_URL, "cert_reqs": pool.connection_kwargs.get("ssl_cert_reqs")}))
""", {"REDIS_URL": "rediss://:pw@redis.example.com:25061/0"})
    assert out == {"url": "rediss://:pw@redis.example.com:25061/0?ssl_cert_reqs=required", "cert_reqs": "required"}


def test_a_bad_replica_url_stops_the_process_with_one_line() -> None:
    result = subprocess.run([sys.executable, "-c", "import django; django.setup()"], cwd=REPO,
                            env={**os.environ, "DJANGO_SETTINGS_MODULE": "mevu.settings",
                                 "DATABASE_REPLICA_URL": "mysql://x@y/z"},
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "invalid DATABASE_REPLICA_URL" in result.stderr
