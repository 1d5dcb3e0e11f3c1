"""One WebSocket client: an outgoing queue drained by its own writer task, and counters.

Frames are built once by the engine and the same ``bytes`` object is queued on every subscribed
socket; queuing never awaits, so a slow client cannot stall the engine (it is dropped instead).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter, deque
from collections.abc import Callable

from aiohttp import WSMsgType, web

from .faults import Faults

MAX_QUEUE = 50_000  # frames; a client this far behind is dropped like a slow consumer


class Stats:
    """Process-wide counters for ``GET /_sim/stats``."""

    def __init__(self) -> None:
        self.frames_by_type: Counter[str] = Counter()
        self.price_changes = 0
        self.trades = 0
        self.sports_updates = 0
        self.dropped_sockets = 0
        self.started = time.monotonic()


class Conn:
    def __init__(self, ws: web.WebSocketResponse, request: web.Request, faults: Faults, stats: Stats,
                 kind: str) -> None:
        self.ws = ws
        self.transport = request.transport
        self.faults = faults
        self.stats = stats
        self.kind = kind
        self.queue: deque[tuple[bytes, str]] = deque()
        self.wake = asyncio.Event()
        self.held: tuple[bytes, str] | None = None
        self.closed = False
        now = time.monotonic()
        self.connected_at = now
        self.last_ping = now
        self.last_pong = now
        self.task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self.task = asyncio.get_running_loop().create_task(self._writer())

    def send(self, frame: bytes, kind: str) -> None:
        """Queue a data frame, applying frame faults (damage, duplicate, reorder)."""
        if self.closed:
            return
        faults = self.faults
        if faults.frame_faults:
            rng = faults.rng
            if (faults.malformed_rate or faults.truncated_rate) and \
                    rng.random() < faults.malformed_rate + faults.truncated_rate:
                frame, kind = faults.damage(frame), "damaged"
            if faults.out_of_order_rate and self.held is None and rng.random() < faults.out_of_order_rate:
                self.held = (frame, kind)
                return
            self._push(frame, kind)
            if faults.duplicate_rate and rng.random() < faults.duplicate_rate:
                self._push(frame, kind)
            if self.held is not None:
                held, self.held = self.held, None
                self._push(*held)
            return
        self._push(frame, kind)

    def send_control(self, text: bytes, kind: str) -> None:
        """Heartbeat replies bypass frame faults."""
        if not self.closed:
            self._push(text, kind)

    def flush_held(self) -> None:
        if self.held is not None:
            held, self.held = self.held, None
            self._push(*held)

    def _push(self, frame: bytes, kind: str) -> None:
        self.queue.append((frame, kind))
        if len(self.queue) > MAX_QUEUE:
            self.abort()
            return
        self.wake.set()

    async def _writer(self) -> None:
        ws = self.ws
        counts = self.stats.frames_by_type
        try:
            while not self.closed:
                if not self.queue:
                    self.wake.clear()
                    await self.wake.wait()
                    continue
                frame, kind = self.queue.popleft()
                await ws.send_frame(frame, WSMsgType.TEXT)
                counts[kind] += 1
        except (ConnectionError, RuntimeError):
            self.abort()

    def abort(self) -> None:
        """Drop the TCP connection without a close frame: the client sees 1006."""
        if self.closed:
            return
        self.closed = True
        self.stats.dropped_sockets += 1
        self.queue.clear()
        self.wake.set()
        if self.transport is not None:
            self.transport.abort()

    async def stop(self) -> None:
        self.closed = True
        self.wake.set()
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self.task


async def conn_serve(
    ws: web.WebSocketResponse, conn: Conn, on_text: Callable[[Conn, str], None], forget: Callable[[Conn], None]
) -> None:
    """The receive loop both simulated sockets share: text frames to `on_text` until the socket ends."""
    conn.start()
    try:
        async for msg in ws:
            if msg.type == WSMsgType.TEXT:
                on_text(conn, msg.data)
            elif msg.type in (WSMsgType.ERROR, WSMsgType.CLOSE):
                break
    finally:
        forget(conn)
        await conn.stop()
