"""Fan-out benchmark: many WebSocket clients over 2 daphne instances vs a raw `websockets` broadcast server.

    DEBUG=1 DATABASE_URL=postgresql://postgres@127.0.0.1:5432/mevu REDIS_URL=redis://127.0.0.1:6379/0 \
        .venv/bin/python bench/bench_fanout.py --clients 1000 --rate 200 --seconds 20

What runs (all on this machine, loopback):
  * publisher (this process): `rate` price changes per second over `games` games in `sports` sports,
    through core.publish.game_events_publish_async (10 events per call, every 50 ms), each game
    stamped with its publish time (`sentAt`) and a strictly increasing `price`;
  * target A, MEVU: 2 daphne processes serving mevu.asgi (per-process hub, coalescing window);
  * target B, the anchor: 2 processes of a minimal `websockets` server that subscribes to the same
    Redis fan-out channel and broadcasts every event (one frame per event) to the clients of its sport
    with `websockets.broadcast` - no sequence numbers, history, snapshots or slow-client handling;
  * clients: `client-procs` asyncio processes, each holding clients/client-procs connections spread over
    both instances; every client subscribes to one sport (round robin).
Per target it reports: share of (client, game) final states delivered (the client's last price of each
game of its sport equals the last price published), p50/p99 latency publish -> client over every event
a client received, and CPU seconds per wall second of the server processes and of the clients.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- client process ---------------------------------------------------------------------------------
async def client_main(args: argparse.Namespace) -> None:
    import aiohttp

    urls = args.urls.split(",")
    latencies: list[float] = []
    server_lags: list[float] = []  # publish -> frame built by the server (MEVU frames carry that time)
    finals: list[dict[str, int]] = []
    recording = asyncio.Event()

    def on_frame(raw: str | bytes, final: dict[str, int]) -> None:
        frame = orjson.loads(raw)
        kind = frame.get("type")
        if kind == "batch":
            events = frame["events"]
        elif kind in ("price_update", "game_update", "game_added"):
            events = [frame]
        else:
            return
        now = time.time()
        built = frame.get("timestamp", 0) / 1000
        for event in events:
            game = event["game"]
            if recording.is_set() and "sentAt" in game:
                latencies.append(now - game["sentAt"])
                if kind == "batch":
                    server_lags.append(built - game["sentAt"])
            final[game["id"]] = game["price"]

    def hello(sport: str) -> str:
        if args.kind == "mevu":
            return orjson.dumps({"type": "subscribe", "sports": [sport]}).decode()
        return orjson.dumps({"sport": sport}).decode()

    async def one(index: int) -> None:
        # aiohttp's frame reader is compiled (C), so the clients spend less CPU per frame than with
        # `websockets`: on a 2-core machine the clients must not be what is measured.
        sport = f"s{(args.first + index) % args.sports}"
        final: dict[str, int] = {}
        finals.append(final)
        url = urls[index % len(urls)]
        async with session.ws_connect(url, max_msg_size=0, autoping=True, heartbeat=None) as ws:
            if args.kind == "mevu":
                await ws.receive()  # subscribed
            await ws.send_str(hello(sport))
            ready.append(1)
            async for message in ws:
                if message.type == aiohttp.WSMsgType.TEXT:
                    on_frame(message.data, final)

    ready: list[int] = []
    session = aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=0), timeout=aiohttp.ClientTimeout(total=None, connect=60)
    )
    tasks = []
    for i in range(args.count):
        tasks.append(asyncio.create_task(one(i)))
        if i % 25 == 24:
            await asyncio.sleep(0.05)
    while len(ready) < args.count:
        failed = [t for t in tasks if t.done() and t.exception()]
        if failed:
            raise failed[0].exception()  # type: ignore[misc]
        await asyncio.sleep(0.05)
    print("READY", flush=True)
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.readline)  # "go"
    recording.set()
    await loop.run_in_executor(None, sys.stdin.readline)  # "stop": publisher done and settled
    disconnected = sum(1 for t in tasks if t.done())
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await session.close()
    result = {"latencies": latencies, "server_lags": server_lags, "finals": finals, "disconnected": disconnected,
              "sports": [f"s{(args.first + i) % args.sports}" for i in range(args.count)]}
    Path(args.out).write_bytes(orjson.dumps(result))
    print("DONE", flush=True)


# --- anchor server ----------------------------------------------------------------------------------
async def anchor_main(args: argparse.Namespace) -> None:
    import redis.asyncio as aioredis
    import websockets

    rooms: dict[str, set[Any]] = {}

    async def handler(ws: Any) -> None:
        sport = orjson.loads(await ws.recv())["sport"]
        rooms.setdefault(sport, set()).add(ws)
        try:
            await ws.wait_closed()
        finally:
            rooms[sport].discard(ws)

    async def relay() -> None:
        client = aioredis.Redis.from_url(args.redis_url)
        pubsub = client.pubsub(ignore_subscribe_messages=True)
        await pubsub.subscribe(args.channel)
        async for message in pubsub.listen():
            for item in orjson.loads(message["data"])["events"]:
                body = item["e"]
                body["timestamp"] = int(time.time() * 1000)
                room = rooms.get(body["game"]["sport"])
                if room:
                    websockets.broadcast(room, orjson.dumps(body).decode())

    async with websockets.serve(handler, "127.0.0.1", args.port, max_size=2**20, ping_interval=None):
        print("LISTENING", flush=True)
        await relay()


# --- orchestration ----------------------------------------------------------------------------------
def wait_port(port: int, timeout_s: float = 30) -> None:
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
            times = psutil.Process(pid).cpu_times()
            total += times.user + times.system
    return total


async def publish(args: argparse.Namespace, seconds: float, state: dict[str, int]) -> int:
    from core.publish import game_events_publish_async

    per_call = 10
    published = 0
    start = time.monotonic()
    rng = random.Random(1)
    while time.monotonic() - start < seconds:
        events = []
        for _ in range(per_call):
            gid = f"bg{rng.randrange(args.games)}"
            state[gid] = state.get(gid, 0) + 1
            game = {"id": gid, "slug": f"bench-{gid}", "sport": f"s{int(gid[2:]) % args.sports}",
                    "price": state[gid], "sentAt": time.time(),
                    "homeTeam": {"abbr": "HOM", "probability": 50, "buyPrice": 50.5, "sellPrice": 49.5},
                    "awayTeam": {"abbr": "AWY", "probability": 50, "buyPrice": 50.5, "sellPrice": 49.5}}
            events.append({"type": "price_update", "game": game})
        await game_events_publish_async(events)
        published += per_call
        next_at = start + published / args.rate
        await asyncio.sleep(max(0.0, next_at - time.monotonic()))
    return published


def run_target(kind: str, args: argparse.Namespace, env: dict[str, str]) -> dict[str, Any]:
    from core.publish import fanout_channel

    ports = [free_port(), free_port()]
    servers: list[subprocess.Popen[bytes]] = []
    logs = Path(tempfile.mkdtemp(prefix=f"bench-fanout-{kind}-"))
    for i, port in enumerate(ports):
        if kind == "mevu":
            argv = [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "mevu.asgi:application"]
        else:
            argv = [sys.executable, __file__, "--anchor-server", "--port", str(port),
                    "--redis-url", env["REDIS_URL"], "--channel", fanout_channel()]
        log = (logs / f"server{i}.log").open("wb")
        servers.append(subprocess.Popen(argv, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT))
    clients: list[subprocess.Popen[str]] = []
    outs: list[Path] = []
    try:
        for port in ports:
            wait_port(port)
        scheme = "ws"
        path = "/ws/games?protocol=2" if kind == "mevu" else "/"  # per-sport topics: protocol 2
        urls = ",".join(f"{scheme}://127.0.0.1:{p}{path}" for p in ports)
        per_proc = args.clients // args.client_procs
        for i in range(args.client_procs):
            out = logs / f"client{i}.json"
            outs.append(out)
            argv = [sys.executable, __file__, "--client", "--kind", kind, "--urls", urls, "--count", str(per_proc),
                    "--first", str(i * per_proc), "--sports", str(args.sports), "--out", str(out)]
            clients.append(subprocess.Popen(argv, cwd=REPO, env=env, stdin=subprocess.PIPE,
                                            stdout=subprocess.PIPE, text=True))
        for proc in clients:
            line = proc.stdout.readline() if proc.stdout else ""
            if "READY" not in line:
                raise RuntimeError(f"client process failed to connect ({line!r}); logs in {logs}")
        server_pids = [p.pid for p in servers]
        client_pids = [p.pid for p in clients]
        for proc in clients:
            assert proc.stdin is not None
            proc.stdin.write("go\n")
            proc.stdin.flush()
        cpu0_s, cpu0_c, wall0 = cpu_seconds(server_pids), cpu_seconds(client_pids), time.monotonic()
        last: dict[str, int] = {}
        published = asyncio.run(publish(args, args.seconds, last))
        wall = time.monotonic() - wall0
        cpu_s, cpu_c = cpu_seconds(server_pids) - cpu0_s, cpu_seconds(client_pids) - cpu0_c
        time.sleep(args.settle)
        for proc in clients:
            assert proc.stdin is not None
            proc.stdin.write("stop\n")
            proc.stdin.flush()
        for proc in clients:
            proc.wait(120)
        latencies: list[float] = []
        server_lags: list[float] = []
        delivered = expected = disconnected = 0
        for out in outs:
            result = orjson.loads(out.read_bytes())
            latencies += result["latencies"]
            server_lags += result["server_lags"]
            disconnected += result["disconnected"]
            for sport, final in zip(result["sports"], result["finals"], strict=True):
                for gid, price in last.items():
                    if f"s{int(gid[2:]) % args.sports}" == sport:
                        expected += 1
                        delivered += final.get(gid) == price
        latencies.sort()
        server_lags.sort()
        return {
            "target": kind,
            "clients": per_proc * args.client_procs,
            "events_published": published,
            "publish_rate": round(published / wall, 1),
            "final_states_delivered": round(delivered / expected, 4) if expected else 0.0,
            "events_received": len(latencies),
            "p50_ms": round(statistics.median(latencies) * 1000, 1) if latencies else None,
            "p99_ms": round(latencies[int(len(latencies) * 0.99)] * 1000, 1) if latencies else None,
            "max_ms": round(latencies[-1] * 1000, 1) if latencies else None,
            # MEVU only: publish -> frame built in the server process (the rest is socket + client)
            "server_p50_ms": round(statistics.median(server_lags) * 1000, 1) if server_lags else None,
            "server_p99_ms": round(server_lags[int(len(server_lags) * 0.99)] * 1000, 1) if server_lags else None,
            "server_cpu_cores": round(cpu_s / wall, 2),
            "client_cpu_cores": round(cpu_c / wall, 2),
            "disconnected_clients": disconnected,
        }
    finally:
        for proc in clients:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        for proc in servers:
            proc.send_signal(signal.SIGTERM)
        for proc in servers:
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def orchestrate(args: argparse.Namespace) -> None:
    env = dict(os.environ)
    env.setdefault("DEBUG", "1")
    env.setdefault("REDIS_URL", "redis://127.0.0.1:6379/0")
    env["REDIS_PREFIX"] = f"mevubench{os.getpid()}"
    env["LOG_LEVEL"] = "WARNING"
    env["PYTHONPATH"] = str(REPO)
    os.environ.update({k: env[k] for k in ("DEBUG", "REDIS_URL", "REDIS_PREFIX")})
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mevu.settings")
    import django

    django.setup()
    from core.redis import redis_sync

    print(f"load average before: {os.getloadavg()}", file=sys.stderr)
    results = []
    try:
        for kind in args.targets.split(","):
            results.append(run_target(kind, args, env))
            print(json.dumps(results[-1]), file=sys.stderr)
    finally:
        client = redis_sync()
        keys = list(client.scan_iter(match=env["REDIS_PREFIX"] + ":*", count=1000))
        if keys:
            client.delete(*keys)
    by_kind = {r["target"]: r for r in results}
    report: dict[str, Any] = {"params": vars(args) | {"load_before": os.getloadavg()}, "results": results}
    if "mevu" in by_kind and "anchor" in by_kind and by_kind["anchor"]["p99_ms"]:
        report["p99_ratio_mevu_vs_anchor"] = round(by_kind["mevu"]["p99_ms"] / by_kind["anchor"]["p99_ms"], 2)
        report["cpu_ratio_mevu_vs_anchor"] = round(
            by_kind["mevu"]["server_cpu_cores"] / max(by_kind["anchor"]["server_cpu_cores"], 0.01), 2
        )
    print(json.dumps(report, indent=2))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--client-procs", type=int, default=4)
    parser.add_argument("--rate", type=float, default=200, help="price changes published per second")
    parser.add_argument("--games", type=int, default=100)
    parser.add_argument("--sports", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--settle", type=float, default=3, help="seconds to wait for stragglers after publishing")
    parser.add_argument("--targets", default="mevu,anchor")
    # internal roles
    parser.add_argument("--client", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--anchor-server", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--kind", default="mevu", help=argparse.SUPPRESS)
    parser.add_argument("--urls", default="", help=argparse.SUPPRESS)
    parser.add_argument("--count", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--first", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--out", default="", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--redis-url", default="", help=argparse.SUPPRESS)
    parser.add_argument("--channel", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.client:
        asyncio.run(client_main(args))
    elif args.anchor_server:
        asyncio.run(anchor_main(args))
    else:
        orchestrate(args)


if __name__ == "__main__":
    main()
