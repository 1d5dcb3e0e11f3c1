"""Bounded WebSocket accept: at most REALTIME_MAX_CONNECTIONS open sockets per HTTP process.

Why: each open socket costs memory (buffers, per-socket state) and a share of the event loop. A burst
of connection attempts beyond the limit is refused during the handshake (HTTP 403 from daphne, before
any per-socket state exists), so clients already connected keep being served and memory stays bounded.
Clients retry with back-off; nginx spreads them across instances.

An attempt within the limit is accepted in the same step that counts it. Were the accept left to the
consumer, it would come several event-loop turns later; under a burst that can be past the server's
handshake timeouts, the socket would be dropped, its slot freed mid-burst and given to the next
attempt, so more clients than the limit would have been admitted.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from django.conf import settings

log = logging.getLogger(__name__)
Scope = dict[str, Any]
Message = dict[str, Any]
ASGIApp = Callable[[Scope, Callable[..., Awaitable[Any]], Callable[..., Awaitable[Any]]], Awaitable[None]]


class _Slots:
    """The process-wide count of open sockets, shared by every limited route."""

    open = 0
    refused = 0


_slots = _Slots()


def ws_over_limit() -> bool:
    """Whether a new socket must be refused now (counted, and logged every thousand refusals). The production
    server (ops.httpserver) asks during the handshake, before any application instance exists; this wrapper
    asks again, and is the exact bound."""
    if _slots.open < settings.REALTIME_MAX_CONNECTIONS:
        return False
    _slots.refused += 1
    if _slots.refused % 1000 == 1:
        log.warning("websocket refused: %d open (limit %d); %d refused so far", _slots.open,
                    settings.REALTIME_MAX_CONNECTIONS, _slots.refused)
    return True


class WsConnectionLimit:
    """ASGI wrapper for a WebSocket consumer: counts open sockets, refuses those over the limit and
    accepts the others at once (the consumer's own accept is then absorbed)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        connect = await receive()  # websocket.connect
        if ws_over_limit():
            await send({"type": "websocket.close", "code": 1013})
            return
        _slots.open += 1
        try:
            await send({"type": "websocket.accept"})
            await self.app(scope, _replaying(connect, receive), _without_accept(send))
        finally:
            _slots.open -= 1


def _replaying(first: Message, receive: Callable[[], Awaitable[Message]]) -> Callable[[], Awaitable[Message]]:
    pending = [first]

    async def replay() -> Message:
        return pending.pop() if pending else await receive()

    return replay


def _without_accept(send: Callable[[Message], Awaitable[None]]) -> Callable[[Message], Awaitable[None]]:
    async def forward(message: Message) -> None:
        if message["type"] != "websocket.accept":
            await send(message)

    return forward
