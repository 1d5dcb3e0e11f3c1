"""End-to-end freshness: a simulator price change -> the frame parsed by a `/ws/games` client.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/<migrated db> REDIS_URL=redis://127.0.0.1:<port>/0 \
        .venv/bin/python bench/bench_e2e.py --clients 1000 --seconds 20 --protocols 1,2

What runs (all on this machine, loopback; processes as in production, one of each):
  * the simulator (`python -m simulator --leagues nba --games G --rate R`): R background price changes per
    second over every book, as load for the stream;
  * the games sync once (`manage.py sync_upstream`), then every synced token is published as the token set;
  * the stream worker's program (stream.program.StreamProgram) in its own process: CLOB market sockets ->
    books -> price window -> Redis hash + publish;
  * 2 HTTP processes (`python -m ops.httpserver`, daphne as production runs it, mevu.asgi, per-process hub)
    and a private nginx in front of them rendered from
    docker/nginx.conf.template (the production WebSocket proxying);
  * `client-procs` asyncio client processes holding `clients` `/ws/games` sockets (v1 by default: the
    original's `price_update` frames, every game), spread over the daphnes or all through nginx.
The probe: every 1/`changes` s this process re-seats the moneyline book of one game's home team through the
simulator's control API (`POST /_sim/book/{token}`, a fresh (bid, ask) each time); the simulator stamps the
change (`timestamp`, its clock = wall clock) and sends `book` frames to its subscribers. A client counts the
change received when it parses a frame whose home team shows exactly that quote (sellPrice = bid, buyPrice =
ask). The anchor, in the same run: a socket of this process subscribed straight to the simulator's market
socket for the same tokens - the upstream's own floor. Latency = client parse time - simulator stamp.
Where the time goes: frame `timestamp` = publish time (Redis clock, stamped by the publish script), so
stream part = publish - anchor receipt, delivery part = client parse - publish; v2 `batch` frames also carry
the time the hub built them, which splits delivery into hub (pub/sub + hub window) and wire (daphne's write,
nginx, the socket, the client's parse).
A change the random walk moved again within `--stand-ms` upstream is not counted (it was never a state
worth delivering: the next one supersedes it).
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import contextlib
import datetime as dt
import itertools
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
PORT_BASE = int(os.environ.get("BENCH_PORT_BASE", "7510"))  # simulator, daphnes, nginx: consecutive ports


def _setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mevu.settings")
    import django

    django.setup()


def pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(len(ordered) * q))] * 1000, 1)


# --- client process ---------------------------------------------------------------------------------------
def _publish_s(frame: dict[str, Any], event: dict[str, Any]) -> float:
    """The publish time of an event: v2 carries ms, v1 the original's ISO string."""
    stamp = event.get("timestamp", frame.get("timestamp"))
    if isinstance(stamp, str):
        return dt.datetime.fromisoformat(stamp).timestamp()
    return (stamp or 0) / 1000


async def client_main(args: argparse.Namespace) -> None:
    """Hold `count` sockets; record every change of a probed game's home quote: (game, sell, buy, t, publish)."""
    import aiohttp

    probes = set(args.probes.split(","))
    urls = args.urls.split(",")
    records: list[list[tuple[str, float, float, float, float, float]]] = [[] for _ in range(args.count)]
    counts = {"frames": 0}
    recording = asyncio.Event()

    def on_frame(raw: str, seen: dict[str, tuple[float, float]], mine: list[Any]) -> None:
        now = time.time()
        frame = orjson.loads(raw)
        kind = frame.get("type")
        if kind == "batch":
            events = frame["events"]
        elif kind in ("price_update", "game_update"):
            events = [frame]
        elif kind in ("games_update", "resync", "snapshot"):  # a lagging client's whole list: counts too
            events = [{"game": game, "timestamp": frame.get("timestamp")} for game in frame["games"]]
        else:
            return
        counts["frames"] += 1
        for event in events:
            game = event["game"]
            if game["id"] not in probes:
                continue
            home = game["homeTeam"]
            quote = (home.get("sellPrice"), home.get("buyPrice"))
            if seen.get(game["id"]) != quote:
                seen[game["id"]] = quote
                if recording.is_set():
                    # v2 batch frames also carry the time the hub built them (ms); v1 frames only the publish time
                    built = frame["timestamp"] / 1000 if kind == "batch" else 0.0
                    mine.append((game["id"], quote[0], quote[1], now, _publish_s(frame, event), built))

    async def connect(url: str) -> aiohttp.ClientWebSocketResponse:
        """Connect like a real client: a refused or timed-out handshake (a loaded machine, nginx's 3 s connect
        timeout and its 502 while it counts both daphnes failed) is retried after a pause, for up to ~2 min."""
        for attempt in range(30):
            try:
                async with handshakes:  # the connect phase is not measured: keep the listen backlogs short
                    return await session.ws_connect(url, max_msg_size=0, heartbeat=None)
            except (aiohttp.ClientError, TimeoutError):
                if attempt == 29:
                    raise
                await asyncio.sleep(min(5, 1 + attempt))
        raise AssertionError("unreachable")

    async def one(index: int) -> None:
        seen: dict[str, tuple[float, float]] = {}
        async with await connect(urls[index % len(urls)]) as ws:
            await ws.receive()  # subscribed
            ready.append(1)
            async for message in ws:
                if message.type == aiohttp.WSMsgType.TEXT:
                    on_frame(message.data, seen, records[index])

    ready: list[int] = []
    handshakes = asyncio.Semaphore(10)
    session = aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=0), timeout=aiohttp.ClientTimeout(total=None, connect=60)
    )
    tasks = []
    for i in range(args.count):
        tasks.append(asyncio.create_task(one(i)))
        if i % 25 == 24:
            await asyncio.sleep(0.1)
    while len(ready) < args.count:
        failed = [t for t in tasks if t.done() and t.exception()]
        if failed:
            raise failed[0].exception()  # type: ignore[misc]
        await asyncio.sleep(0.05)
    print("READY", flush=True)
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.readline)  # "go"
    recording.set()
    counts["frames"] = 0
    await loop.run_in_executor(None, sys.stdin.readline)  # "stop"
    disconnected = sum(1 for t in tasks if t.done())
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await session.close()
    Path(args.out).write_bytes(orjson.dumps({"clients": records, "frames": counts["frames"],
                                              "disconnected": disconnected}))
    print("DONE", flush=True)


# --- stream worker process --------------------------------------------------------------------------------
def stream_main() -> None:
    """The stream worker's program, as the `stream` Celery worker runs it, until SIGTERM."""
    _setup_django()
    from stream.program import StreamProgram, stream_config_from_settings

    async def main() -> None:
        stop = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        await StreamProgram(stream_config_from_settings(holder="bench-e2e", run_sports=False)).run(stop)

    asyncio.run(main())


# --- the anchor and the probe (this process) --------------------------------------------------------------
@dataclass
class Change:
    token: str
    game: str
    bid: str
    ask: str
    posted: float  # wall time just before the request
    stamp: float  # the simulator's timestamp of the change (s)
    anchor_at: float | None = None  # the anchor socket saw the quote
    moved_at: float | None = None  # the anchor saw the token's quote move on


@dataclass
class Anchor:
    """A socket straight on the simulator's market socket: the quote of every probed token over time."""

    quotes: dict[str, tuple[str, str]] = field(default_factory=dict)
    waiting: dict[str, Change] = field(default_factory=dict)  # token -> its newest change
    frames: int = 0

    def feed(self, raw: str) -> None:
        now = time.time()
        self.frames += 1
        items = orjson.loads(raw)
        for item in items if isinstance(items, list) else [items]:
            if item.get("event_type") == "book":
                bids = [float(b["price"]) for b in item.get("bids", [])]
                asks = [float(a["price"]) for a in item.get("asks", [])]
                self._quote(item["asset_id"], f"{max(bids):g}" if bids else "", f"{min(asks):g}" if asks else "", now)
            elif item.get("event_type") == "price_change":
                for entry in item.get("price_changes", []):
                    bid, ask = entry.get("best_bid", ""), entry.get("best_ask", "")
                    self._quote(entry["asset_id"], f"{float(bid):g}" if bid else "", f"{float(ask):g}" if ask else "",
                                now)

    def _quote(self, token: str, bid: str, ask: str, now: float) -> None:
        if self.quotes.get(token) == (bid, ask):
            return
        self.quotes[token] = (bid, ask)
        change = self.waiting.get(token)
        if change is None:
            return
        if change.anchor_at is None and (bid, ask) == (change.bid, change.ask):
            change.anchor_at = now
        elif change.anchor_at is not None and change.moved_at is None:
            change.moved_at = now


async def probe(sim: str, tokens: dict[str, str], seconds: float, per_s: float, anchor: Anchor) -> list[Change]:
    """Every 1/per_s s, a new (bid, ask) on one probed game's home token (round robin over the games)."""
    import aiohttp

    changes: list[Change] = []
    games = list(tokens.items())
    bids = itertools.cycle([round(0.30 + 0.01 * i, 2) for i in range(0, 40, 3)])
    async with aiohttp.ClientSession() as http:
        start = time.monotonic()
        for n in itertools.count():
            at = start + n / per_s
            if at - start >= seconds:
                break
            await asyncio.sleep(max(0.0, at - time.monotonic()))
            game, token = games[n % len(games)]
            bid = next(bids)
            if n % len(games) == 0:  # a new bid every round: no game sees the same quote twice in a row
                next(bids)
            ask = round(bid + 0.02, 2)
            posted = time.time()
            async with http.post(f"{sim}/_sim/book/{token}", json={"best_bid": bid, "best_ask": ask}) as resp:
                body = await resp.json()
            change = Change(token, game, f"{float(body['best_bid']):g}", f"{float(body['best_ask']):g}", posted,
                            body["timestamp"] / 1000)
            anchor.waiting[token] = change
            changes.append(change)
    return changes


async def anchor_run(ws_url: str, tokens: list[str], anchor: Anchor, stop: asyncio.Event) -> None:
    import aiohttp

    async with aiohttp.ClientSession() as http, http.ws_connect(ws_url, heartbeat=None) as ws:
        await ws.send_str(orjson.dumps({"assets_ids": tokens, "type": "market"}).decode())

        async def pinger() -> None:
            while not stop.is_set():
                await ws.send_str("PING")
                await asyncio.sleep(5)

        ping = asyncio.create_task(pinger())
        try:
            while not stop.is_set():
                with contextlib.suppress(TimeoutError):
                    message = await asyncio.wait_for(ws.receive(), 0.5)
                    if message.type == aiohttp.WSMsgType.TEXT and message.data != "PONG":
                        anchor.feed(message.data)
                    elif message.type in (aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR):
                        raise RuntimeError("anchor socket closed by the simulator")
        finally:
            ping.cancel()


# --- orchestration ----------------------------------------------------------------------------------------
class Children:
    def __init__(self, logs: Path, env: dict[str, str]) -> None:
        self.logs, self.env, self.procs = logs, env, {}  # type: ignore[var-annotated]

    def start(self, name: str, argv: list[str], kind: str = "", **kw: Any) -> subprocess.Popen[Any]:
        """Start a child; `kind` names it in pg_stat_activity (libpq's PGAPPNAME)."""
        log = (self.logs / f"{name}.log").open("wb")
        kw.setdefault("stdout", log)
        env = {**self.env, "PGAPPNAME": f"mevu-{kind}"} if kind else self.env
        proc = subprocess.Popen(argv, cwd=REPO, env=env, stderr=log, **kw)
        self.procs[name] = proc
        return proc

    def stop(self, name: str) -> None:
        proc = self.procs.pop(name)
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def stop_all(self) -> None:
        for name in reversed(list(self.procs)):
            self.stop(name)


def wait_port(port: int, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
            return
        time.sleep(0.1)
    raise RuntimeError(f"port {port} did not open")


def cpu_seconds(pids: list[int]) -> float:
    import psutil

    total = 0.0
    for pid in pids:
        with contextlib.suppress(psutil.Error):
            for proc in [psutil.Process(pid), *psutil.Process(pid).children(recursive=True)]:
                times = proc.cpu_times()
                total += times.user + times.system
    return total


def nginx_config(runtime: Path, listen: int, upstreams: list[int]) -> Path:
    """docker/nginx.conf.template with loopback values (as envsubst fills it in compose)."""
    values = {
        "MEVU_LISTEN": f"127.0.0.1:{listen}",
        "MEVU_UPSTREAM_SERVERS": " ".join(f"server 127.0.0.1:{p} max_fails=2 fail_timeout=3s;" for p in upstreams),
        "MEVU_RUNTIME_DIR": str(runtime),
        "MEVU_RATE_PER_IP": "1000r/s",
        "MEVU_BURST_PER_IP": "5000",
        "MEVU_CONN_PER_IP": "60000",
        "MEVU_RESOLVER": "",
    }
    text = re.sub(r"\$\{(MEVU_[A-Z_]+)\}", lambda m: values[m.group(1)],
                  (REPO / "docker" / "nginx.conf.template").read_text())
    path = runtime / "nginx.conf"
    path.write_text(text)
    return path


@dataclass
class Rig:
    """Simulator, synced games, stream worker, daphnes, nginx: everything a target run needs."""

    children: Children
    sim: str
    daphne_ports: list[int]
    nginx_port: int
    probes: dict[str, str]  # game id -> home moneyline token
    pids: dict[str, list[int]]


def rig_start(args: argparse.Namespace, children: Children, env: dict[str, str], daphnes: int = 2) -> Rig:
    sim_port, nginx_port = PORT_BASE, PORT_BASE + 1
    daphne_ports = [PORT_BASE + 2 + i for i in range(daphnes)]
    sim = f"http://127.0.0.1:{sim_port}"
    env.update({"GAMMA_URL": f"{sim}/gamma", "CLOB_URL": f"{sim}/clob", "CLOB_WS_URL": f"ws://127.0.0.1:{sim_port}"
                "/clob/ws/market", "SPORTS_WS_URL": f"ws://127.0.0.1:{sim_port}/sports/ws",
                "DATA_API_URL": f"{sim}/data"})
    os.environ.update(env)
    children.start("simulator", [sys.executable, "-m", "simulator", "--host", "127.0.0.1", "--port", str(sim_port),
                                 "--seed", str(args.seed), "--leagues", "nba", "--games", str(args.games),
                                 "--rate", str(args.rate), "--log-level", "WARNING"])
    wait_port(sim_port)
    print("syncing the simulated day...", file=sys.stderr, flush=True)
    subprocess.run([sys.executable, "manage.py", "sync_upstream", "--league", "nba"], cwd=REPO, env=env, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _setup_django()
    import httpx

    from markets.tokenset import token_set_publish
    from stream.gameindex import game_index_load

    books = httpx.get(f"{sim}/_sim/books", timeout=30).json()
    index = game_index_load(list(books))
    tokens = sorted(t for t in books if t in index.tokens)
    token_set_publish(tokens)
    probes = {gid: view.moneyline.home.token_id for gid, view in sorted(index.views.items())
              if not view.ended and view.moneyline.home is not None and view.moneyline.home.token_id in books}
    print(f"{len(index.views)} games, {len(tokens):,} tokens streamed, {len(probes)} probed", file=sys.stderr)
    children.start("stream", [sys.executable, __file__, "--role", "stream"], kind="stream-holder")
    from stream.program import stream_metrics_read

    deadline = time.monotonic() + 120
    while True:
        metrics = stream_metrics_read() or {}
        if metrics.get("counters", {}).get("books", 0) >= len(tokens) * 0.95:
            break
        if time.monotonic() > deadline or children.procs["stream"].poll() is not None:
            raise RuntimeError(f"stream worker did not load its books; logs in {children.logs}")
        time.sleep(0.5)
    for i, port in enumerate(daphne_ports):
        # The production HTTP server (daphne with drain; -v 0: no per-connection access-log line).
        children.start(f"daphne{i}", [sys.executable, "-m", "ops.httpserver", "-v", "0", "-b", "127.0.0.1", "-p",
                                      str(port), "--proxy-headers", "mevu.asgi:application"], kind="daphne")
    for port in daphne_ports:
        wait_port(port)
    if args.nginx and shutil.which("nginx"):
        runtime = children.logs / "nginx"
        runtime.mkdir(mode=0o755)
        conf = nginx_config(runtime, nginx_port, daphne_ports)
        children.start("nginx", ["nginx", "-c", str(conf), "-p", str(runtime), "-g", "daemon off;"])
        wait_port(nginx_port)
    pids = {"stream": [children.procs["stream"].pid], "daphne": [children.procs[f"daphne{i}"].pid
                                                                  for i in range(len(daphne_ports))]}
    if "nginx" in children.procs:
        pids["nginx"] = [children.procs["nginx"].pid]
    return Rig(children, sim, daphne_ports, nginx_port, probes, pids)


def run_target(rig: Rig, args: argparse.Namespace, via: str, protocol: int) -> dict[str, Any]:
    ports = [rig.nginx_port] if via == "nginx" else rig.daphne_ports
    query = "?protocol=2" if protocol == 2 else ""
    urls = ",".join(f"ws://127.0.0.1:{p}/ws/games{query}" for p in ports)
    logs = rig.children.logs
    tag = f"{via}-v{protocol}"
    clients: list[subprocess.Popen[str]] = []
    outs: list[Path] = []
    per_proc = args.clients // args.client_procs
    try:
        for i in range(args.client_procs):
            outs.append(logs / f"client-{tag}-{i}.json")
            clients.append(rig.children.start(
                f"client-{tag}-{i}",
                [sys.executable, __file__, "--role", "client", "--urls", urls, "--count", str(per_proc),
                 "--probes", ",".join(rig.probes), "--out", str(outs[-1])],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True))
        for proc in clients:
            line = proc.stdout.readline() if proc.stdout else ""
            if "READY" not in line:
                raise RuntimeError(f"client process failed to connect ({line!r}); logs in {logs}")
        for proc in clients:
            assert proc.stdin is not None
            proc.stdin.write("go\n")
            proc.stdin.flush()
        from core.redis import redis_sync

        redis = redis_sync()
        redis_cpu0 = _redis_cpu(redis)
        cpu0 = {kind: cpu_seconds(pids) for kind, pids in rig.pids.items()}
        cpu0["clients"] = cpu_seconds([p.pid for p in clients])
        wall0 = time.monotonic()
        anchor, changes = asyncio.run(_probe_with_anchor(rig, args))
        wall = time.monotonic() - wall0
        cpu = {kind: round((cpu_seconds(pids) - cpu0[kind]) / wall, 3) for kind, pids in rig.pids.items()}
        cpu["clients"] = round((cpu_seconds([p.pid for p in clients]) - cpu0["clients"]) / wall, 3)
        cpu["redis"] = round((_redis_cpu(redis) - redis_cpu0) / wall, 3)
        time.sleep(args.settle)
        for proc in clients:
            assert proc.stdin is not None
            proc.stdin.write("stop\n")
            proc.stdin.flush()
        for proc in clients:
            proc.wait(120)
        results = [orjson.loads(out.read_bytes()) for out in outs]
    finally:
        for i in range(len(clients)):
            name = f"client-{tag}-{i}"
            if name in rig.children.procs:
                rig.children.stop(name)
    report = analyse(changes, results, args.stand_ms / 1000)
    report.update({"target": f"{via} /ws/games v{protocol}", "clients": per_proc * args.client_procs,
                   "anchor_frames": anchor.frames, "cpu_cores": cpu,
                   "frames_per_client_per_s": round(sum(r["frames"] for r in results) / max(1, per_proc *
                                                    args.client_procs) / wall, 1)})
    return report


def _redis_cpu(redis: Any) -> float:
    info = redis.info("cpu")
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


async def _probe_with_anchor(rig: Rig, args: argparse.Namespace) -> tuple[Anchor, list[Change]]:
    anchor = Anchor()
    stop = asyncio.Event()
    ws = rig.sim.replace("http://", "ws://") + "/clob/ws/market"
    task = asyncio.create_task(anchor_run(ws, list(rig.probes.values()), anchor, stop))
    await asyncio.sleep(1.0)  # subscribed, the dumps are in
    changes = await probe(rig.sim, rig.probes, args.seconds, args.changes, anchor)
    await asyncio.sleep(args.settle)
    stop.set()
    await task
    return anchor, changes


def analyse(changes: list[Change], results: list[dict[str, Any]], stand_s: float) -> dict[str, Any]:
    """Match every (client, change) to the first frame showing that quote after the change was posted."""
    counted = [c for c in changes if c.anchor_at is not None and (c.moved_at is None or c.moved_at - c.anchor_at
                                                                     >= stand_s)]
    latency, over_anchor, stream_part, delivery_part, hub_part, wire_part = [], [], [], [], [], []
    received = expected = 0
    for result in results:
        for records in result["clients"]:
            shown: dict[tuple[str, float, float], list[tuple[float, float, float]]] = {}
            for game, sell, buy, at, published, built in records:
                shown.setdefault((game, sell, buy), []).append((at, published, built))
            for change in counted:
                expected += 1
                times = shown.get((change.game, _cents(change.bid), _cents(change.ask)), [])
                i = bisect.bisect_left(times, (change.posted, 0.0, 0.0))
                if i == len(times):
                    continue
                at, published, built = times[i]
                received += 1
                latency.append(at - change.stamp)
                over_anchor.append(at - change.anchor_at)  # type: ignore[operator]
                stream_part.append(published - change.anchor_at)  # type: ignore[operator]
                delivery_part.append(at - published)
                if built:  # v2: pub/sub + hub window | daphne's write, the socket and the client's parse
                    hub_part.append(built - published)
                    wire_part.append(at - built)
    floor = [c.anchor_at - c.stamp for c in counted]  # type: ignore[operator]
    return {
        "changes_posted": len(changes),
        "changes_counted": len(counted),
        "changes_superseded_upstream": len(changes) - len(counted),
        "received_share": round(received / expected, 4) if expected else None,
        "p50_ms": pct(latency, 0.5), "p99_ms": pct(latency, 0.99), "max_ms": pct(latency, 1.0),
        "anchor_p50_ms": pct(floor, 0.5), "anchor_p99_ms": pct(floor, 0.99),
        "over_anchor_p50_ms": pct(over_anchor, 0.5), "over_anchor_p99_ms": pct(over_anchor, 0.99),
        "stream_part_p50_ms": pct(stream_part, 0.5), "stream_part_p99_ms": pct(stream_part, 0.99),
        "delivery_part_p50_ms": pct(delivery_part, 0.5), "delivery_part_p99_ms": pct(delivery_part, 0.99),
        "hub_part_p50_ms": pct(hub_part, 0.5), "hub_part_p99_ms": pct(hub_part, 0.99),
        "wire_part_p50_ms": pct(wire_part, 0.5), "wire_part_p99_ms": pct(wire_part, 0.99),
        "disconnected_clients": sum(r["disconnected"] for r in results),
    }


def _cents(price: str) -> float:
    return round(float(price) * 1000) / 10


def orchestrate(args: argparse.Namespace) -> None:
    env = dict(os.environ)
    env.update({"DEBUG": "0", "ALLOWED_HOSTS": "*", "SECURE_SSL_REDIRECT": "0", "LOG_LEVEL": "WARNING",
                "SECRET_KEY": os.environ.get("SECRET_KEY") or "bench-" + "x" * 50, "PYTHONPATH": str(REPO),
                "REDIS_PREFIX": f"e2ebench{os.getpid()}", "PYTHONUNBUFFERED": "1", "MEVU_UPSTREAM": "sim"})
    logs = Path(tempfile.mkdtemp(prefix="bench-e2e-"))
    logs.chmod(0o755)
    children = Children(logs, env)
    load0 = os.getloadavg()
    print(f"load average before: {load0}; logs in {logs}", file=sys.stderr)
    reports = []
    try:
        rig = rig_start(args, children, env)
        for via, protocol in itertools.product(args.via.split(","), [int(p) for p in args.protocols.split(",")]):
            if via == "nginx" and "nginx" not in children.procs:
                print("nginx not installed: skipping the nginx target", file=sys.stderr)
                continue
            reports.append(run_target(rig, args, via, protocol))
            print(json.dumps(reports[-1]), file=sys.stderr, flush=True)
    finally:
        children.stop_all()
        with contextlib.suppress(Exception):
            from core.redis import redis_sync

            keys = list(redis_sync().scan_iter(match=env["REDIS_PREFIX"] + ":*", count=1000))
            if keys:
                redis_sync().delete(*keys)
    summary(args, reports, load0)


def summary(args: argparse.Namespace, reports: list[dict[str, Any]], load0: tuple[float, ...]) -> None:
    print(json.dumps({"params": vars(args), "load_before": load0, "load_after": os.getloadavg(),
                      "results": reports}, indent=2))
    print(f"\nEnd-to-end freshness: simulator change -> /ws/games client, {args.clients} clients, "
          f"{args.changes:g} probed changes/s + {args.rate} background changes/s, {args.seconds:g} s per target")
    print(f"{'target':<24}{'received':>9}{'p50':>8}{'p99':>8}{'anchor p50/p99':>16}{'over anchor p50/p99':>21}"
          f"{'stream p50':>11}{'deliv p50':>10}{'hub p50':>8}{'wire p50':>9}{'frames/s':>9}")
    for r in reports:
        print(f"{r['target']:<24}{r['received_share']:>9.1%}{r['p50_ms']:>8}{r['p99_ms']:>8}"
              f"{r['anchor_p50_ms']:>8}/{r['anchor_p99_ms']:<7}{r['over_anchor_p50_ms']:>12}/"
              f"{r['over_anchor_p99_ms']:<8}{r['stream_part_p50_ms']:>11}{r['delivery_part_p50_ms']:>10}"
              f"{r['hub_part_p50_ms'] or '-':>8}{r['wire_part_p50_ms'] or '-':>9}{r['frames_per_client_per_s']:>9}")
    worst = max((r["p99_ms"] or 1e9 for r in reports), default=None)
    verdict = "MET" if worst is not None and worst <= args.target_p99_ms else "NOT MET"
    print(f"verdict: worst p99 {worst} ms vs target <= {args.target_p99_ms} ms: {verdict} "
          f"(load average {os.getloadavg()[0]:.1f})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--client-procs", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=20, help="probing time per target")
    parser.add_argument("--changes", type=float, default=5, help="probed changes per second")
    parser.add_argument("--rate", type=int, default=10, help="background simulator price changes per second")
    parser.add_argument("--games", type=int, default=12, help="NBA fixtures in the simulated day (12 -> 6 kept)")
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--via", default="daphne,nginx")
    parser.add_argument("--protocols", default="1", help="1, 2 or 1,2")
    parser.add_argument("--settle", type=float, default=5.0, help="s after the last change before counting")
    parser.add_argument("--stand-ms", type=float, default=500)
    parser.add_argument("--target-p99-ms", type=float, default=250)
    parser.add_argument("--no-nginx", dest="nginx", action="store_false")
    # internal roles
    parser.add_argument("--role", default="", help=argparse.SUPPRESS)
    parser.add_argument("--urls", default="", help=argparse.SUPPRESS)
    parser.add_argument("--count", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--probes", default="", help=argparse.SUPPRESS)
    parser.add_argument("--out", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.role == "client":
        asyncio.run(client_main(args))
    elif args.role == "stream":
        stream_main()
    else:
        orchestrate(args)


if __name__ == "__main__":
    main()
