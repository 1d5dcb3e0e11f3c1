"""Observability overhead benchmark: what the metrics middleware + JSON access log add to a request.

Measures in one process, multiprocess metrics mode on (a private PROMETHEUS_MULTIPROC_DIR, as under
`manage.py serve`):
  anchor   — the real Django ASGI application answering `GET /health` (the cheapest real request);
  overhead — the middleware's own cost per request: a bare ASGI app wrapped in MetricsMiddleware minus
             the bare app, with the access log off (counters + histogram) and on (JSON line to /dev/null);
and, separately, the cost of one counted WebSocket frame and of one scrape of N process files.
Rounds alternate the variants; medians; overhead is reported as a fraction of the anchor.

Usage:
  .venv/bin/python bench/bench_metrics.py [--requests 2000] [--rounds 5] [--processes 8]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="mevu-bench-metrics-")
os.environ.setdefault("DEBUG", "1")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mevu.settings")
os.environ["LOG_FORMAT"] = "json"


async def _requests(app: object, count: int) -> float:
    scope = {"type": "http", "method": "GET", "path": "/health", "raw_path": b"/health", "query_string": b"",
             "headers": [(b"host", b"127.0.0.1")], "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 8000),
             "scheme": "http", "http_version": "1.1", "asgi": {"version": "3.0"}}

    async def send(message: dict) -> None:
        if message["type"] == "http.response.start" and message["status"] != 200:
            raise SystemExit(f"unexpected status {message['status']}")

    started = time.perf_counter()
    for _ in range(count):
        await app(dict(scope), _receiver(), send)  # type: ignore[operator]
    return (time.perf_counter() - started) / count


def _receiver() -> object:
    """The request body once, then nothing (Django waits for a disconnect that never comes and cancels)."""
    messages = [{"type": "http.request", "body": b"", "more_body": False}]

    async def receive() -> dict:
        if messages:
            return messages.pop()
        await asyncio.Future()
        raise AssertionError("unreachable")

    return receive


def _frames(count: int) -> float:
    from core import metrics

    child = metrics.WS_FRAMES_SENT.labels("ws/games")
    started = time.perf_counter()
    for _ in range(count):
        child.inc()
    return (time.perf_counter() - started) / count


def _scrape_cost(processes: int) -> tuple[float, int]:
    """Spawn `processes` children that each touch every metric once, then time metrics_render()."""
    code = ("from core import metrics as m\n"
            "m.HTTP_REQUESTS.labels('health','GET','200').inc(); m.HTTP_LATENCY.labels('health','GET').observe(.001)\n"
            "m.WS_CONNECTIONS.labels('ws/games').inc(); m.TASK_DURATION.labels('t').observe(1)\n"
            "import sys; sys.stdout.write('ok'); sys.stdout.flush(); sys.stdin.read()\n")
    env = {**os.environ}
    children = [subprocess.Popen([sys.executable, "-c", code], cwd=REPO, env=env, stdin=subprocess.PIPE,
                                 stdout=subprocess.PIPE) for _ in range(processes)]
    try:
        for child in children:
            child.stdout.read(2)  # type: ignore[union-attr]
        from core.metrics_cluster import metrics_render

        times = []
        for _ in range(20):
            started = time.perf_counter()
            body, _ = metrics_render()
            times.append(time.perf_counter() - started)
        return statistics.median(times), len(body)
    finally:
        for child in children:
            child.stdin.close()  # type: ignore[union-attr]
            child.wait(10)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--processes", type=int, default=8)
    args = parser.parse_args()

    from django.core.asgi import get_asgi_application

    from ops.metrics_asgi import MetricsMiddleware

    django_app = get_asgi_application()
    logging.getLogger().handlers[0].setStream(open(os.devnull, "w"))  # noqa: SIM115  JSON lines, discarded
    full = MetricsMiddleware(django_app)
    full.access_log = "all"

    async def bare(scope: dict, receive: object, send: object) -> None:  # the smallest ASGI answer
        await send({"type": "http.response.start", "status": 200, "headers": []})  # type: ignore[operator]
        await send({"type": "http.response.body", "body": b"ok"})  # type: ignore[operator]

    bare_quiet, bare_full = MetricsMiddleware(bare), MetricsMiddleware(bare)
    bare_quiet.access_log, bare_full.access_log = "off", "all"
    loop = asyncio.new_event_loop()
    loop.run_until_complete(_requests(full, 200))  # warm-up: imports, URL resolver, caches
    variants = (("django", django_app), ("bare", bare), ("bare+metrics", bare_quiet), ("bare+metrics+log", bare_full))
    results: dict[str, list[float]] = {name: [] for name, _ in variants}
    for _ in range(args.rounds):
        for name, app in variants:
            results[name].append(loop.run_until_complete(_requests(app, args.requests)))
    med = {name: statistics.median(values) for name, values in results.items()}
    metrics_cost = med["bare+metrics"] - med["bare"]
    full_cost = med["bare+metrics+log"] - med["bare"]
    frame = statistics.median(_frames(100_000) for _ in range(3))
    scrape_s, scrape_bytes = _scrape_cost(args.processes)

    print(f"{args.requests} requests x {args.rounds} rounds, median per request:")
    print(f"  anchor: Django ASGI GET /health       {med['django'] * 1e6:9.1f} us")
    for label, cost in (("metrics only", metrics_cost), ("metrics + JSON access log", full_cost)):
        print(f"  middleware, {label:<26} {cost * 1e6:9.1f} us  = {cost / med['django']:.4f} x anchor")
    print(f"one counted WebSocket frame (multiprocess counter inc): {frame * 1e6:.2f} us")
    print(f"scrape of {args.processes + 1} process files: {scrape_s * 1e3:.1f} ms, {scrape_bytes} bytes")
    shutil.rmtree(os.environ["PROMETHEUS_MULTIPROC_DIR"], ignore_errors=True)


if __name__ == "__main__":
    main()
