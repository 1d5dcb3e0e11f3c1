"""The ASGI metrics middleware, driven in-process through the ASGI protocol (one process registry)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from core import metrics
from ops.metrics_asgi import MetricsMiddleware


def _get(metric: Any, *labels: str) -> float:
    child = metric.labels(*labels) if labels else metric
    return child._value.get()


def _count(route: str, method: str, status: str) -> float:
    return _get(metrics.HTTP_REQUESTS, route, method, status)


def _http_scope(path: str, method: str = "GET", headers: list | None = None) -> dict[str, Any]:
    return {"type": "http", "method": method, "path": path, "headers": headers or [], "client": ("127.0.0.1", 5)}


async def _call(app: Any, scope: dict[str, Any]) -> list[dict[str, Any]]:
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    return sent


async def test_statuses_crashes_and_client_disconnects_are_counted() -> None:
    async def app(scope: dict, receive: Any, send: Any) -> None:
        if scope["path"] == "/health":
            await send({"type": "http.response.start", "status": 204, "headers": []})
            await send({"type": "http.response.body", "body": b""})
        elif scope["path"] == "/api/health":
            raise RuntimeError("boom")
        else:
            raise asyncio.CancelledError

    wrapped = MetricsMiddleware(app)
    before = (_count("health", "GET", "204"), _count("api/health", "GET", "500"), _count("unmatched", "OTHER", "499"))
    await _call(wrapped, _http_scope("/health"))
    with pytest.raises(RuntimeError):
        await _call(wrapped, _http_scope("/api/health"))
    with pytest.raises(asyncio.CancelledError):
        await _call(wrapped, _http_scope("/x/y", method="BREW"))
    after = (_count("health", "GET", "204"), _count("api/health", "GET", "500"), _count("unmatched", "OTHER", "499"))
    assert [a - b for a, b in zip(after, before, strict=True)] == [1, 1, 1]


async def test_metrics_endpoint_serves_text_format_but_not_to_proxied_requests() -> None:
    async def app(scope: dict, receive: Any, send: Any) -> None:
        raise AssertionError("/metrics must not reach the application")

    wrapped = MetricsMiddleware(app)
    sent = await _call(wrapped, _http_scope("/metrics"))
    assert sent[0]["status"] == 200 and b"mevu_http_requests_total" in sent[1]["body"]
    for header in (b"x-forwarded-for", b"x-real-ip", b"forwarded"):
        sent = await _call(wrapped, _http_scope("/metrics", headers=[(header, b"198.51.100.1")]))
        assert sent[0]["status"] == 404 and b"mevu_" not in sent[1]["body"]
    sent = await _call(wrapped, _http_scope("/metrics", method="POST"))
    assert sent[0]["status"] == 405


async def test_websocket_connections_are_counted_per_route_while_open() -> None:
    inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    outbox: list[dict[str, Any]] = []
    connected = asyncio.Event()

    async def app(scope: dict, receive: Any, send: Any) -> None:
        assert (await receive())["type"] == "websocket.connect"
        await send({"type": "websocket.accept"})
        connected.set()
        for i in range(3):
            await send({"type": "websocket.send", "text": f"frame {i}"})
        assert (await receive())["type"] == "websocket.disconnect"

    async def send(message: dict[str, Any]) -> None:
        outbox.append(message)

    scope = {"type": "websocket", "path": "/ws/games", "headers": [], "client": ("127.0.0.1", 9)}
    opened = _get(metrics.WS_CONNECTIONS_OPENED, "ws/games")
    live = _get(metrics.WS_CONNECTIONS, "ws/games")
    await inbox.put({"type": "websocket.connect"})
    task = asyncio.create_task(MetricsMiddleware(app)(scope, inbox.get, send))
    await asyncio.wait_for(connected.wait(), 5)
    assert _get(metrics.WS_CONNECTIONS, "ws/games") == live + 1
    await inbox.put({"type": "websocket.disconnect", "code": 1000})
    await asyncio.wait_for(task, 5)
    assert _get(metrics.WS_CONNECTIONS, "ws/games") == live
    assert _get(metrics.WS_CONNECTIONS_OPENED, "ws/games") == opened + 1
    assert [m["type"] for m in outbox] == ["websocket.accept"] + ["websocket.send"] * 3


async def test_a_rejected_websocket_is_not_a_connection() -> None:
    async def app(scope: dict, receive: Any, send: Any) -> None:
        await receive()
        await send({"type": "websocket.close", "code": 4003})

    async def receive() -> dict[str, Any]:
        return {"type": "websocket.connect"}

    async def send(message: dict[str, Any]) -> None:
        return None

    opened = _get(metrics.WS_CONNECTIONS_OPENED, "ws/activity")
    await MetricsMiddleware(app)({"type": "websocket", "path": "/ws/activity", "headers": []}, receive, send)
    assert _get(metrics.WS_CONNECTIONS_OPENED, "ws/activity") == opened
    assert _get(metrics.WS_CONNECTIONS, "ws/activity") == 0


async def test_access_log_has_a_line_per_notable_request_not_per_request(caplog) -> None:
    async def app(scope: dict, receive: Any, send: Any) -> None:
        if scope["path"] == "/api/health" and scope["method"] == "GET":
            await asyncio.sleep(0.03)  # "slow" below
        status = 404 if scope["path"].startswith("/nope") else 200
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    notable = MetricsMiddleware(app)
    notable.access_log, notable.slow_s = "notable", 0.02
    every = MetricsMiddleware(app)
    every.access_log, every.slow_s = "all", 60.0
    caplog.set_level("INFO", logger="mevu.access")

    async def lines(wrapped: MetricsMiddleware, path: str, method: str = "GET") -> list[Any]:
        caplog.clear()
        await _call(wrapped, _http_scope(path, method))
        return [r for r in caplog.records if r.name == "mevu.access"]

    assert await lines(notable, "/static/x.css") == []  # fast, successful: counted, not logged
    assert await lines(notable, "/health") == []
    [miss] = await lines(notable, "/nope")
    assert (miss.status, miss.route, miss.method, miss.path) == (404, "unmatched", "GET", "/nope")
    [slow] = await lines(notable, "/api/health")
    assert slow.duration_ms >= 20
    [write] = await lines(notable, "/api/health", "POST")
    assert write.method == "POST"
    [fast] = await lines(every, "/static/x.css")
    assert fast.status == 200 and fast.route == "static"
    assert await lines(every, "/health") == []  # probes: DEBUG only, even in "all"


async def test_the_end_of_an_event_stream_is_access_logged(caplog) -> None:
    async def app(scope: dict, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"text/event-stream; charset=utf-8")]})
        await send({"type": "http.response.body", "body": b"data: {}\n\n", "more_body": False})

    caplog.set_level("INFO", logger="mevu.access")
    await _call(MetricsMiddleware(app), _http_scope("/api/games/stream"))
    [line] = [r for r in caplog.records if r.name == "mevu.access"]
    assert line.route == "api/games/stream" and line.status == 200
