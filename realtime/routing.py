"""WebSocket routes. Origins are checked against ALLOWED_HOSTS and CORS_ALLOWED_ORIGINS."""

from __future__ import annotations

from typing import Any

from channels.security.websocket import OriginValidator
from django.conf import settings
from django.urls import path


def allowed_origins() -> list[str]:
    return [*settings.CORS_ALLOWED_ORIGINS, *settings.ALLOWED_HOSTS]


websocket_urlpatterns: list[Any] = []


def websocket_application(router: Any) -> Any:
    return OriginValidator(router(websocket_urlpatterns), allowed_origins())


__all__ = ["path", "websocket_application", "websocket_urlpatterns"]
