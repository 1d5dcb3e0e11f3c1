"""The deployment of docker/compose.yml, on loopback with real processes:

nginx (docker/nginx.conf.template) -> 3 `manage.py serve` APP_MODE=http instances (WORKER_COUNT=1)
2 `manage.py serve` APP_MODE=workers instances; PgBouncer (docker/pgbouncer.ini, transaction mode)
-> PostgreSQL; Redis; the Polymarket simulator. Every app process reaches the database only through
PgBouncer (DB_POOLER=pgbouncer); migrations ran directly against PostgreSQL before.

The tests share one cluster (starting it costs most of the time) and run in file order; the last one
kills a workers instance.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import orjson
import psutil
import pytest
import websockets
from django.test import override_settings

from tests.conftest import ARTIFACTS, REPO, database_params, database_url, wait_until
from tests.scaling.harness import (
    Server,
    free_port,
    nginx_argv,
    nginx_loopback_config,
    pgbouncer_argv,
    pgbouncer_loopback_config,
    wait_port,
)

# django_db: makes pytest-django create the test database this module's processes share (its own
# connection only ever holds an idle, rolled-back transaction).
pytestmark = [pytest.mark.timeout(300), pytest.mark.django_db, pytest.mark.long_running]
FAILOVER_S = 15


@dataclass
class Instance:
    name: str
    server: Server
    port: int = 0  # http instances

    def pids(self) -> set[int]:
        try:
            root = psutil.Process(self.server.pid)
            return {root.pid, *(p.pid for p in root.children(recursive=True))}
        except psutil.NoSuchProcess:
            return set()

    def daphne_ids(self) -> set[str]:
        host = os.uname().nodename
        ids = set()
        for pid in self.pids():
            with contextlib.suppress(psutil.Error):
                if "ops.httpserver" in " ".join(psutil.Process(pid).cmdline()):
                    ids.add(f"{host}:{pid}")
        return ids


@dataclass
class Cluster:
    env: dict[str, str]
    prefix: str
    nginx_port: int
    pgbouncer_port: int
    sim: Any
    http: list[Instance] = field(default_factory=list)
    workers: list[Instance] = field(default_factory=list)
    servers: list[Server] = field(default_factory=list)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.nginx_port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.nginx_port}/ws/games?protocol=2"

    def redis(self) -> Any:
        """Settings pointing at the cluster's Redis key prefix, for the shared selectors."""
        return override_settings(REDIS_PREFIX=self.prefix)

    def instance_of(self, pid: int) -> Instance | None:
        return next((i for i in [*self.http, *self.workers] if pid in i.pids()), None)

    def start_http(self, name: str, port: int) -> Instance:
        env = {**self.env, "APP_MODE": "http", "WORKER_COUNT": "1", "PORT": str(port)}
        instance = Instance(name, Server(name, [sys.executable, "manage.py", "serve"], env), port)
        self.servers.append(instance.server)
        return instance

    def start_workers(self, name: str) -> Instance:
        env = {**self.env, "APP_MODE": "workers", "SPORTS_CONCURRENCY": "2", "METRICS_PORT": "0",
               "MEVU_NODE_NAME": f"{name}.{os.uname().nodename}"}
        instance = Instance(name, Server(name, [sys.executable, "manage.py", "serve"], env))
        self.servers.append(instance.server)
        return instance

    def health(self) -> dict[str, Any]:
        return httpx.get(f"{self.base}/api/health", timeout=5).json()

    def pgbouncer_show(self, what: str) -> list[list[str]]:
        out = subprocess.run(
            ["psql", "-h", "127.0.0.1", "-p", str(self.pgbouncer_port), "-U", "postgres", "-d", "pgbouncer",
             "-AF", "\t", "-c", f"SHOW {what}"],
            capture_output=True, text=True, timeout=10, check=True,
        ).stdout.strip().splitlines()
        return [line.split("\t") for line in out[:-1]]  # the last line is "(N rows)"


def stop_all(servers: list[Server]) -> None:
    """SIGTERM everything at once (each drains in parallel), then wait; PgBouncer last."""
    apps = [s for s in servers if s.name != "pgbouncer"]
    for server in apps:
        with contextlib.suppress(ProcessLookupError):
            server.proc.terminate()
    for server in [*apps, *(s for s in servers if s.name == "pgbouncer")]:
        server.stop()


def _database_url(port: int) -> str:
    from django.conf import settings

    return database_url(host="127.0.0.1", port=port, dbname=settings.DATABASES["default"]["NAME"])


def _stream_holder_pid(cluster: Cluster) -> int | None:
    from core.lease import lease_status

    with cluster.redis():
        status = lease_status("stream")
    return int(status["holder"].rsplit(":", 1)[1]) if status["held"] else None


def _beat_holders(cluster: Cluster) -> list[int]:
    from core.heartbeats import heartbeats_alive

    with cluster.redis():
        return [int(b["pid"]) for b in heartbeats_alive("beat")]  # type: ignore[call-overload]


def _prices_latest_ts(cluster: Cluster) -> int:
    from markets.prices import prices_read_all

    with cluster.redis():
        prices = prices_read_all()
    return max((p["ts"] for p in prices.values()), default=0)


@pytest.fixture(scope="module")
def cluster(django_db_setup: None, django_db_blocker: Any) -> Iterator[Cluster]:
    from simulator.testing import run_simulator

    with contextlib.ExitStack() as stack:
        runtime = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="mevu-scaling-")))
        os.chmod(runtime, 0o755)
        pg = database_params()
        pg_host, pgb_port = pg.get("host", "127.0.0.1"), free_port()
        pgbouncer = Server("pgbouncer", pgbouncer_argv(pgbouncer_loopback_config(
            runtime / "pgbouncer", pgb_port, pg_host, int(pg.get("port", 5432)), pg.get("user", "postgres")), pg_host))
        sim = stack.enter_context(run_simulator(seed=8, rate=20, extra_args=("--games", "24")))
        prefix = os.environ["REDIS_PREFIX"] + "scale"
        env = {
            **os.environ,
            "PYTHONUNBUFFERED": "1",
            "LOG_FORMAT": "text",
            "BIND_HOST": "127.0.0.1",
            "DATABASE_URL": _database_url(pgb_port),
            "DB_POOLER": "pgbouncer",
            "REDIS_PREFIX": prefix,
            "MEVU_UPSTREAM": "sim",
            "GAMMA_URL": sim.gamma_url,
            "CLOB_URL": sim.clob_url,
            "CLOB_WS_URL": sim.clob_ws_url,
            "SPORTS_WS_URL": sim.sports_ws_url,
            "DATA_API_URL": sim.data_api_url,
            # The first sync runs below; beat repeats the games syncs (RedBeat's first run is one interval
            # after start) through PgBouncer while the tests run.
            "SYNC_LEAGUES_EVERY_S": "3600",
            "SYNC_TEAMS_EVERY_S": "3600",
            "SYNC_GAMES_EVERY_S": "20",
            "SYNC_LIVE_GAMES_EVERY_S": "10",
            "STREAM_WATCHDOG_EVERY_S": "1",
            "BEAT_LOCK_TIMEOUT_S": "10",
            "REALTIME_ALLOW_NO_ORIGIN": "true",
        }
        env.pop("METRICS_PORT", None)
        nginx_port = free_port()
        c = Cluster(env=env, prefix=prefix, nginx_port=nginx_port, pgbouncer_port=pgb_port, sim=sim)
        c.servers.append(pgbouncer)
        try:
            wait_port(pgb_port, 20)
            # The initial sync from the simulator, a real process writing through PgBouncer.
            sync = subprocess.run([sys.executable, "manage.py", "sync_upstream"], env=env, capture_output=True,
                                  text=True, timeout=120, cwd=REPO)
            assert sync.returncode == 0, sync.stdout[-2000:] + sync.stderr[-2000:]
            # Workers instance A first, so it holds both the beat lock and the stream lease.
            c.workers.append(c.start_workers("workers-a"))
            ports = [free_port() for _ in range(3)]
            c.http = [c.start_http(f"http-{i}", port) for i, port in enumerate(ports)]
            nginx = Server("nginx", nginx_argv(nginx_loopback_config(runtime / "nginx", nginx_port, ports),
                                               "-g", "daemon off;"))
            c.servers.append(nginx)
            for port in (*ports, nginx_port):
                wait_port(port, 90)
            wait_until(lambda: _beat_holders(c) and _stream_holder_pid(c), 90, 0.5)
            c.workers.append(c.start_workers("workers-b"))
            wait_until(lambda: c.health()["workers"]["alive"] == 4, 90, 0.5)
            yield c
        finally:
            stop_all(c.servers)
            from core.redis import redis_sync

            client = redis_sync()
            keys = list(client.scan_iter(match=prefix + ":*", count=1000))
            if keys:
                client.delete(*keys)
            with django_db_blocker.unblock():
                from django.core.management import call_command

                call_command("flush", interactive=False, verbosity=0)


def _games_listed(cluster: Cluster) -> int:
    body = httpx.get(f"{cluster.base}/api/games/frontend?limit=100", timeout=10).json()
    return len(body["games"])


def test_requests_spread_over_all_three_instances(cluster: Cluster) -> None:
    expected = set().union(*(i.daphne_ids() for i in cluster.http))
    assert len(expected) == 3

    def hit(_: int) -> str:
        return httpx.get(f"{cluster.base}/health", timeout=10).headers["x-instance-id"]

    with ThreadPoolExecutor(12) as pool:
        seen = list(pool.map(hit, range(240)))
    counts = {instance: seen.count(instance) for instance in expected}
    assert set(seen) == expected, counts
    assert min(counts.values()) >= 20, counts  # least_conn spreads concurrent load, not 1 instance


def test_exactly_one_stream_holder_and_one_beat(cluster: Cluster) -> None:
    health = wait_until(lambda: (h := cluster.health())["status"] == "ok" and h, 60, 0.5)
    assert health["beat"]["alive"] == 1
    assert health["workers"]["alive"] == 4 and health["workers"]["queues"] == ["sports", "stream"]
    holder = _stream_holder_pid(cluster)
    assert holder is not None
    holder_instance = cluster.instance_of(holder)
    assert holder_instance is not None and holder_instance.name == "workers-a"
    beats = _beat_holders(cluster)
    assert len(beats) == 1 and cluster.instance_of(beats[0]) is holder_instance
    from core.heartbeats import heartbeats_alive

    with cluster.redis():
        standby = [int(b["pid"]) for b in heartbeats_alive("beat-standby")]  # type: ignore[call-overload]
    assert len(standby) == 1 and cluster.instance_of(standby[0]).name == "workers-b"  # type: ignore[union-attr]
    # Only the holder's stream worker holds sockets to the upstream (CLOB market / sports WS).
    sim_port = urlsplit(cluster.sim.base).port
    upstream = {}
    for instance in cluster.workers:
        stream_pids = [pid for pid in instance.pids() if "stream@" in " ".join(_cmdline(pid))]
        assert stream_pids, instance.name
        upstream[instance.name] = sum(
            1 for pid in stream_pids for c in _connections(pid)
            if c.raddr and c.raddr.port == sim_port and c.status == psutil.CONN_ESTABLISHED
        )
    assert upstream["workers-a"] >= 1 and upstream["workers-b"] == 0, upstream


def _cmdline(pid: int) -> list[str]:
    try:
        return psutil.Process(pid).cmdline()
    except psutil.Error:
        return []


def test_the_data_layer_works_through_pgbouncer_in_transaction_mode(cluster: Cluster) -> None:
    # The workers synced games (writes) and the http instances list them (reads), all through PgBouncer.
    wait_until(lambda: _games_listed(cluster) > 0, 90, 1)
    pools = cluster.pgbouncer_show("POOLS")
    header, rows = pools[0], pools[1:]
    modes = {row[header.index("database")]: row[header.index("pool_mode")] for row in rows}
    from django.conf import settings

    assert modes.get(settings.DATABASES["default"]["NAME"]) == "transaction", modes
    stats = cluster.pgbouncer_show("STATS")
    header, rows = stats[0], stats[1:]
    xacts = {row[header.index("database")]: int(row[header.index("total_xact_count")]) for row in rows}
    assert xacts[settings.DATABASES["default"]["NAME"]] > 50, xacts
    # No app process talks to PostgreSQL directly.
    app_pids = set().union(*(i.pids() for i in [*cluster.http, *cluster.workers]))
    direct = [
        pid for pid in app_pids
        for c in _connections(pid) if c.raddr and c.raddr.port == 5432
    ]
    assert direct == []


def _connections(pid: int) -> list[Any]:
    try:
        return psutil.Process(pid).net_connections(kind="tcp")
    except psutil.Error:
        return []


class WsClient:
    """A /ws/games client through nginx that records every frame and the game states it saw."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.ws: Any = None
        self.instance = ""
        self.frames: list[dict[str, Any]] = []
        self.events: dict[int, dict[str, Any]] = {}
        self.games: dict[str, dict[str, Any]] = {}
        self.last_seq = 0
        self.epoch = 0
        self.closed_code: int | None = None
        self.task: asyncio.Task[None] | None = None

    async def connect(self, resume: bool = False) -> None:
        self.ws = await websockets.connect(self.url, max_size=None, open_timeout=10)
        self.instance = self.ws.response.headers.get("x-instance-id", "")
        self.closed_code = None
        if resume:
            resume = {"type": "resume", "seqs": {"all": self.last_seq}, "epoch": self.epoch}
            await self.ws.send(orjson.dumps(resume).decode())
        self.task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        try:
            async for raw in self.ws:
                frame = orjson.loads(raw)
                self.frames.append(frame)
                if frame.get("type") == "batch" and frame.get("topic") == "all":
                    for event in frame["events"]:
                        self.events[event["seq"]] = event
                        self.games[str(event["game"]["id"])] = event["game"]
                    self.last_seq, self.epoch = max(self.last_seq, frame["seq"]), frame["epoch"]
        except websockets.ConnectionClosed as closed:
            self.closed_code = closed.rcvd.code if closed.rcvd else 1006
            return
        self.closed_code = self.ws.close_code

    def price_seqs(self) -> set[int]:
        return {seq for seq, event in self.events.items() if event["type"] == "price_update"}

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()
        if self.task is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.task, 5)


async def _connect_spread(cluster: Cluster, count: int) -> list[WsClient]:
    clients = []
    for _ in range(count):
        client = WsClient(cluster.ws_url)
        await client.connect()
        clients.append(client)
    return clients


async def _until(predicate: Any, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out after {timeout_s}s waiting for {what}")


async def test_websocket_clients_on_every_instance_receive_the_same_price_updates(cluster: Cluster) -> None:
    wait_until(lambda: _prices_latest_ts(cluster) > 0, 90, 0.5)
    clients = await _connect_spread(cluster, 6)
    try:
        instances = {c.instance for c in clients}
        assert instances == set().union(*(i.daphne_ids() for i in cluster.http)), instances
        await _until(lambda: all(len(c.price_seqs()) >= 10 for c in clients), 60, "10 price updates each")
        await asyncio.sleep(1.5)  # let every client receive the last published frame
        common = set.intersection(*(c.price_seqs() for c in clients))
        assert len(common) >= 10
        for seq in common:
            bodies = {orjson.dumps(c.events[seq], option=orjson.OPT_SORT_KEYS) for c in clients}
            assert len(bodies) == 1, f"seq {seq} differs between instances"
        # Coalescing may merge a burst differently per client; the sequences never go backwards.
        for c in clients:
            seqs = [f["seq"] for f in c.frames if f.get("type") == "batch" and f.get("topic") == "all"]
            assert seqs == sorted(seqs) and len(seqs) == len(set(seqs))
    finally:
        for c in clients:
            await c.close()


def _builds(cluster: Cluster) -> int:
    from core.redis import redis_sync
    from readmodels.listing import builds_key

    with cluster.redis():
        return int(redis_sync().get(builds_key()) or 0)


def _concurrent_get(urls: list[str]) -> list[httpx.Response]:
    async def run() -> list[httpx.Response]:
        limits = httpx.Limits(max_connections=len(urls))
        async with httpx.AsyncClient(timeout=30, limits=limits) as client:
            return list(await asyncio.gather(*(client.get(u) for u in urls)))

    return asyncio.run(run())


def _listing_version(cluster: Cluster) -> int:
    from core.redis import redis_key, redis_sync

    with cluster.redis():
        return int(redis_sync().get(redis_key("listing", "version")) or 0)


def _settled_version(cluster: Cluster) -> int:
    """The listing version once it has stayed put for longer than an instance keeps its view of it: right
    after a move an instance may still build for the previous version (its view is fresh for VERSION_FRESH_S),
    a second build the burst would wrongly be blamed for. The last price frames before the pause move it."""
    from readmodels.listing import VERSION_FRESH_S

    version, since, deadline = _listing_version(cluster), time.monotonic(), time.monotonic() + 60
    while time.monotonic() - since < VERSION_FRESH_S + 1:
        assert time.monotonic() < deadline, "the listing version kept moving with the upstream paused"
        time.sleep(0.2)
        now = _listing_version(cluster)
        if now != version:
            version, since = now, time.monotonic()
    return version


def _cold_burst_builds_once(cluster: Cluster, urls_for: Any, limits: Iterator[int]) -> None:
    """200 concurrent requests for a listing nobody asked for yet build it exactly once.

    A games sync may still move the listing version mid-burst (a real change: one more build is
    right then); such a try only has to stay within one build per version and is repeated.
    """
    for _ in range(4):
        version, before = _settled_version(cluster), _builds(cluster)
        responses = _concurrent_get(urls_for(next(limits)))
        builds = _builds(cluster) - before
        moved = _listing_version(cluster) - version
        assert {r.status_code for r in responses} == {200}
        if moved == 0:
            assert len({r.content for r in responses}) == 1
            assert builds == 1, builds
            return
        assert builds <= moved + 1, (builds, moved)
    raise AssertionError("the listing version moved during every burst")


def test_200_concurrent_cold_listing_requests_build_once(cluster: Cluster) -> None:
    wait_until(lambda: _games_listed(cluster) > 0, 90, 1)
    limits = iter(range(30, 60))
    # Quiet upstream: no price changes, so the listing version stays put during the burst.
    cluster.sim.control("POST", "/_sim/pause")
    try:
        # Through nginx: cold in nginx's microcache and in every instance.
        _cold_burst_builds_once(cluster, lambda n: [f"{cluster.base}/api/games/frontend?limit={n}"] * 200, limits)
        # Straight to the three instances (no nginx cache): the Redis singleflight still builds once.
        ports = [i.port for i in cluster.http]
        _cold_burst_builds_once(
            cluster,
            lambda n: [f"http://127.0.0.1:{ports[i % 3]}/api/games/frontend?limit={n}" for i in range(200)],
            limits,
        )
        spread = _concurrent_get([f"http://127.0.0.1:{p}/api/games/frontend?limit=60" for p in ports])
        assert len({r.headers["x-instance-id"] for r in spread}) == 3
    finally:
        cluster.sim.control("POST", "/_sim/resume")


async def test_http_instance_restart_clients_reconnect_and_resume(cluster: Cluster) -> None:
    clients = await _connect_spread(cluster, 6)
    control: list[WsClient] = []
    try:
        await _until(lambda: all(c.last_seq > 0 for c in clients), 60, "a first batch on every client")
        victim = next(i for i in cluster.http if clients[0].instance in i.daphne_ids())
        moved = [c for c in clients if c.instance in victim.daphne_ids()]
        control = [c for c in clients if c not in moved]
        assert moved and control
        kill_seq = max(c.last_seq for c in clients)
        victim.server.proc.terminate()  # SIGTERM to the supervisor: drain, then stop
        await _until(lambda: all(c.closed_code is not None for c in moved), 10, "the drain to close sockets")
        assert {c.closed_code for c in moved} == {1001}
        # Reconnect through nginx (the stopped instance is skipped) and resume from the last seq seen.
        for c in moved:
            await c.connect(resume=True)
            assert c.instance not in victim.daphne_ids()
        assert victim.server.proc.wait(30) == 0
        restarted = cluster.start_http(victim.name, victim.port)
        cluster.http[cluster.http.index(victim)] = restarted
        wait_port(victim.port, 60)
        # Prices keep moving; then quiet the upstream and compare what every client knows.
        mark = max(c.last_seq for c in control)
        await _until(lambda: all(c.last_seq > mark + 5 for c in moved), 60, "updates after the resume")
        cluster.sim.control("POST", "/_sim/pause")
        await asyncio.sleep(2.5)
        reference = control[0]
        changed = {str(e["game"]["id"]) for seq, e in reference.events.items() if seq > kill_seq}
        assert changed
        for c in moved:
            assert not [f for f in c.frames if f.get("type") == "resync"], "resume fell back to a resync"
            assert c.last_seq == reference.last_seq
            # Every game that changed while the client moved ends in the same state as on a client
            # that never moved: nothing was lost in the reconnect.
            assert {g: c.games.get(g) for g in changed} == {g: reference.games[g] for g in changed}
    finally:
        cluster.sim.control("POST", "/_sim/resume")
        for c in [*clients]:
            await c.close()
    # The restarted instance serves again behind nginx.
    new_ids = cluster.http[[i.name for i in cluster.http].index(victim.name)].daphne_ids()

    def hit(_: int) -> str:
        return httpx.get(f"{cluster.base}/health", timeout=10).headers["x-instance-id"]

    with ThreadPoolExecutor(12) as pool:
        seen = set(pool.map(hit, range(120)))
    assert new_ids <= seen


def _redis_clients_by_instance(cluster: Cluster) -> dict[str, int]:
    from core.redis import redis_sync

    redis_port = urlsplit(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")).port or 6379
    ours = {}
    for instance in [*cluster.http, *cluster.workers]:
        for pid in instance.pids():
            for c in _connections(pid):
                if c.raddr and c.raddr.port == redis_port and c.status == psutil.CONN_ESTABLISHED:
                    ours[f"{c.laddr.ip}:{c.laddr.port}"] = instance.name
    listed = {entry["addr"] for entry in redis_sync().client_list()}
    counts: dict[str, int] = {}
    for addr, name in ours.items():
        if addr in listed:
            counts[name] = counts.get(name, 0) + 1
    return counts


def _pgbouncer_clients_by_instance(cluster: Cluster) -> dict[str, int]:
    counts: dict[str, int] = {}
    for instance in [*cluster.http, *cluster.workers]:
        counts[instance.name] = sum(
            1 for pid in instance.pids() for c in _connections(pid)
            if c.raddr and c.raddr.port == cluster.pgbouncer_port and c.status == psutil.CONN_ESTABLISHED)
    return counts


async def test_connection_budget_is_measured(cluster: Cluster) -> None:
    """Redis (CLIENT LIST) and PgBouncer client connections per instance under load, for docs/OPERATIONS.md."""
    # Load: a WebSocket on every instance and concurrent DB-backed requests straight to each of them.
    sockets = []
    for instance in cluster.http:
        # Unbounded queue: these clients read one frame only, and with a full queue a client stops reading
        # its socket, so its close would wait out close_timeout (10 s) for a close frame it never reads.
        ws = await websockets.connect(f"ws://127.0.0.1:{instance.port}/ws/games", max_queue=None)
        await ws.recv()
        sockets.append(ws)
    redis_idle = _redis_clients_by_instance(cluster)
    peak_pg: dict[str, int] = {}
    urls = [f"http://127.0.0.1:{cluster.http[i % 3].port}/api/health" for i in range(60)]
    urls += [f"http://127.0.0.1:{cluster.http[i % 3].port}/api/games/frontend?limit={i % 7 + 1}" for i in range(60)]
    burst = asyncio.get_running_loop().run_in_executor(None, _concurrent_get, urls)
    while not burst.done():
        for name, count in _pgbouncer_clients_by_instance(cluster).items():
            peak_pg[name] = max(peak_pg.get(name, 0), count)
        await asyncio.sleep(0.05)
    assert {r.status_code for r in await burst} == {200}
    redis_counts = _redis_clients_by_instance(cluster)
    for ws in sockets:
        await ws.close()
    figures = {"redis_connections_idle": redis_idle, "redis_connections_after_120_concurrent": redis_counts,
               "pgbouncer_client_connections_peak": peak_pg,
               "processes": {"http": "supervisor + 1 daphne (WORKER_COUNT=1)",
                             "workers": "supervisor + sports (2 pool processes) + stream + beat"}}
    (ARTIFACTS / "connection-budget.json").write_text(json.dumps(figures, indent=2, sort_keys=True))
    print("\nconnection budget (measured):", json.dumps(figures, sort_keys=True))
    # Idle: the hub's subscription, the listing watcher, cache and coordination clients. Pools never
    # shrink, so only the instance restarted by the previous test is still "idle" (no burst seen yet).
    youngest = max(cluster.http, key=lambda i: psutil.Process(i.server.pid).create_time())
    idle = redis_idle.get(youngest.name, 0)
    assert idle >= 1 and idle <= 12, redis_idle
    for instance in cluster.http:
        # Under load the redis-py pools grow with request concurrency (40 concurrent requests per instance).
        count = redis_counts.get(instance.name, 0)
        assert count >= 1 and count <= 60, redis_counts
        assert peak_pg.get(instance.name, 0) <= 8, peak_pg
    for instance in cluster.workers:
        count = redis_counts.get(instance.name, 0)
        assert count >= 1 and count <= 40, redis_counts
    assert sum(peak_pg.values()) <= 40, peak_pg


def test_sigkill_of_the_holding_workers_instance_fails_over_within_15s(cluster: Cluster) -> None:
    holder = _stream_holder_pid(cluster)
    victim = cluster.instance_of(holder) if holder else None
    assert victim is not None and victim.name == "workers-a"
    assert [cluster.instance_of(p) for p in _beat_holders(cluster)] == [victim]
    survivor = next(i for i in cluster.workers if i is not victim)
    wait_until(lambda: _prices_latest_ts(cluster) > 0, 30, 0.5)
    killed_at = time.monotonic()
    victim.server.kill_group()
    killed_ms = int(time.time() * 1000)

    def taken_over() -> bool:
        pid = _stream_holder_pid(cluster)
        beats = _beat_holders(cluster)
        return (pid is not None and pid in survivor.pids() and len(beats) == 1 and beats[0] in survivor.pids()
                and _prices_latest_ts(cluster) > killed_ms)

    wait_until(taken_over, FAILOVER_S + 5, 0.2)
    failover_s = time.monotonic() - killed_at
    print(f"\nworkers failover after SIGKILL: {failover_s:.1f}s")
    assert failover_s <= FAILOVER_S
    health = cluster.health()
    assert health["beat"]["alive"] == 1
