"""Process supervisor behind `manage.py serve`: runs the children an APP_MODE needs.

http    -> WORKER_COUNT daphne processes accepting on one shared listening socket (--fd); each runs
           ops.httpserver, which drains on SIGTERM (WebSockets closed with 1001 "going away")
workers -> Celery `sports` worker (SPORTS_CONCURRENCY processes), single-concurrency `stream` worker,
           and beat (RedBeat: with several `workers` instances only the lock holder schedules)
all     -> both
With MEVU_UPSTREAM=sim the bundled simulator starts first and the upstream URLs point at it.
Crashed children restart with exponential back-off; SIGTERM stops them in order: http, then workers,
then the simulator (Ctrl-C too: the simulator runs outside the terminal's process group). Children die
with the supervisor (PR_SET_PDEATHSIG), so a killed supervisor never leaves orphans holding the stream
lease or the beat lock.
See docs/OPERATIONS.md for why this is a small supervisor of our own rather than supervisord/circus.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil
from django.conf import settings

from core import metrics

log = logging.getLogger("mevu.supervisor")
REPO = Path(__file__).resolve().parent.parent
STABLE_AFTER_S = 30.0
MAX_BACKOFF_S = 30.0
STOP_TIMEOUT_S = 20.0


@dataclasses.dataclass
class Child:
    name: str
    argv: list[str]
    stage: int  # stopped in descending stage order: http (3) before workers (2) before simulator (1)
    env: dict[str, str] = dataclasses.field(default_factory=dict)
    pass_fds: tuple[int, ...] = ()
    # Out of the terminal's process group: Ctrl-C signals the whole group at once, which would stop this child
    # beside the others instead of after them.
    own_session: bool = False
    proc: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    failures: int = 0
    restart_at: float | None = None

    def start(self, base_env: dict[str, str]) -> None:
        env = {**base_env, **self.env, "MEVU_ROLE": self.name.split("-")[0]}
        self.proc = subprocess.Popen(
            self.argv, cwd=REPO, env=env, pass_fds=self.pass_fds, preexec_fn=_die_with_parent,
            start_new_session=self.own_session,
        )
        self.started_at = time.monotonic()
        self.restart_at = None
        log.info("child started", extra={"child": self.name, "pid": self.proc.pid})


def _die_with_parent() -> None:
    """In the forked child: get SIGTERM when the supervisor dies, whatever killed it (Linux only)."""
    if sys.platform.startswith("linux"):
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


def _kill_tree(proc: subprocess.Popen[bytes]) -> None:
    """SIGKILL a child and its own children (a Celery worker's pool processes)."""
    try:
        family = [psutil.Process(proc.pid), *psutil.Process(proc.pid).children(recursive=True)]
    except psutil.NoSuchProcess:
        family = []
    for member in family:
        with contextlib.suppress(psutil.NoSuchProcess):
            member.kill()
    proc.wait()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _listen_socket(port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((settings.BIND_HOST, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


UPSTREAM_URL_VARS = ("GAMMA_URL", "CLOB_URL", "CLOB_WS_URL", "SPORTS_WS_URL", "DATA_API_URL")


def simulator_child(env: dict[str, str]) -> Child | None:
    """The simulator, when MEVU_UPSTREAM=sim and not every upstream URL is given (instances on one host share
    the first instance's simulator by setting the upstream URLs); fills in the URLs that are not set."""
    if env.get("MEVU_UPSTREAM") != "sim" or all(env.get(name) for name in UPSTREAM_URL_VARS):
        return None
    port = int(env.get("SIM_PORT") or _free_port())
    base = f"http://127.0.0.1:{port}"
    env.setdefault("GAMMA_URL", f"{base}/gamma")
    env.setdefault("CLOB_URL", f"{base}/clob")
    env.setdefault("CLOB_WS_URL", f"ws://127.0.0.1:{port}/clob/ws/market")
    env.setdefault("SPORTS_WS_URL", f"ws://127.0.0.1:{port}/sports/ws")
    env.setdefault("DATA_API_URL", f"{base}/data")
    env["SIM_BASE_URL"] = base
    args = env.get("SIM_ARGS", "").split()
    argv = [sys.executable, "-m", "simulator", "--host", "127.0.0.1", "--port", str(port), *args]
    return Child("simulator", argv, 1, own_session=True)


def http_children(env: dict[str, str], count: int, sock: socket.socket) -> list[Child]:
    fd = sock.fileno()
    # -v 0: daphne's own (non-JSON) access log is off; ops/metrics_asgi.py logs requests instead.
    # ops.httpserver is daphne plus a graceful drain on SIGTERM (WebSockets closed with 1001).
    argv = [sys.executable, "-m", "ops.httpserver", "-v", "0", "--fd", str(fd), "--proxy-headers",
            "mevu.asgi:application"]
    return [Child(f"http-{i}", argv, 3, pass_fds=(fd,)) for i in range(count)]


def worker_node_host() -> str:
    """The host part of Celery node names: the container's hostname, or MEVU_NODE_NAME when several
    `workers` instances share one host (their heartbeats are keyed by node name)."""
    return settings.MEVU_NODE_NAME or "%h"


def worker_children(sports_concurrency: int = 2) -> list[Child]:
    quiet = ["-q"] if settings.LOG_FORMAT == "json" else []  # no banner: stdout stays pure JSON lines
    celery = [sys.executable, "-m", "celery", "-A", "mevu", *quiet]
    return [
        Child("sports", [*celery, "worker", "-Q", "sports", "-c", str(sports_concurrency),
                         "-n", f"sports@{worker_node_host()}", "--without-mingle", "--without-gossip",
                         "-l", "INFO"], 2),
        Child("stream", [*celery, "worker", "-Q", "stream", "-c", "1", "--prefetch-multiplier", "1",
                         "-n", f"stream@{worker_node_host()}", "--without-mingle", "--without-gossip",
                         "-l", "INFO"], 2),
        Child("beat", [*celery, "beat", "-l", "INFO"], 2),
    ]


def _wait_http(url: str, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1).status_code < 500:
                return True
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    return False


class Supervisor:
    def __init__(self, mode: str, worker_count: int, port: int, sports_concurrency: int = 2) -> None:
        self.mode, self.worker_count, self.port = mode, worker_count, port
        self.sports_concurrency = sports_concurrency
        self.env = dict(os.environ)
        self.children: list[Child] = []
        self.stopping = False
        self.sock: socket.socket | None = None
        self.metrics_dir, self.metrics_dir_created, self.metrics_swept_at = "", False, 0.0

    def build(self) -> None:
        # Prometheus multiprocess directory shared by this container's children (core/metrics.py).
        self.metrics_dir, self.metrics_dir_created = metrics.metrics_dir_prepare(self.env)
        os.environ.setdefault("MEVU_ROLE", "supervisor")  # the "role" of this process's own log lines
        sim = simulator_child(self.env)
        if sim:
            self.children.append(sim)
        if self.mode in ("http", "all"):
            self.sock = _listen_socket(self.port)
            self.children += http_children(self.env, self.worker_count, self.sock)
        if self.mode in ("workers", "all"):
            self.children += worker_children(self.sports_concurrency)
        if self.mode == "workers" and settings.METRICS_PORT:
            server = [sys.executable, "-m", "ops.metrics_server"]
            self.children.append(Child("metrics", server, 2, env={"METRICS_PORT": str(settings.METRICS_PORT)}))

    def _on_signal(self, signum: int, _frame: object) -> None:
        self.stopping = True

    def run(self) -> int:
        self.build()
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)
        for child in sorted(self.children, key=lambda c: c.stage):
            child.start(self.env)
            if child.name == "simulator" and not _wait_http(f"{self.env['SIM_BASE_URL']}/_sim/state", 60):
                log.error("simulator did not start")
                self.stopping = True
                break
        self._announce()
        while not self.stopping:
            self._reap_and_restart()
            if time.monotonic() - self.metrics_swept_at > 5:  # also grandchildren (Celery pool processes)
                metrics.metrics_dir_sweep(self.metrics_dir)
                self.metrics_swept_at = time.monotonic()
            time.sleep(0.2)
        self._stop_all()
        return 0

    def _announce(self) -> None:
        if self.sock is None:
            print(f"mevu: APP_MODE={self.mode}: background workers running (no HTTP)", flush=True)
            return
        base = f"http://127.0.0.1:{self.port}"
        print(f"MEVU live board: {base}/", flush=True)
        print(f"  REST API docs:  {base}/api/docs", flush=True)
        print(f"  Admin:          {base}/admin/", flush=True)
        print(f"  Readiness:      {base}/api/health", flush=True)
        print(f"  WebSocket:      ws://127.0.0.1:{self.port}/ws/games", flush=True)
        if "SIM_BASE_URL" in self.env:
            print(f"  Upstream: SIMULATED data from {self.env['SIM_BASE_URL']} (MEVU_UPSTREAM=sim)", flush=True)

    def _reap_and_restart(self) -> None:
        now = time.monotonic()
        for child in self.children:
            if child.proc is not None and child.proc.poll() is not None and child.restart_at is None:
                metrics.metrics_process_dead(child.proc.pid, self.metrics_dir)
                if child.proc.returncode == os.EX_CONFIG:  # a configuration error: restarting cannot heal it
                    log.error("child has a configuration error; not restarting it", extra={"child": child.name})
                    child.proc = None
                    continue
                uptime = now - child.started_at
                child.failures = 1 if uptime > STABLE_AFTER_S else child.failures + 1
                delay = min(MAX_BACKOFF_S, 0.5 * 2 ** (child.failures - 1))
                child.restart_at = now + delay
                log.warning(
                    "child exited; restarting",
                    extra={"child": child.name, "code": child.proc.returncode, "restart_in_s": delay},
                )
            if child.restart_at is not None and now >= child.restart_at:
                child.start(self.env)

    def _stop_all(self) -> None:
        # The HTTP children hold their own copies of the listening socket; dropping ours now means the
        # port closes (new connections are refused, so load balancers fail over at once) as soon as the
        # last draining child exits, instead of queueing unaccepted while the workers stop.
        if self.sock is not None:
            self.sock.close()
            self.sock = None
        for stage in sorted({c.stage for c in self.children}, reverse=True):
            group = [c for c in self.children if c.stage == stage and c.proc and c.proc.poll() is None]
            for child in group:
                child.proc.send_signal(signal.SIGTERM)  # type: ignore[union-attr]
            deadline = time.monotonic() + STOP_TIMEOUT_S
            for child in group:
                try:
                    child.proc.wait(max(0.1, deadline - time.monotonic()))  # type: ignore[union-attr]
                except subprocess.TimeoutExpired:
                    log.warning("child did not stop in time; killing", extra={"child": child.name})
                    _kill_tree(child.proc)  # type: ignore[arg-type]
        if self.sock is not None:
            self.sock.close()
        metrics.metrics_dir_remove(self.metrics_dir, self.metrics_dir_created)
