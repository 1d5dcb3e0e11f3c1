"""Fixtures for the simulator tests: no database, no Redis — only simulator subprocesses."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:  # `import simulator` also works when pytest runs without the repo config
    sys.path.insert(0, str(REPO))

from simulator.hashing import apply_price_change, book_hash  # noqa: E402
from simulator.testing import SimHandle, run_simulator  # noqa: E402

SHARED = REPO.parent / "shared"
FIXTURES = SHARED / "upstream" / "fixtures"
needs_shared = pytest.mark.skipif(not FIXTURES.exists(), reason="../shared/upstream/fixtures is not present")

# A small but varied day: US leagues (away-first ordering), soccer (3-way + more-markets), tennis.
SMALL = ("--games", "10", "--leagues", "nba", "nfl", "epl", "atp")


@pytest.fixture(autouse=True)
def _clean_redis_prefix() -> Iterator[None]:
    """Overrides the project-wide Redis cleanup: these tests touch no Redis."""
    yield


@pytest.fixture(scope="session")
def sim() -> Iterator[SimHandle]:
    """A shared simulator for read-only checks (do not pause it or set faults on it)."""
    with run_simulator(seed=7, rate=300, extra_args=SMALL) as handle:
        yield handle


def connect(url: str) -> Any:
    """A test client socket that buffers without limit (so closing never waits on backpressure)."""
    return websockets.connect(url, max_size=None, max_queue=None, ping_interval=None, close_timeout=1)


def open_tokens(handle: SimHandle, limit: int | None = None) -> list[tuple[str, str]]:
    """Token pairs of open markets, in Gamma order."""
    pairs: list[tuple[str, str]] = []
    events = httpx.get(handle.gamma_url + "/events", params={"limit": 500}, timeout=30).json()
    for event in events:
        for market in event.get("markets", []):
            if not market["closed"]:
                a, b = json.loads(market["clobTokenIds"])
                pairs.append((a, b))
    return pairs[:limit] if limit else pairs


def flat(pairs: list[tuple[str, str]]) -> list[str]:
    return [t for pair in pairs for t in pair]


async def collect(url: str, first: dict[str, Any] | None, seconds: float, *, max_frames: int = 100_000,
                  ping: bool = True, until: Any = None) -> tuple[list[str], Any]:
    """Connect, send ``first``, gather raw text frames for ``seconds`` (PING every 0.5 s).

    Returns (frames, close_exception_or_None).
    """
    frames: list[str] = []
    closed: Any = None
    async with connect(url) as ws:
        if first is not None:
            await ws.send(json.dumps(first))
        deadline = time.monotonic() + seconds
        next_ping = time.monotonic() + 0.5
        try:
            while time.monotonic() < deadline and len(frames) < max_frames:
                if ping and time.monotonic() >= next_ping:
                    await ws.send("PING")
                    next_ping += 0.5
                try:
                    raw = await asyncio.wait_for(ws.recv(), timeout=min(0.5, max(0.01, deadline - time.monotonic())))
                except TimeoutError:
                    continue
                text = raw if isinstance(raw, str) else raw.decode()
                if text == "PONG":
                    continue
                frames.append(text)
                if until is not None and until(frames):
                    break
        except websockets.ConnectionClosed as exc:
            closed = exc
    return frames, closed


@contextlib.asynccontextmanager
async def keepalive(ws: Any, every_s: float = 0.3) -> AsyncIterator[None]:
    """Send text PING in the background (the simulator drops silent market sockets)."""

    async def loop() -> None:
        with contextlib.suppress(websockets.ConnectionClosed):
            while True:
                await ws.send("PING")
                await asyncio.sleep(every_s)

    task = asyncio.get_running_loop().create_task(loop())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


class LocalBooks:
    """A client-side mirror of the socket: applies frames and checks every hash the server sends."""

    def __init__(self) -> None:
        self.books: dict[str, dict[str, Any]] = {}
        self.checked = 0

    def on_text(self, raw: str | bytes) -> None:
        if raw != "PONG":
            self.on_frame(json.loads(raw))

    def on_frame(self, frame: Any) -> None:
        if isinstance(frame, list):
            for book in frame:
                assert book_hash(book) == book["hash"], "initial dump book"
                self.books[book["asset_id"]] = dict(book)
                self.checked += 1
            return
        kind = frame["event_type"]
        if kind == "price_change":
            for entry in frame["price_changes"]:
                book = self.books.get(entry["asset_id"])
                if book is None:
                    continue
                updated = apply_price_change(book, entry)
                updated["timestamp"] = frame["timestamp"]
                assert book_hash(updated) == entry["hash"], ("price_change entry", entry)
                updated["hash"] = entry["hash"]
                self.books[entry["asset_id"]] = updated
                self.checked += 1
        elif kind == "last_trade_price":
            # The simulator, like the captures, keeps one last_trade_price per market (both tokens).
            for book in self.books.values():
                if book["market"] == frame["market"]:
                    book["last_trade_price"] = f"{float(frame['price']):.3f}"
        elif kind == "tick_size_change":
            self.books[frame["asset_id"]]["tick_size"] = frame["new_tick_size"]
        elif kind == "book":
            old = self.books[frame["asset_id"]]
            full = {**frame, "tick_size": old["tick_size"], "last_trade_price": old["last_trade_price"]}
            assert book_hash(full) == frame["hash"], "post-trade book"
            self.books[frame["asset_id"]] = full
            self.checked += 1
