"""Capacity model: measured per-unit costs of one instance of each process, and the deployment they imply.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/<migrated db> REDIS_URL=redis://127.0.0.1:<port>/0 \
        .venv/bin/python bench/bench_capacity.py

It runs the end-to-end rig of bench/bench_e2e.py with ONE daphne (simulator -> stream worker -> Redis ->
daphne hub -> clients) and measures, in this order:
  1. stream: CPU of the stream worker per upstream price change (simulator at --rate, one client connected so
     the hub runs), events published, Redis commands per event (INFO commandstats deltas), Redis CPU per event,
     the fan-out messages' size; plus bench_stream's parse+apply CPU (no I/O) as the stream's floor;
  2. sockets: daphne CPU per delivered frame and RSS per socket, `--clients` `/ws/games` sockets (v1 and v2);
  3. listing: daphne CPU per warm `GET /api/games/frontend` hit (wrk);
  4. pub/sub: Redis CPU per published message as a function of the number of subscribers (raw subscriber
     sockets, real fan-out message bytes), i.e. where the single `rt:fanout` channel saturates;
  5. PostgreSQL connections per process kind (pg_stat_activity by application_name): daphne and the stream
     holder from the rig (after serving), plus a Celery `sports` worker, a `stream` worker (standing by) and
     beat, started as `manage.py serve` starts them.
Then it prints the model for --sockets sockets at --changes upstream changes/s (docs/CAPACITY.md explains it).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_e2e as e2e

REPO = e2e.REPO
STREAM_WINDOW_S = 0.15  # STREAM_COALESCE_MS default
HUB_WINDOW_S = 0.10  # REALTIME_WINDOW_MS default
MAX_SOCKETS_PER_PROCESS = 10_000  # REALTIME_MAX_CONNECTIONS default
TARGET_UTIL = 0.6  # plan every process and Redis at 60 % of a core: headroom for bursts and reconnect storms
PROCESS_KINDS = ("daphne", "stream-holder", "celery-sports", "celery-stream", "beat")


# --- raw pub/sub subscribers (a child process) ------------------------------------------------------------
async def subscribers_main(args: argparse.Namespace) -> None:
    """`count` raw Redis connections subscribed to `channel`, reading and discarding (no parsing)."""
    from redis.connection import parse_url

    url = parse_url(os.environ["REDIS_URL"])
    received = [0]

    async def one() -> None:
        reader, writer = await asyncio.open_connection(url.get("host", "127.0.0.1"), url.get("port", 6379))
        channel = args.channel.encode()
        writer.write(b"*2\r\n$9\r\nSUBSCRIBE\r\n$%d\r\n%s\r\n" % (len(channel), channel))
        await writer.drain()
        while True:
            chunk = await reader.read(1 << 20)
            if not chunk:
                return
            received[0] += len(chunk)

    tasks = [asyncio.create_task(one()) for _ in range(args.count)]
    await asyncio.sleep(1.0)
    print("READY", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    for task in tasks:
        task.cancel()
    print(json.dumps({"bytes": received[0]}), flush=True)


# --- measurements ---------------------------------------------------------------------------------------
def redis_stats(redis: Any) -> tuple[float, dict[str, int], int]:
    """Redis CPU seconds, calls per command, and microseconds spent executing commands."""
    cpu = redis.info("cpu")
    stats = redis.info("commandstats")
    calls = {name.removeprefix("cmdstat_"): int(v["calls"]) for name, v in stats.items()}
    usec = sum(int(v["usec"]) for name, v in stats.items() if name not in ("cmdstat_info", "cmdstat_eval"))
    return float(cpu["used_cpu_user"]) + float(cpu["used_cpu_sys"]), calls, usec


def measure_stream(rig: e2e.Rig, seconds: float) -> dict[str, Any]:
    """Stream CPU per upstream change, Redis per event, fan-out message sizes; one client keeps the hub on.
    Each figure is (busy - idle) / units: an idle period (simulator paused) first, then the same time busy."""
    import httpx

    from core.publish import fanout_channel
    from core.redis import redis_sync
    from stream.program import stream_metrics_read

    redis = redis_sync()
    sizes: list[int] = []
    stop = threading.Event()

    def listen() -> None:
        pubsub = redis_sync().pubsub(ignore_subscribe_messages=True)
        pubsub.subscribe(fanout_channel())
        while not stop.is_set():
            message = pubsub.get_message(timeout=0.2)
            if message and recording.is_set():
                sizes.append(len(message["data"]))
        pubsub.close()

    def sample() -> dict[str, Any]:
        rcpu, calls, usec = redis_stats(redis)
        return {"wall": time.monotonic(), "sim": httpx.get(f"{rig.sim}/_sim/stats").json()["price_changes"],
                "published": (stream_metrics_read() or {})["counters"]["published"], "redis_cpu": rcpu,
                "calls": calls, "usec": usec, "stream": e2e.cpu_seconds(rig.pids["stream"]),
                "daphne": e2e.cpu_seconds(rig.pids["daphne"])}

    def delta(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
        d = {k: b[k] - a[k] for k in ("wall", "sim", "published", "redis_cpu", "usec", "stream", "daphne")}
        d["calls"] = {k: b["calls"][k] - a["calls"].get(k, 0) for k in b["calls"]}
        return d

    recording = threading.Event()
    listener = threading.Thread(target=listen, daemon=True)
    listener.start()
    with one_client(rig):
        httpx.post(f"{rig.sim}/_sim/pause")
        time.sleep(1.5)  # the metrics key is written once a second
        a = sample()
        time.sleep(seconds / 2)
        time.sleep(1.5)
        b = sample()
        idle = delta(a, b)
        httpx.post(f"{rig.sim}/_sim/resume")
        time.sleep(2)
        a = sample()
        recording.set()
        time.sleep(seconds)
        recording.clear()
        time.sleep(1.5)
        b = sample()
        busy = delta(a, b)
    stop.set()
    listener.join()

    def rate(key: str, d: dict[str, Any]) -> float:
        return d[key] / d["wall"]

    changes, events = busy["sim"], max(1, busy["published"])
    wall = busy["wall"]

    def per(key: str, units: float) -> float:  # busy minus idle, per unit, microseconds
        return round((rate(key, busy) - rate(key, idle)) * wall / units * 1e6, 1)

    calls = {k: v for k, v in busy["calls"].items() if v > 0 and k != "info"}
    return {
        "seconds": round(wall, 1),
        "upstream_changes_per_s": round(changes / wall, 1),
        "events_published_per_s": round(events / wall, 1),
        "stream_cpu_cores_busy": round(rate("stream", busy), 3),
        "stream_cpu_cores_idle": round(rate("stream", idle), 3),
        "stream_cpu_us_per_change": per("stream", changes),
        "hub_cpu_us_per_event": per("daphne", events),
        "hub_cpu_cores_idle": round(rate("daphne", idle), 3),
        "hub_cpu_cores_busy": round(rate("daphne", busy), 3),
        "redis_calls_per_event": round(sum(calls.values()) / events, 2),
        "redis_calls_by_command_per_event": {k: round(v / events, 3) for k, v in sorted(calls.items())},
        "redis_command_us_per_event": round(busy["usec"] / events, 1),
        "redis_cpu_us_per_event": per("redis_cpu", events),
        "fanout_messages_per_s": round(len(sizes) / wall, 2),
        "fanout_bytes_per_event": round(sum(sizes) / events) if sizes else None,
        "fanout_message_bytes_mean": round(sum(sizes) / len(sizes)) if sizes else None,
    }


@contextlib.contextmanager
def one_client(rig: e2e.Rig) -> Any:
    """A /ws/games socket so the daphne's hub runs (it starts with its first socket)."""
    import websockets.sync.client as wsclient

    with wsclient.connect(f"ws://127.0.0.1:{rig.daphne_ports[0]}/ws/games?protocol=2") as ws:
        ws.recv()
        ws.send('{"type":"subscribe","games":["none"]}')  # a topic that never changes: the hub only
        yield ws


def measure_sockets(rig: e2e.Rig, clients: int, procs: int, protocol: int, seconds: float,
                    hub_cores: float) -> dict[str, Any]:
    """daphne CPU per delivered frame: (CPU with the sockets - the hub's CPU with one socket) / frames."""
    import psutil

    daphne = psutil.Process(rig.pids["daphne"][0])
    rss0 = daphne.memory_info().rss
    query = "?protocol=2" if protocol == 2 else ""
    url = f"ws://127.0.0.1:{rig.daphne_ports[0]}/ws/games{query}"
    children: list[subprocess.Popen[str]] = []
    outs = []
    per_proc = clients // procs
    try:
        for i in range(procs):
            outs.append(rig.children.logs / f"cap-client-v{protocol}-{i}.json")
            children.append(rig.children.start(
                f"cap-client-v{protocol}-{i}",
                [sys.executable, e2e.__file__, "--role", "client", "--urls", url, "--count", str(per_proc),
                 "--probes", ",".join(rig.probes), "--out", str(outs[-1])],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True))
        for proc in children:
            if "READY" not in (proc.stdout.readline() if proc.stdout else ""):
                raise RuntimeError(f"client process failed; logs in {rig.children.logs}")
        time.sleep(1)
        rss1 = daphne.memory_info().rss
        for proc in children:
            proc.stdin.write("go\n")  # type: ignore[union-attr]
            proc.stdin.flush()  # type: ignore[union-attr]
        cpu0, wall0 = e2e.cpu_seconds(rig.pids["daphne"]), time.monotonic()
        time.sleep(seconds)
        cpu, wall = e2e.cpu_seconds(rig.pids["daphne"]) - cpu0, time.monotonic() - wall0
        for proc in children:
            proc.stdin.write("stop\n")  # type: ignore[union-attr]
            proc.stdin.flush()  # type: ignore[union-attr]
        for proc in children:
            proc.wait(60)
        results = [orjson.loads(out.read_bytes()) for out in outs]
    finally:
        for i in range(len(children)):
            name = f"cap-client-v{protocol}-{i}"
            if name in rig.children.procs:
                rig.children.stop(name)
    frames = sum(r["frames"] for r in results)
    return {
        "protocol": protocol,
        "sockets": per_proc * procs,
        "frames_per_socket_per_s": round(frames / (per_proc * procs) / wall, 2),
        "daphne_cpu_cores": round(cpu / wall, 3),
        "daphne_cpu_us_per_frame": round((cpu - hub_cores * wall) / max(1, frames) * 1e6, 2),
        "daphne_rss_kb_per_socket": round((rss1 - rss0) / (per_proc * procs) / 1024, 1),
    }


def measure_listing(rig: e2e.Rig, seconds: float) -> dict[str, Any]:
    if shutil.which("wrk") is None:
        return {"skipped": "wrk not installed"}
    url = f"http://127.0.0.1:{rig.daphne_ports[0]}/api/games/frontend"
    subprocess.run(["wrk", "-t1", "-c8", "-d2s", url], check=True, capture_output=True)  # warm
    cpu0 = e2e.cpu_seconds(rig.pids["daphne"])
    out = subprocess.run(["wrk", "-t1", "-c16", f"-d{int(seconds)}s", url], check=True, capture_output=True,
                         text=True).stdout
    cpu = e2e.cpu_seconds(rig.pids["daphne"]) - cpu0
    requests = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    return {"requests": requests, "req_per_s": round(requests / seconds), "daphne_cpu_us_per_hit":
            round(cpu / requests * 1e6, 1), "non_2xx": "Non-2xx" in out}


def measure_pubsub(rig: e2e.Rig, sizes: list[int], counts: list[int], seconds: float) -> dict[str, Any]:
    """Redis CPU per PUBLISH to k raw subscribers, at two message sizes: cost per subscriber per message =
    fixed + per byte (fitted). The rig keeps running, so only differences between runs are used."""
    from core.redis import redis_sync

    redis = redis_sync()
    channel = "e2ebench:capacity"
    rows = []
    for size, count in itertools.product(sizes, counts):
        rate = 100 if size < 32_768 else 20
        proc = rig.children.start(f"subs{count}-{size}", [sys.executable, __file__, "--role", "subscribers",
                                                          "--count", str(count), "--channel", channel],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        if "READY" not in (proc.stdout.readline() if proc.stdout else ""):
            raise RuntimeError("subscribers failed")
        payload = b"x" * size
        cpu0, _, _ = redis_stats(redis)
        sent, start = 0, time.monotonic()
        while time.monotonic() - start < seconds:
            redis.publish(channel, payload)
            sent += 1
            time.sleep(max(0.0, start + sent / rate - time.monotonic()))
        time.sleep(0.5)
        cpu1, _, _ = redis_stats(redis)
        proc.stdin.write("stop\n")  # type: ignore[union-attr]
        proc.stdin.flush()  # type: ignore[union-attr]
        got = json.loads(proc.stdout.readline())["bytes"]  # type: ignore[union-attr]
        rig.children.stop(f"subs{count}-{size}")
        rows.append({"bytes": size, "subscribers": count, "messages": sent,
                     "redis_cpu_us_per_message": round((cpu1 - cpu0) / sent * 1e6, 1),
                     "delivered_share": round(got / max(1, sent * count * size), 3)})
    slopes = {}
    for size in sizes:
        mine = [r for r in rows if r["bytes"] == size]
        lo, hi = mine[0], mine[-1]
        slopes[size] = (hi["redis_cpu_us_per_message"] - lo["redis_cpu_us_per_message"]) / max(
            1, hi["subscribers"] - lo["subscribers"])
    small, big = sizes[0], sizes[-1]
    per_byte = max(0.0, (slopes[big] - slopes[small]) / max(1, big - small))
    fixed = max(0.0, slopes[small] - per_byte * small)
    return {"rows": rows, "us_per_subscriber_per_message": {str(k): round(v, 2) for k, v in slopes.items()},
            "us_per_subscriber_per_message_fixed": round(fixed, 2),
            "us_per_subscriber_per_kb": round(per_byte * 1024, 3)}


class PgSampler(threading.Thread):
    """The peak number of PostgreSQL connections per application_name (mevu-<kind>), sampled twice a second."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peak: dict[str, int] = {}
        self.done = threading.Event()

    def run(self) -> None:
        from django.db import connection

        while not self.done.wait(0.5):
            with connection.cursor() as cursor:
                cursor.execute("SELECT application_name, count(*) FROM pg_stat_activity "
                               "WHERE application_name LIKE 'mevu-%%' GROUP BY 1")
                for name, count in cursor.fetchall():
                    kind = name.removeprefix("mevu-")
                    self.peak[kind] = max(self.peak.get(kind, 0), count)
        connection.close()


def run_workers(rig: e2e.Rig, settle_s: float) -> None:
    """A Celery `sports` worker, a `stream` worker (standing by: the rig's holder has the lease) and beat, as
    manage.py serve starts them, for `settle_s` seconds (the sports worker's start-up task runs, then two
    syncs)."""
    celery = [sys.executable, "-m", "celery", "-A", "mevu", "-q"]
    kinds = {
        "celery-sports": [*celery, "worker", "-Q", "sports", "-c", "2", "-n", "sports@bench", "--without-mingle",
                          "--without-gossip"],
        "celery-stream": [*celery, "worker", "-Q", "stream", "-c", "1", "--prefetch-multiplier", "1", "-n",
                          "stream@bench", "--without-mingle", "--without-gossip"],
        "beat": [*celery, "beat"],
    }
    from mevu.celery import app

    for kind, argv in kinds.items():
        rig.children.start(kind, argv, kind=kind)
    time.sleep(settle_s / 2)
    # The polling beat would send within a minute: two syncs, to see a sports pool process at work.
    app.send_task("games.tasks.sync_live_games", queue="sports")
    app.send_task("games.tasks.sync_games", args=["nba"], queue="sports")
    time.sleep(settle_s / 2)
    for kind in kinds:
        rig.children.stop(kind)


# --- the model ------------------------------------------------------------------------------------------
def model(m: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    """The deployment for `sockets` sockets at `changes` upstream changes/s, per client profile
    (docs/CAPACITY.md, "Model")."""
    stream, pubsub, listing, pg = m["stream"], m["pubsub"], m["listing"], m["pg"]
    us_frame = {s["protocol"]: s["daphne_cpu_us_per_frame"] for s in m["sockets"]}
    event_bytes = stream["fanout_bytes_per_event"]
    # Upstream changes -> events: the stream's window sends at most one event per game per window, and one
    # PUBLISH per quarter-window look that found due games.
    events_per_s = min(args.changes, args.live_games / STREAM_WINDOW_S)
    messages_per_s = min(events_per_s, 4 / STREAM_WINDOW_S)
    message_bytes = events_per_s * event_bytes / messages_per_s
    hub_cores = events_per_s * stream["hub_cpu_us_per_event"] / 1e6  # every daphne process follows every event
    publish_cores = events_per_s * stream["redis_cpu_us_per_event"] / 1e6
    per_sub_us = (pubsub["us_per_subscriber_per_message_fixed"]
                  + pubsub["us_per_subscriber_per_kb"] * message_bytes / 1024)
    max_subscribers = (TARGET_UTIL - publish_cores) / (messages_per_s * per_sub_us / 1e6)
    per_daphne_pg = pg.get("daphne", 0) / max(1, len(m["daphne_pids"]))
    workers_pg = sum(pg.get(k, 0) for k in ("stream-holder", "celery-sports", "celery-stream", "beat"))
    # Client profiles: (frames/s per socket, bytes per frame, CPU per frame as measured for that frame shape).
    sport_games = args.games_per_topic * min(1.0, HUB_WINDOW_S / STREAM_WINDOW_S)  # changed per hub window
    profiles = {
        "v2 one game (a game page)": (min(1 / STREAM_WINDOW_S, args.changes / args.live_games), event_bytes,
                                      us_frame[1]),
        "v2 one sport (a league list)": (1 / HUB_WINDOW_S, sport_games * event_bytes, us_frame[2]),
        "v1 every game (the original feed)": (events_per_s, event_bytes, us_frame[1]),
    }
    rows = {}
    for name, (frames, frame_bytes, us) in profiles.items():
        frame_cores = args.sockets * frames * us / 1e6
        budget = TARGET_UTIL - hub_cores
        daphnes = max(math.ceil(frame_cores / budget), math.ceil(args.sockets / MAX_SOCKETS_PER_PROCESS))
        fanout_cores = messages_per_s * daphnes * per_sub_us / 1e6
        rows[name] = {
            "frames_per_socket_per_s": round(frames, 1), "frame_kb": round(frame_bytes / 1024, 1),
            "frame_cores": round(frame_cores, 1), "daphne_processes": daphnes,
            "http_instances_4_vcpu": math.ceil(daphnes / 4), "sockets_per_process": round(args.sockets / daphnes),
            "egress_gbit_s": round(args.sockets * frames * frame_bytes * 8 / 1e9, 1),
            "redis_cores_single_channel": round(publish_cores + fanout_cores, 2),
            "redis_fanout_shards": math.ceil((publish_cores + fanout_cores) / TARGET_UTIL),
            "pg_client_connections_peak": math.ceil(daphnes * per_daphne_pg + workers_pg),
        }
    listing_us = listing.get("daphne_cpu_us_per_hit")
    return {
        "inputs": {"sockets": args.sockets, "upstream_changes_per_s": args.changes, "live_games": args.live_games,
                   "games_per_sport_topic": args.games_per_topic, "target_load": TARGET_UTIL},
        "shared": {
            "events_per_s": round(events_per_s), "fanout_messages_per_s": round(messages_per_s, 1),
            "fanout_message_kb": round(message_bytes / 1024, 1),
            "stream_worker_cores": round(args.changes * stream["stream_cpu_us_per_change"] / 1e6, 2),
            "stream_holder_max_changes_per_s": round(TARGET_UTIL / (stream["stream_cpu_us_per_change"] / 1e6)),
            "hub_cores_per_daphne": round(hub_cores, 3),
            "redis_publish_cores": round(publish_cores, 2),
            "redis_max_subscribers_single_channel": math.floor(max_subscribers) if max_subscribers > 0 else 0,
            "listing_hits_per_s_per_daphne": round(TARGET_UTIL / (listing_us / 1e6)) if listing_us else None,
        },
        "profiles": rows,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=int, default=400, help="simulator price changes per second")
    parser.add_argument("--games", type=int, default=12, help="NBA fixtures in the simulated day")
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=15, help="per measurement")
    parser.add_argument("--clients", type=int, default=500)
    parser.add_argument("--client-procs", type=int, default=2)
    parser.add_argument("--subscribers", default="0,50", help="raw pub/sub subscriber counts to fit")
    parser.add_argument("--sizes", default="8192,131072", help="pub/sub message sizes to fit (bytes)")
    # the model's inputs
    parser.add_argument("--sockets", type=int, default=100_000)
    parser.add_argument("--changes", type=int, default=2000, help="upstream price changes per second")
    parser.add_argument("--live-games", type=int, default=165, help="games with streamed prices")
    parser.add_argument("--frames-per-socket", type=float, default=10,
                        help="frames/s a socket receives (v2 per-sport topic: at most one per hub window)")
    parser.add_argument("--games-per-topic", type=int, default=20, help="live games in a socket's topic (a sport)")
    parser.add_argument("--role", default="", help=argparse.SUPPRESS)
    parser.add_argument("--count", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--channel", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.role == "subscribers":
        asyncio.run(subscribers_main(args))
        return
    env = dict(os.environ)
    env.update({"DEBUG": "0", "ALLOWED_HOSTS": "*", "SECURE_SSL_REDIRECT": "0", "LOG_LEVEL": "WARNING",
                "SECRET_KEY": os.environ.get("SECRET_KEY") or "bench-" + "x" * 50, "PYTHONPATH": str(REPO),
                "REDIS_PREFIX": f"e2ebench{os.getpid()}", "PYTHONUNBUFFERED": "1", "MEVU_UPSTREAM": "sim"})
    logs = Path(tempfile.mkdtemp(prefix="bench-capacity-"))
    logs.chmod(0o755)
    children = e2e.Children(logs, env)
    load0 = os.getloadavg()
    print(f"load average before: {load0}; logs in {logs}", file=sys.stderr)
    measured: dict[str, Any] = {}

    def step(name: str, value: Any) -> None:
        measured[name] = value
        print(json.dumps({name: value}), file=sys.stderr, flush=True)

    sampler = PgSampler()
    try:
        rig = e2e.rig_start(argparse.Namespace(seed=args.seed, games=args.games, rate=args.rate, nginx=False),
                            children, env, daphnes=1)
        measured["daphne_pids"] = rig.pids["daphne"]
        sampler.start()
        step("stream", measure_stream(rig, args.seconds))
        hub = measured["stream"]["hub_cpu_cores_busy"]
        step("sockets", [measure_sockets(rig, args.clients, args.client_procs, p, args.seconds, hub) for p in (1, 2)])
        step("listing", measure_listing(rig, args.seconds))
        step("pubsub", measure_pubsub(rig, [int(b) for b in args.sizes.split(",")],
                                      [int(c) for c in args.subscribers.split(",")], seconds=args.seconds / 3))
        run_workers(rig, settle_s=25)
        sampler.done.set()
        sampler.join()
        step("pg", {kind: sampler.peak.get(kind, 0) for kind in PROCESS_KINDS})
    finally:
        sampler.done.set()
        children.stop_all()
        with contextlib.suppress(Exception):
            from core.redis import redis_sync

            keys = list(redis_sync().scan_iter(match=env["REDIS_PREFIX"] + ":*", count=1000))
            if keys:
                redis_sync().delete(*keys)
    import bench_stream

    floor = bench_stream.bench_cpu(changes=60_000)
    measured["stream"]["parse_apply_us_per_change_floor"] = round(1e6 / floor["parse_apply_changes_per_cpu_s"], 1)
    result = model(measured, args)
    print(json.dumps({"load_before": load0, "load_after": os.getloadavg(), "measured": measured, "model": result},
                     indent=2))
    summary(measured, result)


def summary(m: dict[str, Any], r: dict[str, Any]) -> None:
    s, p, lst = m["stream"], m["pubsub"], m["listing"]
    print(f"\nMeasured, one process of each kind (load average {os.getloadavg()[0]:.1f}):")
    print(f"  stream worker  {s['stream_cpu_us_per_change']} us CPU per upstream change at "
          f"{s['upstream_changes_per_s']}/s (bench_stream parse+apply floor "
          f"{s.get('parse_apply_us_per_change_floor')} us); {s['events_published_per_s']} events/s published")
    print(f"  redis          {s['redis_calls_per_event']} commands, {s['redis_command_us_per_event']} us in commands, "
          f"{s['redis_cpu_us_per_event']} us CPU per event; {s['fanout_bytes_per_event']} B fanned out per event")
    print(f"  redis pub/sub  per subscriber per message: {p['us_per_subscriber_per_message_fixed']} us + "
          f"{p['us_per_subscriber_per_kb']} us/KB ({p['us_per_subscriber_per_message']})")
    print(f"  daphne hub     {s['hub_cpu_us_per_event']} us CPU per event (every process pays it)")
    for sock in m["sockets"]:
        print(f"  daphne v{sock['protocol']}      {sock['daphne_cpu_us_per_frame']} us CPU per delivered frame, "
              f"{sock['daphne_rss_kb_per_socket']} KB RSS per socket ({sock['sockets']} sockets, "
              f"{sock['frames_per_socket_per_s']} frames/s each)")
    if "daphne_cpu_us_per_hit" in lst:
        print(f"  daphne listing {lst['daphne_cpu_us_per_hit']} us CPU per warm hit ({lst['req_per_s']} req/s)")
    print(f"  postgresql     peak connections by process kind: {m['pg']}")
    print(f"\nModel ({TARGET_UTIL:.0%} target load per process and per Redis core): {r['inputs']}")
    for key, value in r["shared"].items():
        print(f"  {key:<40}{value}")
    columns = list(next(iter(r["profiles"].values())))
    print(f"  {'profile':<36}" + "".join(f"{c.replace('_', ' ')[:13]:>14}" for c in columns))
    for name, row in r["profiles"].items():
        print(f"  {name:<36}" + "".join(f"{row[c]:>14}" for c in columns))


if __name__ == "__main__":
    main()
