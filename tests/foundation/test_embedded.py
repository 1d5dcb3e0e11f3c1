"""The README's run command from a clean copy, with no DATABASE_URL / REDIS_URL: embedded servers, an empty
database, and no manual step: games and live prices within 60 s of start."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil
import pytest

from scripts.smoke import games_wait, price_event_wait
from tests.conftest import REPO, free_port


def _clean_copy(target: Path) -> None:
    files = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.split()
    for name in files:
        source = REPO / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)


@pytest.mark.timeout(240)
def test_run_command_fills_a_fresh_system_from_the_simulator(tmp_path: Path) -> None:
    copy = tmp_path / "mevu"
    _clean_copy(copy)
    assert not (copy / ".data").exists()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items()
           if k not in {"DATABASE_URL", "REDIS_URL", "REDIS_PREFIX", "TEST_DB_NAME", "DEBUG", "SECRET_KEY"}}
    env.update({"PORT": str(port), "BIND_HOST": "127.0.0.1", "WORKER_COUNT": "1", "SECRET_KEY": "k" * 50})
    log = (tmp_path / "run.log").open("wb")
    proc = subprocess.Popen([sys.executable, "scripts/dev.py", "run"], cwd=copy, env=env, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 60
    try:
        assert games_wait(base, deadline, lambda: proc.poll() is None), "no games listed within 60 s"
        assert asyncio.run(price_event_wait(f"ws://127.0.0.1:{port}/ws/games", deadline)), "no live price in 60 s"
        body = httpx.get(f"{base}/api/health", timeout=5).json()
        assert body["postgres"]["ok"] and body["redis"]["ok"], body
        assert (copy / ".data" / "postgres").is_dir() and (copy / ".data" / "redis").is_dir()
        assert not (copy / ".data" / "secret_key").exists()  # SECRET_KEY is set: nothing written for it
        output = (tmp_path / "run.log").read_text(errors="replace")
        assert "embedded PostgreSQL" in output and "embedded Redis" in output
        assert f"http://127.0.0.1:{port}/" in output
        descendants = psutil.Process(proc.pid).children(recursive=True)
        # Ctrl-C signals the terminal's process group: Redis and the simulator are not in it, so they outlive
        # the orderly stop (final flushes, lease release, the stream's upstream sockets) and are stopped after
        # it (pg_ctl detaches PostgreSQL by itself).
        redis_servers = [p for p in descendants if p.name() == "redis-server"]
        assert len(redis_servers) == 1 and os.getpgid(redis_servers[0].pid) != os.getpgid(proc.pid)
        simulators = [p for p in descendants if p.cmdline()[1:3] == ["-m", "simulator"]]
        assert len(simulators) == 1 and os.getpgid(simulators[0].pid) != os.getpgid(proc.pid)
    finally:
        proc.send_signal(signal.SIGTERM)  # `kill` of the run command alone (scripts/smoke.py sends Ctrl-C's SIGINT)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            raise
        log.close()
    _, alive = psutil.wait_procs(descendants, timeout=20)
    assert not alive, [p.cmdline()[:3] for p in alive]
    assert not (copy / ".data" / "postgres" / "postmaster.pid").exists()  # embedded PostgreSQL stopped
