"""`manage.py serve` runs the APP_MODE's processes, restarts crashed ones and stops them in order."""

from __future__ import annotations

import os
import signal
import sys
from concurrent.futures import ThreadPoolExecutor

import httpx
import psutil

from tests.conftest import free_port, wait_until


def _children(pid: int, needle: str) -> list[psutil.Process]:
    return [p for p in psutil.Process(pid).children() if needle in " ".join(p.cmdline())]


def test_serve_all_mode_runs_http_workers_and_beat(service_env, spawn) -> None:
    port = free_port()
    env = {**service_env, "APP_MODE": "all", "WORKER_COUNT": "2", "PORT": str(port), "MEVU_UPSTREAM": "live",
           "BIND_HOST": "127.0.0.1"}
    serve = spawn("serve-all", [sys.executable, "manage.py", "serve"], env)
    base = f"http://127.0.0.1:{port}"

    def ready() -> dict | None:
        body = httpx.get(f"{base}/api/health", timeout=3).json()
        return body if body["status"] == "ok" else None

    body = wait_until(ready, 60, 0.5)
    assert body["workers"]["queues"] == ["sports", "stream"] and body["beat"]["alive"] == 1

    daphnes = _children(serve.proc.pid, "daphne")
    assert len(daphnes) == 2

    def instance(_: int) -> str:
        with httpx.Client() as client:
            return client.get(f"{base}/health", timeout=5).headers["x-instance-id"]

    with ThreadPoolExecutor(16) as pool:
        seen = set(pool.map(instance, range(200)))
    assert seen <= {f"{os.uname().nodename}:{p.pid}" for p in daphnes}
    assert len(seen) >= 1

    # A crashed child is restarted.
    victim = daphnes[0].pid
    os.kill(victim, signal.SIGKILL)
    wait_until(lambda: len(_children(serve.proc.pid, "daphne")) == 2
               and victim not in {p.pid for p in _children(serve.proc.pid, "daphne")}, 20)
    wait_until(lambda: httpx.get(f"{base}/health", timeout=2).status_code == 200, 20)

    # SIGTERM stops every child and the supervisor exits cleanly.
    all_children = psutil.Process(serve.proc.pid).children(recursive=True)
    serve.proc.send_signal(signal.SIGTERM)
    assert serve.proc.wait(40) == 0
    _, alive = psutil.wait_procs(all_children, timeout=10)
    assert not alive, [p.cmdline() for p in alive]
