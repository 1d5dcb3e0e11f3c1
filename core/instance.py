"""ASGI middleware stamping every HTTP response with X-Instance-Id (host:pid)."""

from __future__ import annotations

from typing import Any

from django.conf import settings

ASGIApp = Any


class InstanceIdMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.header = (b"x-instance-id", settings.INSTANCE_ID.encode())

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_header(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), self.header]
            await send(message)

        await self.app(scope, receive, send_with_header)
