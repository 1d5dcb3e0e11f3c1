"""Price-stream benchmarks (see docs/BENCHMARKS.md, "Price stream").

cpu  parse-and-apply throughput on one core: CLOB `price_change` / `book` / `last_trade_price` frames for
     12,000 tokens fed into stream.feed.BookStore, with the coalescing-window work (hash checks and
     price derivation) every 300 frames, against orjson-parsing the same frames alone (the anchor).
sim  the real stream program against the simulator (--rate 2000, ~12,000 subscribed tokens): applied
     changes per second vs the simulator's rate, and the process RSS.

Run: DATABASE_URL=<a migrated scratch database> REDIS_URL=... .venv/bin/python bench/bench_stream.py [cpu|sim|all]
(sim mode writes games, prices and history into that database and keys under REDIS_PREFIX=mevubench.)
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import subprocess
import sys
import time
from pathlib import Path

import orjson

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mevu.settings")
os.environ.setdefault("DEBUG", "1")
os.environ.setdefault("REDIS_PREFIX", "mevubench")


def _setup_django() -> None:
    import django

    django.setup()


# --- cpu ------------------------------------------------------------------------------------------------
def _frames(tokens: int, changes: int, seed: int = 7) -> tuple[list[bytes], list[bytes], int]:
    """A dump per token and `changes` mirrored price_change entries (+ trades), hashed like the server."""
    from stream.books import Book

    rng = random.Random(seed)
    markets = tokens // 2
    books: list[tuple[Book, Book]] = []
    dumps: list[bytes] = []
    ts = 1_780_000_000_000
    for m in range(markets):
        cond = f"0x{m:064x}"
        pair = (Book(f"{10**76 + 2 * m}", cond), Book(f"{10**76 + 2 * m + 1}", cond))
        mid = rng.randint(200, 800)
        for i, book in enumerate(pair):
            center = mid if i == 0 else 1000 - mid
            bids = [(f"{(center - k) / 1000:g}", f"{rng.randint(5, 5000)}") for k in range(20, 0, -1)]
            asks = [(f"{(center + k) / 1000:g}", f"{rng.randint(5, 5000)}") for k in range(20, 0, -1)]
            book.apply_snapshot(bids, asks, ts)
            book.apply_last_trade("0.500", ts)
            dumps.append(orjson.dumps([{
                "market": cond, "asset_id": book.asset_id, "timestamp": str(ts),
                "hash": book.hash_with("0.500", ts),
                "bids": [{"price": p, "size": s} for p, s in bids], "asks": [{"price": p, "size": s} for p, s in asks],
                "tick_size": "0.01", "event_type": "book", "last_trade_price": "0.500",
            }]))
        books.append(pair)
    frames: list[bytes] = []
    entries = 0
    while entries < changes:
        ts += 1
        a, b = books[rng.randrange(markets)]
        if rng.random() < 0.03:
            price = f"{(a.best_bid or 0.5):.3f}"
            for book in (a, b):
                book.apply_last_trade(price, ts)
            frames.append(
                f'{{"asset_id":"{a.asset_id}", "event_type":"last_trade_price", "fee_rate_bps":"0", '
                f'"market":"{a.market}", "price":"{price}", "side":"BUY", "size":"10", "timestamp":"{ts}"}}'.encode()
            )
            continue
        base = (a.best_bid or 0.45) + rng.choice((-0.002, -0.001, 0.0, 0.001, 0.002))
        price_a = round(min(max(base, 0.001), 0.999), 3)
        size = "0" if rng.random() < 0.2 else str(rng.randint(1, 3000))
        items = []
        for book, is_bid, price in ((a, True, price_a), (b, False, round(1 - price_a, 3))):
            text = f"{price:g}"
            book.apply_level(is_bid, text, size, ts)
            items.append(
                f'{{"asset_id":"{book.asset_id}", "price":"{text}", "size":"{size}", '
                f'"side":"{"BUY" if is_bid else "SELL"}", "hash":"{book.hash_with(book.last_str, ts)}", '
                f'"best_bid":"{book.best_bid or ""}", "best_ask":"{book.best_ask or ""}"}}'
            )
        frames.append(
            f'{{"market":"{a.market}", "price_changes":[{", ".join(items)}], "timestamp":"{ts}", '
            f'"event_type":"price_change"}}'.encode()
        )
        entries += 2
    return dumps, frames, entries


def bench_cpu(tokens: int = 12_000, changes: int = 200_000, window_every: int = 300) -> dict[str, float]:
    _setup_django()
    from stream.feed import BookStore, book_price

    print(f"generating {changes:,} changes over {tokens:,} tokens...", flush=True)
    dumps, frames, entries = _frames(tokens, changes)
    store = BookStore()
    store.track(orjson.loads(d)[0]["asset_id"] for d in dumps)
    for dump in dumps:
        store.feed(dump)
    store.take_dirty()
    gc.collect()

    # Parse-only and parse-and-apply alternate chunk by chunk, so load from other processes on this shared
    # machine hits both alike; CPU time (process_time) is what one core spent, wall time is reported too.
    verified = mismatched = 0
    parse_cpu = apply_cpu = parse_wall = apply_wall = 0.0
    chunk = window_every * 20
    for start in range(0, len(frames), chunk):
        part = frames[start : start + chunk]
        cpu, wall = time.process_time(), time.perf_counter()
        for frame in part:
            orjson.loads(frame)
        parse_cpu += time.process_time() - cpu
        parse_wall += time.perf_counter() - wall
        cpu, wall = time.process_time(), time.perf_counter()
        for i, frame in enumerate(part):
            store.feed(frame)
            if i % window_every == window_every - 1 or i == len(part) - 1:
                for token in store.take_dirty():
                    book = store.books[token]
                    ok = book.verify_pending()
                    verified += ok is True
                    mismatched += ok is False
                    book_price(book)
        apply_cpu += time.process_time() - cpu
        apply_wall += time.perf_counter() - wall
    result = {
        "changes": entries,
        "frames": len(frames),
        "parse_only_changes_per_cpu_s": entries / parse_cpu,
        "parse_apply_changes_per_cpu_s": entries / apply_cpu,
        "ratio_vs_parse_only": parse_cpu / apply_cpu,
        "parse_apply_changes_per_wall_s": entries / apply_wall,
        "hash_verified": verified,
        "hash_mismatched": mismatched,
    }
    print(orjson.dumps(result, option=orjson.OPT_INDENT_2).decode())
    return result


# --- sim ------------------------------------------------------------------------------------------------
def bench_sim(rate: int = 2000, games: int = 200, seconds: float = 45.0) -> dict[str, float]:
    """Stream program vs the simulator; the token set is published from the simulator's Gamma events."""
    _setup_django()
    import asyncio
    import threading

    import psutil

    from markets.tokenset import token_set_publish
    from simulator.testing import run_simulator
    from stream.program import StreamProgram, stream_config_from_settings
    from stream.sockets import SocketConfig

    proc = psutil.Process()
    with run_simulator(seed=11, rate=rate, extra_args=("--games", str(games))) as sim:
        # The games pipeline ingests the simulated day in another process, so the RSS measured here is the
        # stream program's (plus Django), as in the stream worker.
        ingest = "import django; django.setup(); from jobs.sync import *; sync_leagues(); sync_teams(); sync_games()"
        subprocess.run([sys.executable, "-c", ingest], check=True, cwd=REPO,
                       env={**os.environ, "GAMMA_URL": sim.gamma_url}, stdout=subprocess.DEVNULL)
        tokens = sorted(sim.control("GET", "/_sim/books"))  # every token with a book, not only the active set
        token_set_publish(tokens)
        print(f"{len(tokens):,} tokens subscribed; simulator rate {rate}/s", flush=True)
        config = stream_config_from_settings(
            holder="bench", clob_url=sim.clob_url, run_sports=False,
            sockets=SocketConfig(url=sim.clob_ws_url),
        )
        rss_before = proc.memory_info().rss
        stop: dict[str, object] = {}
        program_box: dict[str, StreamProgram] = {}

        def run() -> None:
            async def main() -> None:
                stop["event"] = asyncio.Event()
                stop["loop"] = asyncio.get_running_loop()
                program_box["p"] = StreamProgram(config)
                await program_box["p"].run(stop["event"])  # type: ignore[arg-type]

            asyncio.run(main())

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        while "p" not in program_box or program_box["p"].counters.books < len(tokens) * 0.95:
            if not thread.is_alive():
                raise SystemExit(f"stream program ended: {program_box['p'].reason}")
            time.sleep(0.5)
        program = program_box["p"]
        sim_before = sim.control("GET", "/_sim/stats")
        ours_before = program.counters.changes
        cpu_before = proc.cpu_times()
        t0 = time.monotonic()
        peak_rss = 0
        while time.monotonic() - t0 < seconds:
            time.sleep(1)
            peak_rss = max(peak_rss, proc.memory_info().rss)
        elapsed = time.monotonic() - t0
        sim_after = sim.control("GET", "/_sim/stats")
        ours = program.counters.changes - ours_before
        cpu = proc.cpu_times()
        cpu_s = (cpu.user + cpu.system) - (cpu_before.user + cpu_before.system)
        sim_changes = sim_after["price_changes"] - sim_before["price_changes"]
        if thread.is_alive():
            stop["loop"].call_soon_threadsafe(stop["event"].set)  # type: ignore[attr-defined]
        thread.join(30)
        result = {
            "tokens": len(tokens),
            "sockets": len(program.pool.sockets),
            "seconds": round(elapsed, 1),
            "sim_price_changes_per_s": sim_changes / elapsed,
            "applied_entries_per_s": ours / elapsed,
            "published_events": program.counters.published,
            "persisted_rows": program.counters.persisted,
            "hash_ok": program.counters.hash_ok,
            "hash_mismatch": program.counters.hash_mismatch,
            "cpu_share_of_one_core": cpu_s / elapsed,
            "rss_mb_peak": peak_rss / 2**20,
            "rss_mb_before_stream": rss_before / 2**20,
            "dropped_sockets_by_sim": sim_after.get("dropped_sockets", 0),
            "loop_lag_max_ms": program.counters.extra.get("loop_lag_max_ms"),
            "ended": program.reason or "running until the end",
        }
    print(orjson.dumps(result, option=orjson.OPT_INDENT_2).decode())
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", nargs="?", default="all", choices=("cpu", "sim", "all"))
    parser.add_argument("--rate", type=int, default=2000)
    parser.add_argument("--games", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=45.0)
    args = parser.parse_args()
    if args.mode in ("cpu", "all"):
        bench_cpu()
    if args.mode in ("sim", "all"):
        bench_sim(args.rate, args.games, args.seconds)
