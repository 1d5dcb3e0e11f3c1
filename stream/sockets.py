"""CLOB market sockets: at most N assets each, text PING heartbeat, reconnect with jittered back-off.

The pool shards the wanted token set over sockets and follows changes incrementally with
`{"operation": "subscribe"|"unsubscribe"}` frames on the socket that owns the token, filling sockets up
to the cap, so a new game never reconnects the sockets that carry other games (the original
reconnected everything, README §3.1 / original §2.6).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from collections.abc import Iterable

import orjson
from websockets.asyncio.client import ClientConnection, connect

from core.aio import tasks_cancel
from stream.feed import BookStore
from stream.loops import backoff_delay

log = logging.getLogger("mevu.stream.sockets")


@dataclasses.dataclass(frozen=True)
class SocketConfig:
    url: str
    assets_per_socket: int = 500
    ping_every_s: float = 10.0
    stale_after_s: float = 30.0
    stable_after_s: float = 10.0
    backoff_base_s: float = 0.5
    backoff_max_s: float = 30.0
    open_timeout_s: float = 10.0


class MarketSocket:
    """One upstream connection carrying up to `assets_per_socket` tokens."""

    def __init__(self, index: int, config: SocketConfig, store: BookStore) -> None:
        self.index = index
        self.config = config
        self.store = store
        self.assets: set[str] = set()
        self.ws: ClientConnection | None = None
        self.connects = 0
        self.connected_at: float | None = None
        self.last_pong = 0.0
        self.last_frame_ms = 0  # wall clock of the newest frame: the upstream-lag signal operators watch
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._closing = False

    @property
    def free(self) -> int:
        return self.config.assets_per_socket - len(self.assets)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=f"clob-socket-{self.index}")

    async def add(self, tokens: list[str]) -> None:
        async with self._lock:
            self.assets.update(tokens)
            self.store.track(tokens)
            if self.ws is not None:
                self.store.expect_dump(tokens)
                await self._send_quietly({"operation": "subscribe", "assets_ids": tokens})

    async def remove(self, tokens: list[str]) -> None:
        async with self._lock:
            self.assets.difference_update(tokens)
            self.store.untrack(tokens)
            if self.ws is not None:
                await self._send_quietly({"operation": "unsubscribe", "assets_ids": tokens})

    async def _send_quietly(self, message: dict[str, object]) -> None:
        """A failed send means the socket is dying; the reconnect resubscribes everything."""
        ws = self.ws
        if ws is None:
            return
        try:
            await ws.send(orjson.dumps(message).decode())
        except Exception as exc:
            log.info("socket %s send failed: %r", self.index, exc)

    async def close(self) -> None:
        self._closing = True
        if self._task is not None:
            await tasks_cancel([self._task])
        ws, self.ws = self.ws, None
        if ws is not None:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(2):
                    await ws.close()

    async def _run(self) -> None:
        failures = 0
        while not self._closing:
            uptime = 0.0
            began_ms = int(time.time() * 1000)
            try:
                uptime = await self._session()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.info("socket %s error: %r", self.index, exc)
            if self._closing:
                return
            # A short session that delivered frames was cut by the upstream (Polymarket drops sockets):
            # retry within ~2 s rather than backing off towards backoff_max_s, which froze prices for many
            # seconds under drops every 5 s (tests/reliability/test_upstream_faults.py).
            delivered = self.last_frame_ms >= began_ms
            if delivered:
                failures = min(failures, 2)
            failures = 0 if uptime >= self.config.stable_after_s else failures + 1
            await asyncio.sleep(backoff_delay(failures, self.config.backoff_base_s, self.config.backoff_max_s))

    async def _session(self) -> float:
        """One connection: subscribe, read until it drops or goes stale; returns its uptime."""
        config = self.config
        async with connect(
            config.url,
            open_timeout=config.open_timeout_s,
            ping_interval=None,  # Polymarket only honours the text PING (README §3.2)
            close_timeout=1,
            max_size=None,
            max_queue=64,
        ) as ws:
            started = time.monotonic()
            self.last_pong = started
            async with self._lock:
                assets = sorted(self.assets)
                await ws.send(orjson.dumps({"type": "market", "assets_ids": assets}).decode())
                self.store.expect_dump(assets)
                self.ws = ws
            self.connects += 1
            self.connected_at = started
            self.store.counters.connects += 1
            heartbeat = asyncio.create_task(self._heartbeat(ws))
            try:
                await self._read(ws)
            finally:
                heartbeat.cancel()
                self.ws = None
                self.connected_at = None
                self.store.counters.disconnects += 1
            return time.monotonic() - started

    async def _read(self, ws: ClientConnection) -> None:
        feed = self.store.feed
        while True:
            raw = await ws.recv(decode=False)
            self.last_frame_ms = int(time.time() * 1000)
            if raw == b"PONG":
                self.last_pong = time.monotonic()
                continue
            if raw == b"PING":  # the server's own text heartbeat
                await self._send_quietly_to(ws, "PONG")
                continue
            feed(raw)

    async def _send_quietly_to(self, ws: ClientConnection, text: str) -> None:
        with contextlib.suppress(Exception):
            await ws.send(text)

    async def _heartbeat(self, ws: ClientConnection) -> None:
        config = self.config
        while True:
            await asyncio.sleep(config.ping_every_s)
            if time.monotonic() - self.last_pong > config.stale_after_s:
                log.info("socket %s stale (no PONG for %.0fs): reconnecting", self.index, config.stale_after_s)
                ws.transport.abort()  # no close handshake with a dead peer
                return
            try:
                await ws.send("PING")
            except Exception:
                return

    def status(self) -> dict[str, object]:
        return {
            "index": self.index,
            "assets": len(self.assets),
            "connected": self.ws is not None,
            "connects": self.connects,
            "uptime_s": round(time.monotonic() - self.connected_at, 1) if self.connected_at else None,
            "last_frame_ts": self.last_frame_ms or None,
        }


class SocketPool:
    """Shards the wanted tokens over sockets and applies set changes incrementally."""

    def __init__(self, config: SocketConfig, store: BookStore) -> None:
        self.config = config
        self.store = store
        self.sockets: list[MarketSocket] = []
        self.owner: dict[str, MarketSocket] = {}
        self._next_index = 0

    async def apply(self, wanted: Iterable[str]) -> tuple[int, int]:
        """Subscribe new tokens and unsubscribe gone ones; returns (added, removed)."""
        wanted_set = set(wanted)
        gone = [t for t in self.owner if t not in wanted_set]
        new = sorted(wanted_set.difference(self.owner))
        by_socket: dict[MarketSocket, list[str]] = {}
        for token in gone:
            by_socket.setdefault(self.owner.pop(token), []).append(token)
        for sock, tokens in by_socket.items():
            await sock.remove(tokens)
        for sock in [s for s in self.sockets if not s.assets]:
            self.sockets.remove(sock)
            await sock.close()
        cursor = 0
        for sock in self.sockets:
            if cursor >= len(new):
                break
            if sock.free > 0:
                chunk = new[cursor : cursor + sock.free]
                cursor += len(chunk)
                await self._assign(sock, chunk)
        while cursor < len(new):
            sock = MarketSocket(self._next_index, self.config, self.store)
            self._next_index += 1
            chunk = new[cursor : cursor + self.config.assets_per_socket]
            cursor += len(chunk)
            self.sockets.append(sock)
            await self._assign(sock, chunk)
            sock.start()
        return len(new), len(gone)

    async def _assign(self, sock: MarketSocket, tokens: list[str]) -> None:
        for token in tokens:
            self.owner[token] = sock
        await sock.add(tokens)

    async def close(self) -> None:
        await asyncio.gather(*(s.close() for s in self.sockets), return_exceptions=True)

    def status(self) -> list[dict[str, object]]:
        return [s.status() for s in self.sockets]
