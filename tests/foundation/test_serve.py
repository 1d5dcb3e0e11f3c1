"""`manage.py serve` runs the APP_MODE's processes, restarts crashed ones and stops them in order."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import psutil
import websockets

from tests.conftest import free_port, wait_until

HTTP_CHILD = "ops.httpserver"  # daphne with a graceful drain


def _cmdline(proc: psutil.Process) -> str:
    try:
        return " ".join(proc.cmdline())
    except psutil.Error:  # a child that just exited (zombie until the supervisor reaps it)
        return ""


def _children(pid: int, needle: str) -> list[psutil.Process]:
    return [p for p in psutil.Process(pid).children() if needle in _cmdline(p)]


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

    daphnes = _children(serve.proc.pid, HTTP_CHILD)
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
    def restarted() -> bool:
        # One snapshot: with two, the victim could still count in the first and be gone in the second.
        pids = {p.pid for p in _children(serve.proc.pid, HTTP_CHILD)}
        return len(pids) == 2 and victim not in pids

    wait_until(restarted, 20)
    wait_until(lambda: httpx.get(f"{base}/health", timeout=2).status_code == 200, 20)

    # SIGTERM: open WebSockets get 1001 "going away"; the HTTP processes stop before the workers;
    # every child stops and the supervisor exits cleanly.
    all_children = psutil.Process(serve.proc.pid).children(recursive=True)
    direct = psutil.Process(serve.proc.pid).children()
    http = {p.pid for p in direct if HTTP_CHILD in _cmdline(p)}
    workers = {p.pid for p in direct if "celery" in _cmdline(p)}
    assert len(http) == 2 and len(workers) == 3

    async def sigterm_with_open_socket() -> dict[int, float]:
        async with websockets.connect(f"ws://127.0.0.1:{port}/ws/games", origin="http://localhost") as ws:
            await ws.recv()  # the hello frame: the socket is attached
            serve.proc.send_signal(signal.SIGTERM)
            exited: dict[int, float] = {}
            try:
                while True:
                    await asyncio.wait_for(ws.recv(), 10)
            except websockets.ConnectionClosed as closed:
                assert closed.rcvd is not None and closed.rcvd.code == 1001
            deadline = time.monotonic() + 40
            while len(exited) < len(http | workers) and time.monotonic() < deadline:
                for pid in (http | workers) - set(exited):
                    if not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                        exited[pid] = time.monotonic()
                await asyncio.sleep(0.02)
            return exited

    exited = asyncio.run(sigterm_with_open_socket())
    assert set(exited) == http | workers
    assert max(exited[p] for p in http) <= min(exited[p] for p in workers), "workers stopped before http"
    assert serve.proc.wait(40) == 0
    _, alive = psutil.wait_procs(all_children, timeout=10)
    assert not alive, [p.cmdline() for p in alive]


def test_children_die_with_a_killed_supervisor(service_env, spawn) -> None:
    """PR_SET_PDEATHSIG: SIGKILL of the supervisor alone leaves no orphan holding locks or ports."""
    port = free_port()
    env = {**service_env, "APP_MODE": "http", "WORKER_COUNT": "2", "PORT": str(port), "BIND_HOST": "127.0.0.1"}
    serve = spawn("serve-orphans", [sys.executable, "manage.py", "serve"], env)
    wait_until(lambda: httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200, 60, 0.3)
    children = psutil.Process(serve.proc.pid).children()
    assert len(children) == 2
    serve.proc.kill()
    serve.proc.wait(10)
    _, alive = psutil.wait_procs(children, timeout=15)
    assert not alive, [p.cmdline() for p in alive]


def test_a_configuration_error_is_reported_once_not_restarted(tmp_path) -> None:
    """Two workers instances on one host with one METRICS_PORT: the second metrics endpoint says what to set
    and exits with EX_CONFIG; the supervisor does not restart it in a loop (its other children keep going)."""
    from ops.supervisor import Child, Supervisor

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {**os.environ, "METRICS_PORT": str(port), "BIND_HOST": "127.0.0.1",
               "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
        clash = subprocess.run([sys.executable, "-m", "ops.metrics_server"], env=env, capture_output=True,
                               text=True, timeout=60)
    assert clash.returncode == os.EX_CONFIG
    assert f"cannot listen on 127.0.0.1:{port}" in clash.stderr and "distinct METRICS_PORT" in clash.stderr

    supervisor = Supervisor("workers", 1, 0)
    supervisor.metrics_dir = str(tmp_path)
    broken = Child("metrics", [sys.executable, "-c", "import os; raise SystemExit(os.EX_CONFIG)"], 2)
    crashing = Child("sports", [sys.executable, "-c", "raise SystemExit(1)"], 2)
    supervisor.children = [broken, crashing]
    for child in supervisor.children:
        child.start(dict(os.environ))
        child.proc.wait(30)  # type: ignore[union-attr]
    supervisor._reap_and_restart()
    assert broken.proc is None and broken.restart_at is None  # given up on, once
    assert crashing.restart_at is not None  # an ordinary crash is still restarted
    supervisor._reap_and_restart()
    assert broken.proc is None
