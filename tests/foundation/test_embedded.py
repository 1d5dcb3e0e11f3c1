"""The README's run command from a clean copy, with no DATABASE_URL / REDIS_URL: embedded servers."""

from __future__ import annotations

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

from tests.conftest import REPO, free_port, wait_until


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
def test_run_command_starts_embedded_postgres_and_redis(tmp_path: Path) -> None:
    copy = tmp_path / "mevu"
    _clean_copy(copy)
    assert not (copy / ".data").exists()
    port = free_port()
    env = {k: v for k, v in os.environ.items()
           if k not in {"DATABASE_URL", "REDIS_URL", "REDIS_PREFIX", "TEST_DB_NAME", "DEBUG", "SECRET_KEY"}}
    env.update({"PORT": str(port), "BIND_HOST": "127.0.0.1", "WORKER_COUNT": "1", "SIM_ARGS": "--games 6"})
    log = (tmp_path / "run.log").open("wb")
    proc = subprocess.Popen([sys.executable, "scripts/dev.py", "run"], cwd=copy, env=env, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)
    started = time.monotonic()
    try:
        def healthy() -> dict | None:
            response = httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=3)
            return response.json() if response.status_code == 200 else None

        body = wait_until(healthy, 90, 0.5)
        elapsed = time.monotonic() - started
        assert body["postgres"]["ok"] and body["redis"]["ok"], body
        assert elapsed < 90
        assert (copy / ".data" / "postgres").is_dir() and (copy / ".data" / "redis").is_dir()
        output = (tmp_path / "run.log").read_text(errors="replace")
        assert "embedded PostgreSQL" in output and "embedded Redis" in output
        assert f"http://127.0.0.1:{port}/" in output
        descendants = psutil.Process(proc.pid).children(recursive=True)
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            raise
        log.close()
    _, alive = psutil.wait_procs(descendants, timeout=20)
    assert not alive, [p.cmdline()[:3] for p in alive]
    assert not (copy / ".data" / "postgres" / "postmaster.pid").exists()  # embedded PostgreSQL stopped
