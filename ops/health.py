"""Liveness and readiness probes.

`/health` answers as long as the process does. `/api/health` is readiness: PostgreSQL and Redis
must answer (503 otherwise); background workers and beat are reported from their heartbeats.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import time
from typing import Any

from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.utils import timezone

from core.heartbeats import heartbeats_alive
from core.redis import redis_sync


def _timed(check: Any) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        check()
    except Exception as exc:
        return {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:300]}
    return {"ok": True, "latency_ms": round((time.perf_counter() - started) * 1000, 2)}


def _check_postgres() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def health_readiness() -> dict[str, Any]:
    postgres = _timed(_check_postgres)
    redis = _timed(lambda: redis_sync().ping())
    workers: list[dict[str, object]] = []
    beat: list[dict[str, object]] = []
    if redis["ok"]:
        workers = heartbeats_alive("worker")
        beat = heartbeats_alive("beat")
    queues = sorted({q for w in workers for q in w.get("queues", [])})  # type: ignore[union-attr]
    ready = postgres["ok"] and redis["ok"]
    reasons = [name for name, check in (("postgres", postgres), ("redis", redis)) if not check["ok"]]
    background_ok = {"sports", "stream"} <= set(queues) and bool(beat)
    return {
        "status": ("ok" if background_ok else "degraded") if ready else "unavailable",
        "ready": ready,
        "reasons": reasons,
        "postgres": postgres,
        "redis": redis,
        "workers": {"alive": len(workers), "queues": queues},
        "beat": {"alive": len(beat)},
        "timestamp": timezone.now().isoformat(),
    }


def _readiness_in_thread() -> dict[str, Any]:
    try:
        return health_readiness()
    finally:
        connection.close_if_unusable_or_obsolete()


async def health_view(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok", "timestamp": timezone.now().isoformat()})


class SharedProbe:
    """Concurrent readiness probes share the check in flight, run on one thread of its own. Through Django's
    request handler every request would get a thread, and a database connection, of its own: a burst of
    probes would open as many connections, and a slow PostgreSQL would hold them all."""

    def __init__(self) -> None:
        self._thread = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="readiness")
        self._inflight: asyncio.Future[dict[str, Any]] | None = None

    async def __call__(self) -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        check = self._inflight
        if check is None or check.done() or check.get_loop() is not loop:
            check = self._inflight = loop.run_in_executor(self._thread, _readiness_in_thread)
        return await asyncio.shield(check)


_readiness = SharedProbe()


async def readiness_view(request: HttpRequest) -> JsonResponse:
    body = await _readiness()
    return JsonResponse(body, status=200 if body["ready"] else 503)


async def ws_health_view(request: HttpRequest) -> JsonResponse:
    return JsonResponse(
        {
            "status": "ok",
            "websockets": {"games": "/ws/games", "activity": "/ws/activity"},
            "timestamp": timezone.now().isoformat(),
        }
    )
