"""ASGI middleware: HTTP request metrics + JSON access log, WebSocket connection metrics, `/metrics`.

It wraps the whole ASGI application (mevu/asgi.py), so every request is measured, also the ones that
never reach Django. Route labels are Django URL templates ("api/games/<id>"), "static" for static files
and "unmatched" for anything else, so an attacker probing random paths cannot grow the label set.

`/metrics` is for the monitoring network only: a request that came through a reverse proxy (it
carries X-Forwarded-For / X-Real-IP / Forwarded) gets 404, even if the proxy forgot to deny it.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from typing import Any

from django.conf import settings
from django.urls import Resolver404, resolve

from core import metrics
from core.metrics_cluster import metrics_render

log = logging.getLogger("mevu.access")
ASGIApp = Any

METRICS_PATH = "/metrics"
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
PROXY_HEADERS = frozenset({b"x-forwarded-for", b"x-real-ip", b"forwarded"})
QUIET_ROUTES = frozenset({"health", "metrics"})  # probes and scrapes: access-logged at DEBUG only


@functools.lru_cache(maxsize=4096)
def route_label(path: str) -> str:
    """The URL template a path resolves to, "static", or "unmatched" (bounded label values)."""
    if path == METRICS_PATH:
        return "metrics"
    static = "/" + settings.STATIC_URL.strip("/") + "/"
    if path.startswith(static):
        return "static"
    try:
        match = resolve(path)
    except Resolver404:
        return "unmatched"
    except Exception:  # a broken URL pattern must not break the request
        return "unmatched"
    return match.route or "/"


@functools.lru_cache(maxsize=1024)
def _requests_child(route: str, method: str, status: str) -> Any:
    return metrics.HTTP_REQUESTS.labels(route, method, status)


@functools.lru_cache(maxsize=1024)
def _latency_child(route: str, method: str) -> Any:
    return metrics.HTTP_LATENCY.labels(route, method)


def ws_route_label(path: str) -> str:
    """WebSocket routes are few ("ws/games", "ws/activity"); anything deeper is folded."""
    parts = path.strip("/").split("/")
    if len(parts) >= 2 and parts[0] == "ws" and parts[1].isidentifier():
        return "ws/" + parts[1] + ("/*" if len(parts) > 2 else "")
    return "other"


class MetricsMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.access_log: str = getattr(settings, "ACCESS_LOG", "notable")  # notable | all | off
        self.slow_s = getattr(settings, "ACCESS_LOG_SLOW_MS", 1000) / 1000

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            await self._http(scope, receive, send)
        elif scope["type"] == "websocket":
            await self._websocket(scope, receive, send)
        else:
            await self.app(scope, receive, send)

    async def _http(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        started = time.perf_counter()
        path = scope["path"]
        route = route_label(path)
        method = scope["method"] if scope["method"] in KNOWN_METHODS else "OTHER"
        status: int | None = None
        event_stream = False

        async def send_measured(message: dict[str, Any]) -> None:
            nonlocal status, event_stream
            if message["type"] == "http.response.start" and status is None:
                status = int(message["status"])
                _latency_child(route, method).observe(time.perf_counter() - started)
                # SSE (counted in mevu_sse_connections by delivery/sse.py): its end is access-logged.
                event_stream = _is_event_stream(message)
            await send(message)

        app = metrics_endpoint if route == "metrics" else self.app
        failed: BaseException | None = None
        try:
            await app(scope, receive, send_measured)
        except BaseException as exc:
            failed = exc
            raise
        finally:
            if status is None:
                # No response: the client went away (499, as nginx says) or the app crashed (500).
                status = 499 if failed is None or isinstance(failed, asyncio.CancelledError) else 500
                _latency_child(route, method).observe(time.perf_counter() - started)
            _requests_child(route, method, str(status)).inc()
            if self.access_log != "off":
                self._access_log(scope, route, status, time.perf_counter() - started, event_stream)

    async def _websocket(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        # Frames are counted by the realtime hub (it writes most of them straight to daphne's protocol,
        # past this `send`); here: the connection's life.
        route = ws_route_label(scope["path"])
        opened_at: float | None = None

        async def send_counted(message: dict[str, Any]) -> None:
            nonlocal opened_at
            if message["type"] == "websocket.accept" and opened_at is None:
                opened_at = time.monotonic()
                metrics.WS_CONNECTIONS.labels(route).inc()
                metrics.WS_CONNECTIONS_OPENED.labels(route).inc()
            await send(message)

        try:
            await self.app(scope, receive, send_counted)
        finally:
            if opened_at is not None:
                metrics.WS_CONNECTIONS.labels(route).dec()
                if self.access_log != "off":
                    log.info(
                        "websocket closed %s after %.1fs", scope["path"], time.monotonic() - opened_at,
                        extra={"route": route, "duration_s": round(time.monotonic() - opened_at, 3),
                               "client": _client(scope)},
                    )

    def _access_log(
        self, scope: dict[str, Any], route: str, status: int, elapsed_s: float, stream: bool
    ) -> None:
        """A line per notable request: errors, writes, event streams, slow ones. Not one per request:
        that would cost the hot path a write per hit, and the metrics count every request anyway."""
        if route in QUIET_ROUTES:  # probes and scrapes
            notable = status >= 500
        else:
            notable = (status >= 400 or stream or elapsed_s >= self.slow_s
                       or scope["method"] not in ("GET", "HEAD"))
        if not notable and self.access_log != "all":
            return
        level = logging.INFO if notable or route not in QUIET_ROUTES else logging.DEBUG
        if not log.isEnabledFor(level):
            return
        log.log(
            level, "%s %s %d %.1fms", scope["method"], scope["path"], status, elapsed_s * 1000,
            extra={"method": scope["method"], "path": scope["path"], "route": route, "status": status,
                   "duration_ms": round(elapsed_s * 1000, 2), "client": _client(scope)},
        )


def _is_event_stream(message: dict[str, Any]) -> bool:
    for name, value in message.get("headers", ()):  # per response: the cheap test first
        if value[:17] == b"text/event-stream" and name.lower() == b"content-type":
            return True
    return False


def _client(scope: dict[str, Any]) -> str | None:
    client = scope.get("client")
    return client[0] if client else None


async def metrics_endpoint(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Serve the Prometheus exposition; refuse requests relayed by a proxy (public side)."""
    proxied = any(name in PROXY_HEADERS for name, _ in scope.get("headers", ()))
    if proxied or scope["method"] not in ("GET", "HEAD"):
        status = 404 if proxied else 405
        body = b'{"error":"not found"}' if proxied else b'{"error":"method not allowed"}'
        await _respond(send, status, body, b"application/json")
        return
    payload, content_type = await asyncio.to_thread(metrics_render)
    await _respond(send, 200, b"" if scope["method"] == "HEAD" else payload, content_type.encode())


async def _respond(send: Any, status: int, body: bytes, content_type: bytes) -> None:
    headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode()),
               (b"cache-control", b"no-store"), (b"x-instance-id", settings.INSTANCE_ID.encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
