"""A tiny ASGI app (HTTP 200 + WebSocket echo) to exercise ops.httpserver without Django."""

from __future__ import annotations

import asyncio
import gc
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
    elif scope["type"] == "http" and scope["path"] == "/headers":
        await receive()  # repeated names, a header set by the server, and a chunked body
        headers = [(b"content-type", b"application/json"), (b"set-cookie", b"a=1"), (b"set-cookie", b"b=2"),
                   (b"X-Mixed-Case", b"v"), (b"vary", b"Accept-Encoding, Origin")]
        await send({"type": "http.response.start", "status": 201, "headers": headers})
        await send({"type": "http.response.body", "body": b'{"a":', "more_body": True})
        await send({"type": "http.response.body", "body": b"1}"})
    elif scope["type"] == "http" and scope["path"] == "/gc-frozen":
        await receive()  # how many objects the server froze out of the garbage collector
        body = str(gc.get_freeze_count()).encode()
        headers = [(b"content-type", b"text/plain"), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})
    elif scope["type"] == "http":
        await receive()
        delay = 1.5 if scope["path"] == "/slow" else 0.0
        await asyncio.sleep(delay)
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": b"ok"})
