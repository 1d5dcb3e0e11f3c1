"""Test helper: run the simulator as a subprocess on a free loopback port.

    from simulator.testing import run_simulator

    with run_simulator(seed=1, rate=50, extra_args=("--games", "10")) as sim:
        events = httpx.get(sim.gamma_url + "/events").json()
        sim.control("POST", "/_sim/pause")
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

REPO_ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class SimHandle:
    """A running simulator subprocess and its URLs."""

    port: int
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def gamma_url(self) -> str:
        return self.base + "/gamma"

    @property
    def clob_url(self) -> str:
        return self.base + "/clob"

    @property
    def data_api_url(self) -> str:
        return self.base + "/data"

    @property
    def clob_ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/clob/ws/market"

    @property
    def sports_ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/sports/ws"

    def control(self, method: str, path: str, json: Any = None) -> Any:
        """Call the control API (``/_sim/...``; the prefix may be omitted) and return the decoded JSON.

        Raises ``httpx.HTTPStatusError`` for error statuses.
        """
        if not path.startswith("/"):
            path = "/" + path
        if not path.startswith("/_sim"):
            path = "/_sim" + path
        response = httpx.request(method, self.base + path, json=json, timeout=30)
        response.raise_for_status()
        return response.json()

    def state(self) -> dict[str, Any]:
        result: dict[str, Any] = self.control("GET", "/_sim/state")
        return result

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


@contextlib.contextmanager
def run_simulator(seed: int = 1, rate: float = 50, extra_args: Sequence[str] = (),
                  startup_timeout_s: float = 60.0) -> Iterator[SimHandle]:
    """Start ``python -m simulator`` on a free port, wait for ``/_sim/state``, stop it on exit."""
    port = free_port()
    argv = [sys.executable, "-m", "simulator", "--host", "127.0.0.1", "--port", str(port), "--seed", str(seed),
            "--rate", str(rate), "--log-level", "WARNING", *extra_args]
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO_ROOT), env.get("PYTHONPATH", "")) if p)
    env["PYTHONUNBUFFERED"] = "1"
    fd, name = tempfile.mkstemp(prefix=f"simulator-{port}-", suffix=".log")
    log_path = Path(name)
    with os.fdopen(fd, "wb") as log_file:
        process = subprocess.Popen(argv, cwd=REPO_ROOT, env=env, stdout=log_file, stderr=subprocess.STDOUT)
    handle = SimHandle(port=port, process=process, log_path=log_path)
    try:
        deadline = time.monotonic() + startup_timeout_s
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"simulator exited with {process.returncode}:\n{handle.log()}")
            try:
                if httpx.get(handle.base + "/_sim/state", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"simulator did not answer within {startup_timeout_s}s:\n{handle.log()}")
            time.sleep(0.05)
        yield handle
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        with contextlib.suppress(OSError):
            log_path.unlink()
