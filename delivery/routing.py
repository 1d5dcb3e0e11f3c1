"""WebSocket routes and their Origin check.

The sockets are public, read-only and cookie-less (like the REST API), so an origin allowlist protects
nothing by default: any Origin is accepted, as the original did, unless CORS_ALLOWED_ORIGINS lists the allowed
ones (then a browser's Origin must match it or ALLOWED_HOSTS; else 403 at the handshake). Non-browser clients
(apps, bots, servers) usually send no Origin; they can forge any, so a missing one is accepted unless
REALTIME_ALLOW_NO_ORIGIN is off.
"""

from __future__ import annotations

from typing import Any

from channels.security.websocket import OriginValidator
from django.conf import settings
from django.urls import path

from delivery.consumers import ActivityConsumer, GamesConsumer
from delivery.wslimit import WsConnectionLimit


def allowed_origins() -> list[str]:
    return [*settings.CORS_ALLOWED_ORIGINS, *settings.ALLOWED_HOSTS]


class RealtimeOriginValidator(OriginValidator):
    def valid_origin(self, parsed_origin: Any) -> bool:
        if parsed_origin is None:
            return settings.REALTIME_ALLOW_NO_ORIGIN or "*" in self.allowed_origins
        return settings.CORS_ALLOW_ALL_ORIGINS or super().valid_origin(parsed_origin)


# Each consumer behind the per-process connection limit (delivery/wslimit.py), after the Origin check.
websocket_urlpatterns: list[Any] = [
    path("ws/games", WsConnectionLimit(GamesConsumer.as_asgi())),
    path("ws/activity", WsConnectionLimit(ActivityConsumer.as_asgi())),
]


def websocket_application(router: Any) -> Any:
    return RealtimeOriginValidator(router(websocket_urlpatterns), allowed_origins())


__all__ = ["path", "websocket_application", "websocket_urlpatterns"]
