"""Simulator throughput: price changes per second delivered to subscribed market sockets.

    .venv/bin/python bench/bench_simulator.py [--seconds 10] [--rates 2000 4000 12000]

For each target rate it starts ``python -m simulator`` (one process, so one core for the server),
subscribes every open token over sockets of at most 500 assets, and counts ``price_change``
messages (and their entries) received per second. In the same run it measures two anchors on the
same machine: a minimal aiohttp WebSocket server (the simulator's own stack) in its own process
that sends the same pre-built frames, paced at the same rate, to the same number of sockets, and a
pure-CPU loop that ``orjson``-dumps the same frames. Ratios to those anchors make the figure comparable across machines.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import orjson
import psutil
import websockets

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from simulator.testing import free_port, run_simulator  # noqa: E402

# ~20 NBA fixtures: about 2,000 open outcome tokens, i.e. 4 sockets x 500 assets.
SCENARIO = ("--games", "20", "--leagues", "nba", "--new-game-every-s", "0", "--ping-timeout-s", "60")


@dataclass
class Result:
    label: str
    target: float
    sockets: int
    assets: int
    messages_per_s: float
    entries_per_s: float
    server_cpu: float  # share of one core used by the server process
    frame_bytes: float


async def _consume(url: str, first: str | None, counts: list[int], sizes: list[int], stop: asyncio.Event) -> None:
    async with websockets.connect(url, max_size=None, max_queue=None, ping_interval=None, close_timeout=1) as ws:
        if first is not None:
            await ws.send(first)
        last_ping = time.monotonic()
        while not stop.is_set():
            if time.monotonic() - last_ping > 5:
                await ws.send("PING")
                last_ping = time.monotonic()
            try:
                raw = await asyncio.wait_for(ws.recv(), 0.5)
            except TimeoutError:
                continue
            if isinstance(raw, bytes):
                raw = raw.decode()
            if '"price_changes"' in raw:
                counts[0] += 1
                counts[1] += raw.count('"asset_id"')
                if len(sizes) < 2000:
                    sizes.append(len(raw))


async def _measure(url: str, subs: list[str | None], seconds: float, warmup: float, pid: int
                   ) -> tuple[float, float, float, float]:
    stop = asyncio.Event()
    counters = [[0, 0] for _ in subs]
    sizes: list[int] = []
    tasks = [asyncio.create_task(_consume(url, sub, c, sizes, stop)) for sub, c in zip(subs, counters, strict=True)]
    await asyncio.sleep(warmup)
    proc = psutil.Process(pid)
    cpu0 = sum(proc.cpu_times()[:2])
    base = [list(c) for c in counters]
    t0 = time.monotonic()
    await asyncio.sleep(seconds)
    elapsed = time.monotonic() - t0
    cpu = (sum(proc.cpu_times()[:2]) - cpu0) / elapsed
    msgs = sum(c[0] - b[0] for c, b in zip(counters, base, strict=True)) / elapsed
    entries = sum(c[1] - b[1] for c, b in zip(counters, base, strict=True)) / elapsed
    stop.set()
    await asyncio.gather(*tasks, return_exceptions=True)
    return msgs, entries, cpu, statistics.mean(sizes) if sizes else 0.0


def bench_simulator(rate: float, seconds: float, sample_path: Path | None) -> Result:
    with run_simulator(seed=1, rate=rate, extra_args=SCENARIO) as sim:
        books = httpx.get(sim.base + "/_sim/books", timeout=60).json()
        tokens = list(books)  # open markets, both tokens of a market adjacent
        groups = [tokens[i:i + 500] for i in range(0, len(tokens), 500)]
        subs = [json.dumps({"type": "market", "assets_ids": g}) for g in groups]
        msgs, entries, cpu, size = asyncio.run(_measure(sim.clob_ws_url, subs, seconds, 2.0, sim.process.pid))
        if sample_path is not None:
            sample_path.write_text(json.dumps(asyncio.run(_sample_frames(sim.clob_ws_url, subs[0]))))
        emitted = sim.control("GET", "/_sim/stats")["price_changes"]
    print(f"  simulator --rate {rate:>6.0f}: {msgs:8.0f} price_change msgs/s ({entries:8.0f} entries/s) "
          f"over {len(groups)} sockets x <=500 assets ({len(tokens)} tokens); server CPU {cpu:4.0%} of a core; "
          f"{emitted} changes emitted in total", flush=True)
    return Result(f"simulator@{rate:g}", rate, len(groups), len(tokens), msgs, entries, cpu, size)


async def _sample_frames(url: str, sub: str) -> list[str]:
    out: list[str] = []
    async with websockets.connect(url, max_size=None, max_queue=None, ping_interval=None, close_timeout=1) as ws:
        await ws.send(sub)
        while len(out) < 200:
            raw = await ws.recv()
            text = raw if isinstance(raw, str) else raw.decode()
            if '"price_changes"' in text:
                out.append(text)
    return out


# ---------------------------------------------------------------------- anchors
async def _anchor_server(port: int, frames: list[str], rate: float) -> None:
    """A minimal aiohttp WebSocket server (the simulator's own stack) sending pre-built frames.

    After a client's first frame it sends ``rate / sockets`` frames per second to it in 20 ms
    ticks, as the simulator's engine does, but with no book, hash or subscription work.
    """
    from aiohttp import WSMsgType, web

    data = [f.encode() for f in frames]
    conns: list[web.WebSocketResponse] = []

    async def handler(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(compress=False, max_msg_size=0)
        await ws.prepare(request)
        await ws.receive()
        conns.append(ws)
        async for _ in ws:
            pass
        conns.remove(ws)
        return ws

    async def pump() -> None:
        i = 0
        acc = 0.0
        while True:
            await asyncio.sleep(0.02)
            acc += rate * 0.02
            n = int(acc)
            acc -= n
            for _ in range(n):
                frame = data[i % len(data)]
                i += 1
                for ws in list(conns):
                    if not ws.closed:
                        await ws.send_frame(frame, WSMsgType.TEXT)

    app = web.Application()
    app.router.add_get("/", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    await pump()


def bench_anchor_server(frames_path: Path, sockets: int, rate: float, seconds: float) -> Result:
    port = free_port()
    # Each frame goes to every socket here, so pace at rate / sockets to deliver `rate` in total.
    proc = subprocess.Popen([sys.executable, __file__, "--anchor-server", str(port), str(frames_path),
                             str(rate / sockets)], cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)})
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                asyncio.run(_probe(port))
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        subs: list[str | None] = ["{}"] * sockets
        msgs, entries, cpu, size = asyncio.run(_measure(f"ws://127.0.0.1:{port}", subs, seconds, 1.0, proc.pid))
    finally:
        proc.terminate()
        proc.wait(10)
    print(f"  anchor aiohttp server    : {msgs:8.0f} msgs/s ({entries:8.0f} entries/s) over {sockets} sockets, "
          f"same frames, target {rate:.0f}/s; server CPU {cpu:4.0%} of a core", flush=True)
    return Result(f"anchor@{rate:g}", rate, sockets, 0, msgs, entries, cpu, size)


async def _probe(port: int) -> None:
    _, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.close()
    await writer.wait_closed()


def bench_anchor_dumps(frames: list[str], seconds: float = 2.0) -> float:
    """Frames per second orjson can serialise on one core (the cost floor of building frames)."""
    objs = [json.loads(f) for f in frames]
    n = 0
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        for obj in objs:
            orjson.dumps(obj)
        n += len(objs)
    rate = n / (time.perf_counter() - t0)
    print(f"  anchor orjson.dumps      : {rate:8.0f} frames/s on one core", flush=True)
    return rate


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rates", type=float, nargs="+", default=[2000, 4000, 8000])
    parser.add_argument("--anchor-server", nargs=3, metavar=("PORT", "FRAMES", "RATE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.anchor_server:
        port, path, rate = args.anchor_server
        asyncio.run(_anchor_server(int(port), json.loads(Path(path).read_text()), float(rate)))
        return 0
    print(f"bench_simulator: {time.strftime('%Y-%m-%d %H:%M:%S')} cpus={os.cpu_count()} "
          f"load={os.getloadavg()[0]:.2f} python={sys.version.split()[0]}", flush=True)
    fd, name = tempfile.mkstemp(prefix="bench-frames-", suffix=".json")
    os.close(fd)
    sample = Path(name)
    results = []
    try:
        for i, rate in enumerate(args.rates):
            results.append(bench_simulator(rate, args.seconds, sample if i == 0 else None))
        frames = json.loads(sample.read_text())
        best = max(results, key=lambda r: r.messages_per_s)
        anchor = bench_anchor_server(sample, best.sockets, best.target, args.seconds)
        dumps_rate = bench_anchor_dumps(frames)
    finally:
        sample.unlink(missing_ok=True)
    print("\nsummary (price_change messages per second delivered to subscribed sockets):")
    for r in results:
        print(f"  {r.label:<18} target {r.target:>6.0f}/s -> {r.messages_per_s:7.0f}/s "
              f"({r.messages_per_s / r.target:4.0%} of target), {r.entries_per_s:7.0f} entries/s, "
              f"server CPU {r.server_cpu:4.0%} -> one-core ceiling ~{_ceiling(r):6.0f}/s, "
              f"mean frame {r.frame_bytes:.0f} B")
    print(f"  anchor aiohttp server, same frames and pacing, no book work: {anchor.messages_per_s:7.0f}/s, "
          f"server CPU {anchor.server_cpu:4.0%} -> one-core ceiling ~{_ceiling(anchor):6.0f}/s")
    delivered_ratio = best.messages_per_s / anchor.messages_per_s
    cpu_ratio = (best.server_cpu / best.messages_per_s) / (anchor.server_cpu / anchor.messages_per_s)
    print(f"  ratio simulator / anchor, delivered at {best.target:.0f}/s: {delivered_ratio:.2f}")
    print(f"  ratio server CPU per message, simulator / anchor: {cpu_ratio:.2f}  (1.0 = book work is free)")
    print(f"  ratio simulator best / orjson.dumps of the same frames: {best.messages_per_s / dumps_rate:.4f}")
    ok = results[0].messages_per_s >= 0.95 * results[0].target
    print(f"  sustains {results[0].target:.0f}/s: {'yes' if ok else 'NO'}")
    return 0


def _ceiling(r: Result) -> float:
    """Messages per second one fully busy core would deliver at this CPU cost per message."""
    return r.messages_per_s / r.server_cpu if r.server_cpu > 0 else 0.0


if __name__ == "__main__":
    sys.exit(main())
