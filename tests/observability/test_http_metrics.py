"""`/metrics` of an HTTP instance (several daphne processes): per-route counters summed over the
processes, kept across a crash, Prometheus text format, hidden from proxied requests; JSON access log."""

from __future__ import annotations

import os
import signal
import sys

import httpx
import psutil

from tests.conftest import free_port, wait_until
from tests.observability.helpers import json_log_lines, scrape, value

REQUESTS = 24


def _daphnes(pid: int) -> list[int]:
    """The supervisor's HTTP children (daphne, possibly through ops.httpserver)."""
    return [p.pid for p in psutil.Process(pid).children()
            if any(name in " ".join(p.cmdline()) for name in ("daphne", "ops.httpserver"))]


def test_http_metrics_cover_all_processes_survive_a_crash_and_stay_private(service_env, spawn) -> None:
    port = free_port()
    env = {**service_env, "APP_MODE": "http", "WORKER_COUNT": "2", "PORT": str(port), "BIND_HOST": "127.0.0.1",
           "LOG_FORMAT": "json", "MEVU_UPSTREAM": "live"}
    serve = spawn("obs-http", [sys.executable, "manage.py", "serve"], env)
    base = f"http://127.0.0.1:{port}"
    wait_until(lambda: len(_daphnes(serve.proc.pid)) == 2 and httpx.get(f"{base}/metrics").status_code == 200, 60)

    served_by: dict[str, int] = {}
    for _ in range(REQUESTS):
        response = httpx.get(f"{base}/health", headers={"Connection": "close"}, timeout=10)
        assert response.status_code == 200
        served_by[response.headers["x-instance-id"]] = served_by.get(response.headers["x-instance-id"], 0) + 1
    for i in range(3):
        assert httpx.get(f"{base}/no/such/page-{i}", timeout=10).status_code == 404
    assert httpx.post(f"{base}/api/health", timeout=10).status_code == 403  # CSRF: no token

    samples, response = scrape(f"{base}/metrics")
    assert value(samples, "mevu_http_requests_total", route="health", method="GET", status="200") == REQUESTS
    assert value(samples, "mevu_http_request_duration_seconds_count", route="health", method="GET") == REQUESTS
    assert value(samples, "mevu_http_requests_total", route="unmatched", method="GET", status="404") == 3
    assert value(samples, "mevu_http_requests_total", route="api/health", method="POST", status="403") == 1
    assert value(samples, "mevu_http_request_duration_seconds_bucket", route="health", method="GET",
                 le="+Inf") == REQUESTS

    # Whichever process answers the scrape, it reports the whole container.
    answered_by = set()
    for _ in range(8):
        again, response = scrape(f"{base}/metrics")
        answered_by.add(response.headers["x-instance-id"])
        assert value(again, "mevu_http_requests_total", route="health", method="GET", status="200") == REQUESTS

    # A crashed process's requests still count after the supervisor replaced it.
    victim_instance = max(served_by, key=served_by.get)
    victim = int(victim_instance.rsplit(":", 1)[1])
    os.kill(victim, signal.SIGKILL)
    wait_until(lambda: victim not in _daphnes(serve.proc.pid) and len(_daphnes(serve.proc.pid)) == 2, 30)
    wait_until(lambda: httpx.get(f"{base}/health", timeout=2).status_code == 200, 30)
    after, _ = scrape(f"{base}/metrics")
    assert value(after, "mevu_http_requests_total", route="health", method="GET", status="200") >= REQUESTS + 1

    # Through a reverse proxy (X-Forwarded-For set), /metrics does not exist.
    proxied = httpx.get(f"{base}/metrics", headers={"X-Forwarded-For": "203.0.113.9"}, timeout=10)
    assert proxied.status_code == 404 and b"mevu_" not in proxied.content

    # JSON access log lines with the stable keys, from the daphne processes.
    logs = json_log_lines(serve.log())
    access = [line for line in logs if line["logger"] == "mevu.access"]
    misses = [line for line in access if line["route"] == "unmatched"]
    assert len(misses) == 3 and {line["status"] for line in misses} == {404}
    assert all(line["role"] == "http" and isinstance(line["duration_ms"], float) for line in misses)
    assert {line["instance"] for line in access} <= {*served_by, *answered_by, *(
        f"{os.uname().nodename}:{pid}" for pid in _daphnes(serve.proc.pid))}
    assert any(line["role"] == "supervisor" and line["event"] == "child exited; restarting" for line in logs)
