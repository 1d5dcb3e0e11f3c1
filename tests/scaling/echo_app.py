"""A tiny ASGI app (HTTP 200 + WebSocket echo) to exercise ops.httpserver without Django."""

from __future__ import annotations

import asyncio
from typing import Any


async def application(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "websocket":
        while True:
            message = await receive()
            if message["type"] == "websocket.connect":
                await send({"type": "websocket.accept"})
            elif message["type"] == "websocket.receive":
                await send({"type": "websocket.send", "text": message.get("text") or ""})
            else:
                return
    elif scope["type"] == "http":
        await receive()
        delay = 1.5 if scope["path"] == "/slow" else 0.0
        await asyncio.sleep(delay)
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": b"ok"})
