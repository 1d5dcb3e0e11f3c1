"""Chaos-test tooling: a WebSocket recorder on its own thread, child-process JSON logs, timings."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from typing import Any

import orjson
import websockets


class WsRecorder:
    """Connects to a WebSocket and records (receive time, frame) on a background thread; reconnects."""

    def __init__(self, url: str, *, first: dict[str, Any] | None = None, reconnect: bool = True) -> None:
        self.url, self.first, self.reconnect = url, first, reconnect
        self.frames: list[tuple[float, dict[str, Any]]] = []
        self.connects = 0
        self.closes: list[int | None] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._run()), daemon=True)

    def __enter__(self) -> WsRecorder:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(10)

    async def _run(self) -> None:
        while not self._stop.is_set():
            try:
                async with websockets.connect(self.url, max_size=None, open_timeout=5) as ws:
                    self.connects += 1
                    if self.first is not None:
                        await ws.send(orjson.dumps(self.first).decode())
                    while not self._stop.is_set():
                        with contextlib.suppress(TimeoutError):
                            raw = await asyncio.wait_for(ws.recv(), 0.2)
                            self.frames.append((time.time(), orjson.loads(raw)))
            except (OSError, websockets.WebSocketException, TimeoutError) as exc:
                self.closes.append(getattr(exc, "code", None))
            if not self.reconnect:
                return
            await asyncio.sleep(0.2)

    def events(self, since: float = 0.0) -> list[tuple[float, dict[str, Any]]]:
        """(time, event) of every batch event received after `since`."""
        out = []
        for at, frame in list(self.frames):
            if at >= since and frame.get("type") == "batch":
                out.extend((at, event) for event in frame["events"])
        return out

    def kinds(self, since: float = 0.0) -> list[str]:
        return [frame.get("type", "") for at, frame in list(self.frames) if at >= since]


def json_lines(text: str) -> list[dict[str, Any]]:
    out = []
    for line in text.splitlines():
        if line.startswith("{"):
            with contextlib.suppress(orjson.JSONDecodeError):
                out.append(orjson.loads(line))
    return out
