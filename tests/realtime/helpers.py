"""Test tooling for realtime delivery: daphne instances and a /ws/games client that keeps state like an app."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import httpx
import orjson
import websockets

from tests.conftest import daphne_argv, free_port, wait_until


def daphne_start(
    spawn: Callable[..., Any], env: dict[str, str], name: str, argv: Callable[[int], list[str]] = daphne_argv,
    **settings: object,
) -> tuple[int, Any]:
    """A real daphne process (or, with `argv`, the production server) serving mevu.asgi on a free port, once it
    answers /health."""
    port = free_port()
    proc = spawn(name, argv(port), {**env, **{k: str(v) for k, v in settings.items()}})
    wait_until(lambda: httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200, 30, 0.2)
    return port, proc


def game(gid: str, sport: str = "nba", **fields: Any) -> dict[str, Any]:
    return {"id": gid, "slug": f"{sport}-{gid}", "sport": sport, **fields}


class FeedClient:
    """Connects to /ws/games, reads every frame in the background and applies it.

    state[topic] = {game id: latest game}; seq[topic] = position; received[topic] = every event seq seen
    (so a test can check exactly-once and order); latencies = now - game["sentAt"] per event.
    """

    def __init__(self, port: int, name: str = "client") -> None:
        self.url = f"ws://127.0.0.1:{port}/ws/games?protocol=2"  # topics, batches, seq, resume
        self.name = name
        self.frames: list[dict[str, Any]] = []
        self.state: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
        self.seq: dict[str, int] = {}
        self.epoch = 0  # the numbering of `seq`: sent back with `resume`
        self.received: dict[str, list[int]] = defaultdict(list)
        self.latencies: list[float] = []
        self.ws: Any = None
        self.closed: int | None = None  # close code once the connection is closed
        self._reader: asyncio.Task[None] | None = None

    async def connect(self, **kwargs: Any) -> dict[str, Any]:
        self.ws = await websockets.connect(self.url, max_size=None, **kwargs)
        hello = orjson.loads(await self.ws.recv())
        self.frames.append(hello)
        self.epoch = hello.get("epoch", self.epoch)
        self._reader = asyncio.create_task(self._read())
        return hello

    async def send(self, message: dict[str, Any] | str | bytes) -> None:
        await self.ws.send(message if isinstance(message, str | bytes) else orjson.dumps(message).decode())

    async def _read(self) -> None:
        try:
            async for raw in self.ws:  # ends quietly on a 1000/1001 close
                frame = orjson.loads(raw)
                self.frames.append(frame)
                self.apply(frame)
        except websockets.ConnectionClosed:
            pass
        self.closed = self.ws.close_code

    def apply(self, frame: dict[str, Any]) -> None:
        kind, topic = frame.get("type"), frame.get("topic")
        if topic:
            self.epoch = frame["epoch"]
        if kind in ("snapshot", "resync", "initial") and topic:
            self.state[topic] = {g["id"]: g for g in frame["games"]}
            self.seq[topic] = frame["seq"]
        elif kind == "batch":
            now = time.time()
            for event in frame["events"]:
                self.received[topic].append(event["seq"])
                if event["seq"] <= self.seq.get(topic, 0):
                    continue  # a client ignores what it has; tests check `received` for duplicates
                if "sentAt" in event["game"]:
                    self.latencies.append(now - event["game"]["sentAt"])
                if event["type"] == "game_removed":
                    self.state[topic].pop(event["game"]["id"], None)
                else:
                    self.state[topic][event["game"]["id"]] = event["game"]
                self.seq[topic] = event["seq"]

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        return [f for f in self.frames if f.get("type") == kind]

    async def wait_for(self, predicate: Callable[[], object], timeout_s: float = 10) -> None:
        deadline = time.monotonic() + timeout_s
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.name}: condition not met in {timeout_s}s; last frames {self.frames[-3:]}")
            await asyncio.sleep(0.02)

    async def next_frame(self, kind: str, timeout_s: float = 5) -> dict[str, Any]:
        start = len(self.frames)
        await self.wait_for(lambda: any(f.get("type") == kind for f in self.frames[start:]), timeout_s)
        return next(f for f in self.frames[start:] if f.get("type") == kind)

    async def close(self) -> None:
        if self.ws is not None:
            with contextlib.suppress(Exception):
                await self.ws.close()
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._reader
