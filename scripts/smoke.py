"""From-zero smoke of the README's run command: `make run` on whatever database and Redis it gets (in CI: the
embedded servers, an empty database) must list games and stream live prices within a deadline, then stop cleanly
when interrupted. Before and after, the checkout may hold nothing the commands wrote outside .venv and .data
(in CI `make lint` and `make test` ran before: they are held to the same rule).

Usage: .venv/bin/python scripts/smoke.py [--within 60]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import orjson
import psutil
import websockets

REPO = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _is_price_event(frame: dict) -> bool:
    """A price update, whichever protocol version the socket speaks (a top-level frame or inside a batch)."""
    if frame.get("type") == "price_update":
        return True
    return frame.get("type") == "batch" and any(e.get("type") == "price_update" for e in frame.get("events", []))


def games_listed(base: str) -> int:
    """How many games the public listing serves (0 while the system is still starting)."""
    try:
        response = httpx.get(f"{base}/api/games/frontend", timeout=5)
    except httpx.HTTPError:
        return 0
    return len(response.json().get("games", [])) if response.status_code == 200 else 0


def games_wait(base: str, deadline: float, alive: Callable[[], bool]) -> int:
    """Poll the listing until it has games; 0 if the deadline passes or the system died first."""
    while alive() and time.monotonic() < deadline:
        count = games_listed(base)
        if count:
            return count
        time.sleep(0.5)
    return 0


async def price_event_wait(ws_url: str, deadline: float) -> bool:
    """Whether /ws/games delivers a price update before the deadline (reconnecting while it starts)."""
    while time.monotonic() < deadline:
        try:
            # Unbounded queue: once the price event is seen nothing reads, and a full queue stops the client
            # reading its socket, so the close would wait out close_timeout for a close frame it never reads.
            async with websockets.connect(ws_url, open_timeout=5, max_size=None, max_queue=None) as ws:
                while True:
                    frame = orjson.loads(await asyncio.wait_for(ws.recv(), deadline - time.monotonic()))
                    if _is_price_event(frame):
                        return True
        except TimeoutError:
            return False
        except (OSError, websockets.WebSocketException):
            await asyncio.sleep(0.5)
    return False


ALLOWED = (".venv", ".data/")  # what the README's commands may write into the checkout


def _checkout_state() -> str:
    """Changed, new and ignored files, but for those the commands may write (bytecode included: it goes to .data)."""
    status = subprocess.run(["git", "status", "--porcelain", "--ignored"], cwd=REPO, capture_output=True,
                            text=True).stdout
    return "".join(line + "\n" for line in status.splitlines() if not line[3:].startswith(ALLOWED))


def smoke(within_s: float) -> int:
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    before = _checkout_state()
    env = {**os.environ, "PORT": str(port), "BIND_HOST": "127.0.0.1"}
    started = time.monotonic()
    run = subprocess.Popen(["make", "run"], cwd=REPO, env=env, start_new_session=True)
    deadline = started + within_s
    try:
        games = games_wait(base, deadline, lambda: run.poll() is None)
        games_at = time.monotonic() - started
        if not games:
            print(f"smoke: FAILED, no games listed within {within_s:.0f} s", flush=True)
            return 1
        if not asyncio.run(price_event_wait(f"ws://127.0.0.1:{port}/ws/games", deadline)):
            print(f"smoke: FAILED, no price event on /ws/games within {within_s:.0f} s", flush=True)
            return 1
        print(f"smoke: {games} games listed after {games_at:.1f} s; first live price event after "
              f"{time.monotonic() - started:.1f} s", flush=True)
    finally:
        family = psutil.Process(run.pid).children(recursive=True)
        os.killpg(run.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
        try:
            run.wait(90)
        except subprocess.TimeoutExpired:
            os.killpg(run.pid, signal.SIGKILL)
    _, alive = psutil.wait_procs(family, timeout=30)
    if alive:
        print(f"smoke: FAILED, processes left after Ctrl-C: {[p.pid for p in alive]}", flush=True)
        return 1
    after = _checkout_state()
    if after or before:
        print(f"smoke: FAILED, the checkout holds files the commands must not write:\n{before}{after}", flush=True)
        return 1
    print("smoke: ok, make run stopped cleanly and left the checkout unchanged", flush=True)
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--within", type=float, default=60.0, help="seconds allowed for games and a live price")
    sys.exit(smoke(parser.parse_args().within))
