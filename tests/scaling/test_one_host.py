"""Several instances of the roles side by side on one host, configured only with the documented variables
(docs/OPERATIONS.md): distinct MEVU_NODE_NAME and METRICS_PORT per workers instance, the four upstream URLs
given (so no instance starts a simulator of its own), one PORT per http instance."""

from __future__ import annotations

import asyncio
import sys
import time

import httpx
import psutil

from scripts.smoke import games_wait, price_event_wait
from tests.conftest import free_port, wait_until


def _cmdlines(pid: int) -> list[str]:
    lines = []
    for child in psutil.Process(pid).children(recursive=True):
        try:
            lines.append(" ".join(child.cmdline()))
        except psutil.Error:
            continue
    return lines


def test_two_workers_instances_and_an_http_instance_on_one_host(service_env, spawn) -> None:
    sim_port = free_port()
    sim_args = ["--games", "6", "--leagues", "nba", "nhl", "--rate", "100", "--new-game-every-s", "0"]
    spawn("one-host-sim", [sys.executable, "-m", "simulator", "--port", str(sim_port), *sim_args], service_env)
    base_sim = f"127.0.0.1:{sim_port}"
    common = {
        **service_env, "MEVU_UPSTREAM": "sim", "BIND_HOST": "127.0.0.1", "SPORTS_CONCURRENCY": "1",
        "GAMMA_URL": f"http://{base_sim}/gamma", "CLOB_URL": f"http://{base_sim}/clob",
        "CLOB_WS_URL": f"ws://{base_sim}/clob/ws/market", "SPORTS_WS_URL": f"ws://{base_sim}/sports/ws",
        "DATA_API_URL": f"http://{base_sim}/data",
    }
    metrics_ports = {"a": free_port(), "b": free_port()}
    workers = {
        node: spawn(f"one-host-workers-{node}", [sys.executable, "manage.py", "serve"],
                    {**common, "APP_MODE": "workers", "MEVU_NODE_NAME": node, "METRICS_PORT": str(port)})
        for node, port in metrics_ports.items()
    }
    http_port = free_port()
    http = spawn("one-host-http", [sys.executable, "manage.py", "serve"],
                 {**common, "APP_MODE": "http", "PORT": str(http_port), "WORKER_COUNT": "1"})
    base = f"http://127.0.0.1:{http_port}"

    def healthy() -> dict | None:
        body = httpx.get(f"{base}/api/health", timeout=3).json()
        return body if body["status"] == "ok" and body["workers"]["alive"] == 4 else None

    body = wait_until(healthy, 120, 0.5)
    assert body["beat"]["alive"] == 1  # one beat schedules; the other waits for the lock

    # The empty database fills itself (the start-up bootstrap runs once for both instances) and prices flow.
    deadline = time.monotonic() + 90
    assert games_wait(base, deadline, lambda: http.proc.poll() is None)
    assert asyncio.run(price_event_wait(f"ws://127.0.0.1:{http_port}/ws/games", deadline))
    bootstraps = sum(proc.log().count("catalog bootstrap:") for proc in workers.values())
    assert bootstraps == 1

    for node, port in metrics_ports.items():
        response = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5)
        assert response.status_code == 200 and "mevu_" in response.text, node
    for proc in (*workers.values(), http):
        assert proc.proc.poll() is None
        assert not [line for line in _cmdlines(proc.proc.pid) if "-m simulator" in line]
        assert "cannot listen" not in proc.log() and "child exited; restarting" not in proc.log()
