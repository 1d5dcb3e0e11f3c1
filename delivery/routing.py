"""WebSocket routes. Origins are checked against ALLOWED_HOSTS and CORS_ALLOWED_ORIGINS.

A browser always sends Origin, so a page from a foreign site is refused. Non-browser clients (apps,
bots, servers) usually send none; the Origin check cannot protect against them anyway (they can send
any header), so a missing Origin is accepted unless REALTIME_ALLOW_NO_ORIGIN is off.
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
        return super().valid_origin(parsed_origin)


# Each consumer behind the per-process connection limit (delivery/wslimit.py), after the Origin check.
websocket_urlpatterns: list[Any] = [
    path("ws/games", WsConnectionLimit(GamesConsumer.as_asgi())),
    path("ws/activity", WsConnectionLimit(ActivityConsumer.as_asgi())),
]


def websocket_application(router: Any) -> Any:
    return RealtimeOriginValidator(router(websocket_urlpatterns), allowed_origins())


__all__ = ["path", "websocket_application", "websocket_urlpatterns"]
