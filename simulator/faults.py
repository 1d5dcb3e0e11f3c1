"""Fault injection: HTTP errors/429/latency, damaged/duplicated/reordered frames, dropped sockets.

Faults draw from their own ``random.Random`` so switching them on never changes the scenario's
price or game sequence.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, fields

from aiohttp import web

RATE_KEYS = ("malformed_rate", "truncated_rate", "duplicate_rate", "out_of_order_rate", "http_error_rate",
             "http_429_rate")


@dataclass
class Faults:
    drop_every_s: float = 0.0  # drop every socket (1006, no close frame) this often; 0 = never
    malformed_rate: float = 0.0  # share of data frames replaced by invalid JSON
    truncated_rate: float = 0.0  # share of data frames cut short
    duplicate_rate: float = 0.0  # share of data frames sent twice
    out_of_order_rate: float = 0.0  # share of data frames held back behind the next one
    http_error_rate: float = 0.0  # share of REST requests answered 500/502/503
    http_429_rate: float = 0.0  # share of REST requests answered 429 with Retry-After
    retry_after_s: int = 1
    latency_ms: float = 0.0  # added to every REST response (and WebSocket upgrade)
    ignore_ping: bool = False  # stop answering text PING (and sports ping/pong)

    def __post_init__(self) -> None:
        self.rng = random.Random(0xFA17)

    def to_json(self) -> dict[str, object]:
        return asdict(self)

    def update(self, values: dict[str, object]) -> None:
        """Apply a partial update; unknown keys or bad values raise ValueError."""
        known = {f.name: f.type for f in fields(self)}
        for key, value in values.items():
            if key not in known:
                raise ValueError(f"unknown fault {key!r}; known: {', '.join(known)}")
            if key == "ignore_ping":
                if not isinstance(value, bool):
                    raise ValueError("ignore_ping must be a boolean")
                self.ignore_ping = value
                continue
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"{key} must be a number")
            if key in RATE_KEYS and not 0.0 <= float(value) <= 1.0:
                raise ValueError(f"{key} must be between 0 and 1")
            if float(value) < 0:
                raise ValueError(f"{key} must not be negative")
            setattr(self, key, int(value) if key == "retry_after_s" else float(value))

    @property
    def frame_faults(self) -> bool:
        return bool(self.malformed_rate or self.truncated_rate or self.duplicate_rate or self.out_of_order_rate)

    def damage(self, frame: bytes) -> bytes:
        """Malformed or truncated version of a frame (still valid UTF-8, so the socket survives)."""
        text = frame.decode()
        if self.rng.random() < self.malformed_rate / max(self.malformed_rate + self.truncated_rate, 1e-9):
            choice = self.rng.randrange(3)
            if choice == 0:
                return text.replace('"', "'").encode()
            if choice == 1:
                return ("{" + text).encode()
            return text.replace(":", "=", 2).encode()
        cut = self.rng.randrange(1, max(2, len(text)))
        return text[:cut].encode()


def parse_fault_args(items: list[str]) -> dict[str, object]:
    """``--faults malformed_rate=0.1 http_429_rate=0.2,ignore_ping=true`` -> dict."""
    out: dict[str, object] = {}
    for item in items:
        for part in item.replace(",", " ").split():
            key, sep, raw = part.partition("=")
            if not sep:
                raise ValueError(f"fault {part!r} is not KEY=VALUE")
            if raw.lower() in ("true", "false"):
                out[key] = raw.lower() == "true"
            else:
                out[key] = float(raw)
    return out


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def http_fault_middleware(faults: Faults) -> Callable[[web.Request, Handler], Awaitable[web.StreamResponse]]:
    """Latency, 429 and 5xx on every route except the control API under ``/_sim/``."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path.startswith("/_sim"):
            return await handler(request)
        if faults.latency_ms:
            await asyncio.sleep(faults.latency_ms / 1000)
        if faults.http_429_rate and faults.rng.random() < faults.http_429_rate:
            return web.json_response({"error": "Too Many Requests"}, status=429,
                                     headers={"Retry-After": str(faults.retry_after_s)})
        if faults.http_error_rate and faults.rng.random() < faults.http_error_rate:
            status = faults.rng.choice((500, 502, 503))
            return web.json_response({"error": "upstream error"}, status=status)
        return await handler(request)

    return middleware
