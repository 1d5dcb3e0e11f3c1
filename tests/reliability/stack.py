"""The whole application as one `manage.py serve APP_MODE=all` (daphne + Celery workers + beat, as in
docker/compose.yml's single host), pointed at the simulator, for chaos tests that need every component."""

from __future__ import annotations

import contextlib
import sys
from typing import Any

import httpx
import psutil

from tests.conftest import wait_until
from tests.scaling.harness import Server


def stack_env(service_env: dict[str, str], sim: Any, **extra: str) -> dict[str, str]:
    return {
        **service_env,
        "APP_MODE": "all",
        "WORKER_COUNT": "1",
        "SPORTS_CONCURRENCY": "1",
        "METRICS_PORT": "0",
        "BIND_HOST": "127.0.0.1",
        "MEVU_UPSTREAM": "live",  # explicit URLs below: no simulator child of our own
        "GAMES_SERIES_OVERRIDES": "",
        "GAMMA_URL": sim.gamma_url,
        "CLOB_URL": sim.clob_url,
        "CLOB_WS_URL": sim.clob_ws_url,
        "SPORTS_WS_URL": sim.sports_ws_url,
        "SYNC_LEAGUES_EVERY_S": "5",
        "SYNC_TEAMS_EVERY_S": "5",
        "SYNC_GAMES_EVERY_S": "3",
        "SYNC_LIVE_GAMES_EVERY_S": "3",
        "STREAM_WATCHDOG_EVERY_S": "1",
        "STREAM_LEASE_TTL_S": "3",
        "BEAT_LOCK_TIMEOUT_S": "5",
        "REALTIME_ALLOW_NO_ORIGIN": "true",
        **extra,
    }


def stack_start(name: str, env: dict[str, str], port: int) -> Server:
    return Server(name, [sys.executable, "manage.py", "serve"], {**env, "PORT": str(port)})


def stack_ready(base: str, timeout_s: float = 90) -> None:
    """Until readiness says every background role is up (sports + stream workers and beat)."""
    wait_until(lambda: httpx.get(f"{base}/api/health", timeout=5).json()["status"] == "ok", timeout_s, 0.5)


def process_tree(server: Server) -> set[int]:
    with contextlib.suppress(psutil.Error):
        root = psutil.Process(server.pid)
        return {root.pid, *(p.pid for p in root.children(recursive=True))}
    return set()
