"""ASGI entrypoint: Django for HTTP, Channels for WebSockets, both stamped with X-Instance-Id."""

from __future__ import annotations

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mevu.settings")
django_asgi = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from api.fastpath import ListingFastPath  # noqa: E402
from core.instance import InstanceIdMiddleware  # noqa: E402
from core.ratelimit import RateLimitMiddleware  # noqa: E402
from delivery.routing import websocket_application  # noqa: E402
from ops.metrics_asgi import MetricsMiddleware  # noqa: E402

application = MetricsMiddleware(InstanceIdMiddleware(
    ProtocolTypeRouter({
        "http": RateLimitMiddleware(ListingFastPath(django_asgi)),
        "websocket": websocket_application(URLRouter),
    })
))
