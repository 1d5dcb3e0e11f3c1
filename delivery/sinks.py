"""Client connections as the hub sees them: where frames go, how far each topic got, and slowness.

A sink never blocks the hub: writes are synchronous and bounded. A client whose unsent backlog passes
REALTIME_SLOW_CLIENT_BYTES is "lagging": frames for it are dropped (its backlog stops growing) and,
once it has drained, it gets one `resync` snapshot per topic; if it stays lagging for
REALTIME_SLOW_CLIENT_CLOSE_S it is disconnected.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import logging
import time
from typing import Any

from django.conf import settings

from core import metrics
from delivery.frames import PROTOCOL_V1, Frame
from delivery.transport import (
    pending_bytes,
    protocol_abort,
    protocol_close,
    protocol_open,
    protocol_send_text,
    tcp_pending_bytes,
    tcp_send,
    tcp_transport,
)

log = logging.getLogger(__name__)
BUFFER_FRAMES_MAX = 1000  # frames held for a topic while its resume is being prepared
# Frames written per sink kind since the hub last exported them to Prometheus (batched: cheaper than
# touching the metric once per write).
WRITES: collections.Counter[str] = collections.Counter()


@dataclasses.dataclass(slots=True)
class Cursor:
    """A sink's position in one topic."""

    seq: int
    buffer: list[Frame] | None = None  # set while a snapshot/replay for this topic is in flight


class Sink:
    """Base class: subclasses implement write/backlog/close. `version` is the wire protocol the client
    speaks (frames.PROTOCOL_V1 / V2): the hub writes each client the frames of its protocol."""

    kind = "games"

    def __init__(self, version: int = PROTOCOL_V1) -> None:
        self.version = version
        self.topics: dict[str, Cursor] = {}
        self.lagging_since: float | None = None
        self.closed = False
        self.resyncs = 0

    # --- implemented by subclasses ---
    def write(self, frame: Frame) -> None:
        raise RuntimeError("Sink.write must be implemented by a subclass")

    def backlog(self) -> int:
        return 0

    def close(self, code: int, reason: str = "") -> None:
        self.closed = True

    # --- used by the hub ---
    def offer(self, frame: Frame) -> None:
        """A topic frame from the hub: skip what this client has, buffer during resume, watch slowness."""
        cursor = self.topics.get(frame.topic or "")
        if cursor is None or self.closed:
            return
        if cursor.buffer is not None:
            cursor.buffer.append(frame)
            if len(cursor.buffer) > BUFFER_FRAMES_MAX:
                cursor.buffer.clear()
                self.lagging_since = self.lagging_since or time.monotonic()
            return
        if self.lagging_since is not None:
            metrics.WS_FRAMES_DROPPED.labels("slow_client").inc()
            return  # dropped: a resync snapshot will cover it
        wanted = frame.after(cursor.seq)
        if wanted is None:
            return
        if self.send(wanted):
            cursor.seq = wanted.seq

    def send(self, frame: Frame) -> bool:
        """Write unless this client is too far behind; returns whether the frame was written."""
        if self.closed:
            return False
        if self.lagging_since is not None:
            return False
        if self.backlog() > settings.REALTIME_SLOW_CLIENT_BYTES:
            self.lagging_since = time.monotonic()
            metrics.WS_FRAMES_DROPPED.labels("slow_client").inc()
            log.info("realtime: slow client %s, dropping its backlog", self)
            return False
        self.write(frame)
        WRITES[self.kind] += 1
        return True

    def force(self, frame: Frame) -> None:
        """Write a frame regardless of lag state (snapshots that end a lag, replies to requests).

        Still bounded: a client that keeps asking (pings, refreshes) without reading the answers is
        closed once its unsent backlog passes 4x the slow-client limit."""
        if self.closed:
            return
        if self.backlog() > 4 * settings.REALTIME_SLOW_CLIENT_BYTES:
            log.warning("realtime: closing %s: requests without reading the answers", self)
            metrics.WS_SLOW_CLOSES.inc()
            self.close(1008, "not reading")
            return
        self.write(frame)
        WRITES[self.kind] += 1

    def lag_check(self) -> str:
        """'ok', 'recovered' (drained: needs a resync) or 'close' (lagging for too long)."""
        if self.lagging_since is None:
            return "ok"
        if self.backlog() <= settings.REALTIME_SLOW_CLIENT_BYTES // 4:
            self.lagging_since = None
            return "recovered"
        if time.monotonic() - self.lagging_since > settings.REALTIME_SLOW_CLIENT_CLOSE_S:
            return "close"
        return "lagging"


class WsSink(Sink):
    """A WebSocket under daphne: frames are written straight to the protocol (same bytes for everyone)."""

    def __init__(self, kind: str, protocol: Any | None, send: Any, version: int = PROTOCOL_V1) -> None:
        super().__init__(version)
        self.kind = kind
        self.protocol = protocol
        self._send = send  # ASGI send, used only when not under daphne
        self._tcp = tcp_transport(protocol) if protocol is not None else None  # direct socket sends
        self._tasks: set[asyncio.Task[None]] = set()

    def _asgi(self, message: dict[str, Any]) -> None:
        task = asyncio.ensure_future(self._send(message))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def __repr__(self) -> str:
        peer = getattr(self.protocol, "client_addr", None)
        return f"<WsSink {self.kind} {peer}>"

    def write(self, frame: Frame) -> None:
        if self.protocol is not None:
            if protocol_open(self.protocol):
                if self._tcp is not None:
                    tcp_send(self.protocol, self._tcp, frame.data, frame.wire())
                else:
                    protocol_send_text(self.protocol, frame.data, frame.wire())
            return
        self._asgi({"type": "websocket.send", "text": frame.data.decode()})

    def backlog(self) -> int:
        if self._tcp is not None and not self.protocol.send_queue:
            return tcp_pending_bytes(self._tcp)
        return pending_bytes(self.protocol) if self.protocol is not None else 0

    def close(self, code: int, reason: str = "") -> None:
        if self.closed:
            return
        self.closed = True
        if self.protocol is None:
            self._asgi({"type": "websocket.close", "code": code})
            return
        protocol_close(self.protocol, code, reason)
        if code != 1001:
            # A client that does not read will never see the close frame: drop it after a grace period.
            asyncio.get_running_loop().call_later(2.0, protocol_abort, self.protocol)


class SseSink(Sink):
    """An SSE response: frames queue here and the streaming view drains them."""

    kind = "sse"

    def __init__(self, version: int = PROTOCOL_V1) -> None:
        super().__init__(version)
        self._queue: collections.deque[bytes] = collections.deque()
        self._queued_bytes = 0
        self._wakeup = asyncio.Event()

    def write(self, frame: Frame) -> None:
        data = frame.sse()
        self._queue.append(data)
        self._queued_bytes += len(data)
        self._wakeup.set()

    def backlog(self) -> int:
        return self._queued_bytes

    def close(self, code: int, reason: str = "") -> None:
        self.closed = True
        self._wakeup.set()

    async def next_chunk(self) -> bytes | None:
        """Everything queued so far as one chunk; None once closed."""
        while not self._queue:
            if self.closed:
                return None
            self._wakeup.clear()
            await self._wakeup.wait()
        chunk = b"".join(self._queue)
        self._queue.clear()
        self._queued_bytes = 0
        return chunk
