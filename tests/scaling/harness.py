"""Building blocks of the scaling tests: render the docker/ configs for loopback, run real servers.

Every server is a child process in its own process group (so a test can SIGKILL an instance with all
its children, as a crashed container would lose them), logging to .data/test-artifacts/.
"""

from __future__ import annotations

import configparser
import contextlib
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import ARTIFACTS, REPO

DOCKER = REPO / "docker"
PLACEHOLDER = re.compile(r"\$\{(MEVU_[A-Z_]+)\}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_port(port: int, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout_s}s")


# --- nginx -----------------------------------------------------------------------------------------


def nginx_render(values: dict[str, str], template: Path = DOCKER / "nginx.conf.template") -> str:
    """Fill the ${MEVU_*} placeholders exactly as envsubst would; every placeholder must be given."""
    text = template.read_text()
    missing = sorted(set(PLACEHOLDER.findall(text)) - set(values))
    if missing:
        raise KeyError(f"no value for {missing}")
    return PLACEHOLDER.sub(lambda m: values[m.group(1)], text)


def nginx_loopback_config(runtime_dir: Path, listen_port: int, upstream_ports: list[int],
                          rate: str = "1000r/s", burst: int = 2000, conns: int = 2000) -> Path:
    runtime_dir.mkdir(parents=True, exist_ok=True)
    servers = "\n        ".join(f"server 127.0.0.1:{p} max_fails=2 fail_timeout=3s;" for p in upstream_ports)
    text = nginx_render({
        "MEVU_LISTEN": f"127.0.0.1:{listen_port}",
        "MEVU_UPSTREAM_SERVERS": servers,
        "MEVU_RUNTIME_DIR": str(runtime_dir),
        "MEVU_RATE_PER_IP": rate,
        "MEVU_BURST_PER_IP": str(burst),
        "MEVU_CONN_PER_IP": str(conns),
        "MEVU_RESOLVER": "",
    })
    path = runtime_dir / "nginx.conf"
    path.write_text(text)
    return path


def nginx_binary() -> str:
    found = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(found).exists():
        raise FileNotFoundError("nginx is not installed (apt-get install -y nginx)")
    return found


def nginx_argv(config: Path, *extra: str) -> list[str]:
    # As root the workers would switch to nginx's compiled-in user, which cannot write the temp dir.
    user = ["-g", "user root;"] if os.geteuid() == 0 else []
    return [nginx_binary(), "-e", "stderr", "-p", str(config.parent), "-c", str(config), *user, *extra]


# --- PgBouncer -------------------------------------------------------------------------------------


def pgbouncer_binary() -> str:
    found = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
    if not Path(found).exists():
        raise FileNotFoundError("pgbouncer is not installed (apt-get install -y pgbouncer)")
    return found


def pgbouncer_loopback_config(runtime_dir: Path, port: int, pg_host: str, pg_port: int, user: str) -> Path:
    """docker/pgbouncer.ini with loopback addresses, trust auth and a small server pool.

    Pool mode and client/server limits stay as shipped; min_pool_size drops to 0 and max_db_connections
    to 20 so a test run never holds many connections of a PostgreSQL that other runs share.
    """
    runtime_dir.mkdir(parents=True, exist_ok=True)
    parser = configparser.ConfigParser(inline_comment_prefixes=(";",), interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(DOCKER / "pgbouncer.ini")
    parser.remove_section("databases")
    parser.add_section("databases")
    parser.set("databases", "*", f"host={pg_host} port={pg_port}")
    auth_file = runtime_dir / "userlist.txt"
    auth_file.write_text(f'"{user}" ""\n')
    overrides = {
        "listen_addr": "127.0.0.1", "listen_port": str(port), "unix_socket_dir": "",
        "auth_type": "trust", "auth_file": str(auth_file), "admin_users": user, "stats_users": user,
        "min_pool_size": "0", "max_db_connections": "20", "max_user_connections": "20",
        "default_pool_size": "20", "reserve_pool_size": "0",
    }
    for key, value in overrides.items():
        parser.set("pgbouncer", key, value)
    path = runtime_dir / "pgbouncer.ini"
    with path.open("w") as handle:
        parser.write(handle)
    for item in (runtime_dir, path, auth_file):
        item.chmod(0o755 if item.is_dir() else 0o644)
    return path


def pgbouncer_argv(config: Path, pg_host: str) -> list[str]:
    """PgBouncer refuses to run as root; -u drops to an unprivileged user after start: the owner of
    PostgreSQL's socket directory when it is reached by Unix socket (the embedded server's directory
    is private to its owner), else nobody."""
    if os.geteuid() != 0:
        return [pgbouncer_binary(), str(config)]
    owner = pwd.getpwuid(Path(pg_host).stat().st_uid).pw_name if pg_host.startswith("/") else "root"
    return [pgbouncer_binary(), "-u", "nobody" if owner == "root" else owner, str(config)]


# --- Processes -------------------------------------------------------------------------------------


class Server:
    """A child process (and its children) in its own process group; output in .data/test-artifacts/."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str] | None = None,
                 cwd: Path = REPO) -> None:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        self.name = name
        self.log_path = ARTIFACTS / f"scaling-{name}-{os.getpid()}-{int(time.time() * 1000)}.log"
        self._log = self.log_path.open("wb")
        self.proc = subprocess.Popen(argv, cwd=cwd, env=env or dict(os.environ), stdout=self._log,
                                     stderr=subprocess.STDOUT, start_new_session=True)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def kill_group(self) -> None:
        """SIGKILL the whole process group: what a crashed host or an OOM-killed container looks like."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def stop(self, timeout_s: float = 30) -> int | None:
        """SIGTERM the leader (it stops its own children in order), then SIGKILL what is left."""
        if self.proc.poll() is None:
            self.proc.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout_s)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        if self.proc.poll() is None:
            self.proc.wait(10)
        self._log.close()
        return self.proc.returncode


def python_argv(*args: str) -> list[str]:
    return [sys.executable, *args]
