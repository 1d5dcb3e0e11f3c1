"""Bounded WebSocket accept: at most REALTIME_MAX_CONNECTIONS open sockets per HTTP process.

Why: each open socket costs memory (buffers, per-socket state) and a share of the event loop. A burst
of connection attempts beyond the limit is refused during the handshake (HTTP 403 from daphne, before
any per-socket state exists), so clients already connected keep being served and memory stays bounded.
Clients retry with back-off; nginx spreads them across instances.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from django.conf import settings

log = logging.getLogger(__name__)
Scope = dict[str, Any]
ASGIApp = Callable[[Scope, Callable[..., Awaitable[Any]], Callable[..., Awaitable[Any]]], Awaitable[None]]


class WsConnectionLimit:
    """ASGI middleware for the websocket router: counts open sockets, refuses those over the limit."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.open = 0
        self.refused = 0

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "websocket":
            await self.app(scope, receive, send)
            return
        if self.open >= settings.REALTIME_MAX_CONNECTIONS:
            self.refused += 1
            if self.refused % 1000 == 1:
                log.warning("websocket refused: %d open (limit %d); %d refused so far", self.open,
                            settings.REALTIME_MAX_CONNECTIONS, self.refused)
            await receive()  # websocket.connect
            await send({"type": "websocket.close", "code": 1013})
            return
        self.open += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.open -= 1
