"""Private servers for chaos tests, run as our own child processes on free loopback ports.

Redis (and a Sentinel group) from Debian's `redis-server`; PostgreSQL from the machine's `initdb`/`pg_ctl`;
PgBouncer from `pgbouncer`. Each lives in a temp directory and is stopped (by pid) at the end.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import redis

from tests.conftest import ARTIFACTS, free_port

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"


def wait_port(port: int, timeout_s: float = 15) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listening on {port} after {timeout_s}s")


def _stop(proc: subprocess.Popen[bytes], timeout_s: float = 10) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@dataclasses.dataclass
class RedisServer:
    port: int
    workdir: Path
    extra: tuple[str, ...] = ()
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        self.workdir.mkdir(parents=True, exist_ok=True)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        log = (ARTIFACTS / f"redis-{self.port}.log").open("ab")
        argv = [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                "--dir", str(self.workdir), "--maxclients", "10000", *self.extra]
        self.proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        wait_port(self.port)
        return self

    def kill(self) -> None:
        """SIGKILL: a crash, not a clean shutdown."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def stop(self) -> None:
        if self.proc is not None:
            _stop(self.proc)

    def client(self) -> redis.Redis:
        return redis.Redis(port=self.port, socket_timeout=2, socket_connect_timeout=2)


@contextlib.contextmanager
def redis_server(extra: tuple[str, ...] = ()) -> Iterator[RedisServer]:
    with tempfile.TemporaryDirectory(prefix="mevu-redis-") as tmp:
        server = RedisServer(free_port(), Path(tmp), extra).start()
        try:
            yield server
        finally:
            server.stop()


@dataclasses.dataclass
class SentinelGroup:
    primary: RedisServer
    replica: RedisServer
    sentinels: list[subprocess.Popen[bytes]]
    sentinel_ports: list[int]
    master: str = "mevu-primary"

    def url(self, db: int = 0) -> str:
        hosts = ",".join(f"127.0.0.1:{p}" for p in self.sentinel_ports)
        return f"redis+sentinel://{hosts}/{self.master}/{db}"

    def master_port(self) -> int | None:
        """The primary's port as the Sentinels currently see it (majority)."""
        seen: list[int] = []
        for port in self.sentinel_ports:
            with contextlib.suppress(redis.RedisError):
                client = redis.Redis(port=port, socket_timeout=1, socket_connect_timeout=1)
                addr = client.execute_command("SENTINEL", "get-master-addr-by-name", self.master)
                if addr:
                    seen.append(int(addr[1]))
        return max(set(seen), key=seen.count) if seen else None


@contextlib.contextmanager
def sentinel_group() -> Iterator[SentinelGroup]:
    """A primary, one replica and three Sentinels (quorum 2; failover starts 1 s after the primary dies)."""
    with tempfile.TemporaryDirectory(prefix="mevu-sentinel-") as tmp:
        root = Path(tmp)
        primary = RedisServer(free_port(), root / "primary").start()
        replica = RedisServer(free_port(), root / "replica", ("--replicaof", "127.0.0.1", str(primary.port))).start()
        sentinels: list[subprocess.Popen[bytes]] = []
        ports: list[int] = []
        try:
            for i in range(3):
                port = free_port()
                conf = root / f"sentinel-{i}.conf"
                conf.write_text(
                    f"port {port}\nbind 127.0.0.1\ndir {root}\n"
                    f"sentinel monitor mevu-primary 127.0.0.1 {primary.port} 2\n"
                    "sentinel down-after-milliseconds mevu-primary 1000\n"
                    "sentinel failover-timeout mevu-primary 5000\n"
                    "sentinel parallel-syncs mevu-primary 1\n"
                )
                log = (ARTIFACTS / f"sentinel-{port}.log").open("ab")
                sentinels.append(subprocess.Popen([REDIS_SERVER, str(conf), "--sentinel"], stdout=log,
                                                  stderr=subprocess.STDOUT))
                log.close()
                ports.append(port)
            for port in ports:
                wait_port(port)
            group = SentinelGroup(primary, replica, sentinels, ports)
            _wait_replicated(group)
            yield group
        finally:
            for proc in sentinels:
                _stop(proc)
            replica.stop()
            primary.stop()


def _wait_replicated(group: SentinelGroup, timeout_s: float = 20) -> None:
    """Until the replica is in sync and every Sentinel knows the replica and the other Sentinels."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with contextlib.suppress(redis.RedisError):
            info = group.replica.client().info("replication")
            ready = info.get("master_link_status") == "up"
            for port in group.sentinel_ports:
                state = redis.Redis(port=port, socket_timeout=1).execute_command(
                    "SENTINEL", "master", group.master
                )
                fields = state if isinstance(state, dict) else dict(zip(state[::2], state[1::2], strict=False))
                fields = {(k.decode() if isinstance(k, bytes) else k): v for k, v in fields.items()}
                ready = ready and int(fields["num-slaves"]) >= 1 and int(fields["num-other-sentinels"]) >= 2
            if ready:
                return
        time.sleep(0.1)
    raise RuntimeError("sentinel group did not converge")


# --- PostgreSQL + PgBouncer --------------------------------------------------------------------------


def _as_postgres() -> list[str]:
    """PostgreSQL refuses to run as root: use the system `postgres` user then."""
    return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []


def _pg_bin(name: str) -> str:
    found = shutil.which(name)
    if found:
        return found
    for candidate in sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), reverse=True):
        return str(candidate)
    raise RuntimeError(f"{name} not found")


@dataclasses.dataclass
class PrivatePostgres:
    port: int
    datadir: Path
    log_path: Path

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _ctl(self, *args: str) -> None:
        subprocess.run([*_as_postgres(), _pg_bin("pg_ctl"), "-D", str(self.datadir), "-l", str(self.log_path), *args],
                       check=True, capture_output=True, timeout=60)

    def start(self) -> None:
        self._ctl("-o", f"-p {self.port} -k {self.datadir} -c listen_addresses=127.0.0.1 -c fsync=off", "-w", "start")

    def stop(self) -> None:
        """Fast shutdown (clients are disconnected), as a database outage looks to the application."""
        self._ctl("-m", "fast", "-w", "stop")

    def running(self) -> bool:
        return (self.datadir / "postmaster.pid").exists()


@contextlib.contextmanager
def private_postgres() -> Iterator[PrivatePostgres]:
    """A throwaway PostgreSQL cluster (never the machine's shared server, which other tests use)."""
    tmp = Path(tempfile.mkdtemp(prefix="mevu-pg-"))
    datadir = tmp / "data"
    if os.geteuid() == 0:
        shutil.chown(tmp, "postgres", "postgres")
    env = {**os.environ, "LC_ALL": "C"}
    initdb = [_pg_bin("initdb"), "-D", str(datadir), "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8"]
    subprocess.run([*_as_postgres(), *initdb], check=True, capture_output=True, env=env, timeout=120)
    server = PrivatePostgres(free_port(), datadir, tmp / "postgres.log")
    server.start()
    try:
        yield server
    finally:
        with contextlib.suppress(Exception):
            if server.running():
                server.stop()
        with contextlib.suppress(OSError):
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            shutil.copy(tmp / "postgres.log", ARTIFACTS / f"postgres-{server.port}.log")
        shutil.rmtree(tmp, ignore_errors=True)
