"""Shared test fixtures. Tests run against real PostgreSQL and Redis (DATABASE_URL / REDIS_URL).

Each pytest run gets its own test database and Redis key prefix, so concurrent runs do not collide.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import quote, urlencode

import pytest
from psycopg.conninfo import conninfo_to_dict

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
FIXTURES = SHARED / "upstream" / "fixtures"
ARTIFACTS = REPO / ".data" / "test-artifacts"  # the checkout gets nothing outside .venv/ and .data/

needs_shared = pytest.mark.skipif(not FIXTURES.exists(), reason="../shared fixtures are not in this clone")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(predicate: Callable[[], object], timeout_s: float, interval_s: float = 0.1) -> object:
    """Poll until predicate() is truthy; return its value or fail the test."""
    deadline = time.monotonic() + timeout_s
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            value = predicate()
            if value:
                return value
        except Exception as exc:  # the thing polled may not be up yet
            last_error = exc
        time.sleep(interval_s)
    pytest.fail(f"condition not met within {timeout_s}s (last error: {last_error!r})")


def database_params(url: str | None = None) -> dict[str, str]:
    """host (a directory for a Unix socket, as the embedded server has), port, user, password, dbname."""
    params = conninfo_to_dict(url or os.environ.get("DATABASE_URL") or "postgresql://postgres@127.0.0.1:5432/mevu")
    return {k: str(v) for k, v in params.items()}


def database_url(url: str | None = None, **changes: object) -> str:
    """A postgresql:// URL of this run's server (or of url) with some parts changed; TCP or Unix socket.

    Setting host to a TCP address drops the socket's port unless a port is given too.
    """
    params = database_params(url)
    if "host" in changes and "port" not in changes:
        params.pop("port", None)
    params.update({k: str(v) for k, v in changes.items()})
    auth = quote(params.get("user", "postgres"), safe="")
    if params.get("password"):
        auth += ":" + quote(params["password"], safe="")
    host, dbname = params.get("host", "127.0.0.1"), params.get("dbname", "postgres")
    if host.startswith("/"):
        socket_params = {"host": host, **({"port": params["port"]} if "port" in params else {})}
        return f"postgresql://{auth}@/{dbname}?{urlencode(socket_params)}"
    return f"postgresql://{auth}@{host}:{params.get('port', '5432')}/{dbname}"


def _test_database_url() -> str:
    from django.conf import settings

    return database_url(dbname=settings.DATABASES["default"]["NAME"])


@pytest.fixture
def service_env(transactional_db: None) -> dict[str, str]:
    """Environment for child processes (daphne, celery, manage.py) that share this test's data."""
    env = dict(os.environ)
    env["DATABASE_URL"] = _test_database_url()
    env["PYTHONUNBUFFERED"] = "1"
    env.setdefault("LOG_FORMAT", "text")
    return env


class Proc:
    """A child process whose output goes to a log file kept as a test artifact."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str]) -> None:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        self.log_path = ARTIFACTS / f"{name}-{os.getpid()}-{int(time.time() * 1000)}.log"
        self._log = self.log_path.open("wb")
        self.proc = subprocess.Popen(argv, cwd=REPO, env=env, stdout=self._log, stderr=subprocess.STDOUT)
        self._terminated = False

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def terminate(self) -> None:
        """SIGTERM once (a second one may mean "stop now" to the child)."""
        if self.proc.poll() is None and not self._terminated:
            self._terminated = True
            self.proc.terminate()

    def stop(self, timeout_s: float = 15) -> int:
        if self.proc.poll() is None:
            self.terminate()
            try:
                self.proc.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()
        return self.proc.returncode


@pytest.fixture
def spawn() -> Iterator[Callable[..., Proc]]:
    """Start child processes; all are stopped at the end of the test."""
    procs: list[Proc] = []

    def start(name: str, argv: list[str], env: dict[str, str]) -> Proc:
        proc = Proc(name, argv, env)
        procs.append(proc)
        return proc

    yield start
    for proc in reversed(procs):  # all stop at once: each one's orderly stop takes seconds
        proc.terminate()
    for proc in reversed(procs):
        proc.stop()


def isolated_env(**values: str) -> dict[str, str]:
    """A minimal environment for a child that must not inherit this run's settings; it keeps where bytecode
    goes (PYTHONPYCACHEPREFIX: the README's commands leave the checkout clean)."""
    kept = {name: os.environ[name] for name in ("PYTHONPYCACHEPREFIX",) if name in os.environ}
    return {"PATH": "/usr/bin:/bin", **kept, **values}


def daphne_argv(port: int) -> list[str]:
    return [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "mevu.asgi:application"]


def httpserver_argv(port: int) -> list[str]:
    """The production HTTP server, as `manage.py serve` runs it: daphne plus drain and handshake-time limits."""
    return [sys.executable, "-m", "ops.httpserver", "-b", "127.0.0.1", "-p", str(port), "mevu.asgi:application"]


@pytest.fixture(autouse=True)
def _clean_redis_prefix() -> Iterator[None]:
    """Each test starts with no keys under this run's prefix."""
    yield
    from core.redis import redis_sync

    client = redis_sync()
    keys = list(client.scan_iter(match=os.environ["REDIS_PREFIX"] + ":*", count=1000))
    if keys:
        client.delete(*keys)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "long_running: a file that takes minutes (it is started first)")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Long-running files first: with --dist loadfile a file runs on one worker, so starting the
    longest early keeps both workers busy until the end instead of one finishing it alone."""
    items.sort(key=lambda item: item.get_closest_marker("long_running") is None)
