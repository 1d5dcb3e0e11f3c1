"""Liveness, readiness and the instance header, served by a real daphne process."""

from __future__ import annotations

import asyncio
import concurrent.futures

import httpx
import psycopg

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


def test_a_burst_of_readiness_probes_shares_one_check_and_one_connection(service_env, spawn) -> None:
    port = free_port()
    app_name = f"mevu-readiness-{port}"
    spawn("daphne-readiness", daphne_argv(port), {**service_env, "PGAPPNAME": app_name})
    base = f"http://127.0.0.1:{port}"
    wait_until(lambda: httpx.get(f"{base}/health", timeout=2).status_code == 200, 30)

    def connections() -> int:
        with psycopg.connect(service_env["DATABASE_URL"], autocommit=True) as conn:
            return conn.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name = %s",
                                [app_name]).fetchone()[0]

    async def burst() -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=base, timeout=30, limits=httpx.Limits(max_connections=100)) as client:
            return await asyncio.gather(*(client.get("/api/health") for _ in range(80)))

    peak = 0
    with concurrent.futures.ThreadPoolExecutor(1) as runner:
        answers = runner.submit(asyncio.run, burst())
        while not answers.done():
            peak = max(peak, connections())
    assert {r.status_code for r in answers.result()} == {200}
    assert all(r.json()["ready"] for r in answers.result())
    # Each request would otherwise run the check in a thread, and on a connection, of its own.
    assert max(peak, connections()) == 1
