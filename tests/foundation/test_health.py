"""Liveness, readiness and the instance header, served by a real daphne process."""

from __future__ import annotations

import httpx

from tests.conftest import daphne_argv, free_port, wait_until


def test_health_endpoints_on_daphne(service_env, spawn) -> None:
    port = free_port()
    spawn("daphne", daphne_argv(port), service_env)
    base = f"http://127.0.0.1:{port}"
    live = wait_until(lambda: httpx.get(f"{base}/health", timeout=2), 30)
    assert live.status_code == 200 and live.json()["status"] == "ok"
    assert live.headers["x-instance-id"].count(":") == 1

    ready = httpx.get(f"{base}/api/health", timeout=5)
    body = ready.json()
    assert ready.status_code == 200
    assert body["ready"] is True
    assert body["postgres"]["ok"] and body["postgres"]["latency_ms"] >= 0
    assert body["redis"]["ok"] and body["redis"]["latency_ms"] >= 0
    assert body["workers"] == {"alive": 0, "queues": []}
    assert body["status"] == "degraded"  # no workers or beat running in this test

    ws = httpx.get(f"{base}/ws/health", timeout=2).json()
    assert ws["websockets"] == {"games": "/ws/games", "activity": "/ws/activity"}


def test_readiness_is_503_with_reason_when_redis_is_down(service_env, spawn) -> None:
    port = free_port()
    dead = free_port()
    spawn("daphne-noredis", daphne_argv(port), {**service_env, "REDIS_URL": f"redis://127.0.0.1:{dead}/0"})
    base = f"http://127.0.0.1:{port}"
    wait_until(lambda: httpx.get(f"{base}/health", timeout=2).status_code == 200, 30)
    ready = httpx.get(f"{base}/api/health", timeout=15)
    assert ready.status_code == 503
    body = ready.json()
    assert body["reasons"] == ["redis"] and body["postgres"]["ok"] is True
    assert "error" in body["redis"]
