"""SIGTERM drains an HTTP process: WebSockets get 1001 "going away", in-flight requests finish."""

from __future__ import annotations

import asyncio
import signal
import sys
import time

import httpx
import websockets

from tests.scaling.harness import Server, free_port, wait_port


async def test_sigterm_closes_websockets_with_1001_and_finishes_requests() -> None:
    port = free_port()
    server = Server("drain", [sys.executable, "-m", "ops.httpserver", "-b", "127.0.0.1", "-p", str(port),
                              "tests.scaling.echo_app:application"])
    try:
        wait_port(port, 30)
        sockets = [await websockets.connect(f"ws://127.0.0.1:{port}/ws/{i}") for i in range(3)]
        for ws in sockets:
            await ws.send("ping")
            assert await ws.recv() == "ping"
        async with httpx.AsyncClient(timeout=10) as client:
            slow = asyncio.create_task(client.get(f"http://127.0.0.1:{port}/slow"))
            await asyncio.sleep(0.3)  # the request is in flight
            started = time.monotonic()
            server.proc.send_signal(signal.SIGTERM)
            for ws in sockets:
                try:
                    await asyncio.wait_for(ws.recv(), 5)
                    raise AssertionError("the socket stayed open")
                except websockets.ConnectionClosed as closed:
                    assert closed.rcvd is not None and closed.rcvd.code == 1001
                    assert closed.rcvd.reason == "server shutting down"
            assert time.monotonic() - started < 1.0  # closed at once, not at process exit
            response = await slow
            assert response.status_code == 200 and response.text == "ok"
        assert server.proc.wait(15) == 0
    finally:
        server.stop()


async def test_websocket_handshake_names_the_instance() -> None:
    port = free_port()
    server = Server("ws-instance", [sys.executable, "-m", "ops.httpserver", "-b", "127.0.0.1", "-p",
                                    str(port), "tests.scaling.echo_app:application"])
    try:
        wait_port(port, 30)
        async with websockets.connect(f"ws://127.0.0.1:{port}/ws/x") as ws:
            assert ws.response.headers["x-instance-id"].endswith(f":{server.pid}")
    finally:
        server.stop()


async def test_drain_closes_idle_keepalive_connections_and_serves_the_busy_one_to_the_end() -> None:
    """A load balancer's idle keep-alive connection must not carry new requests into a draining process."""
    port = free_port()
    server = Server("drain-keepalive", [sys.executable, "-m", "ops.httpserver", "-b", "127.0.0.1", "-p",
                                        str(port), "tests.scaling.echo_app:application"])
    try:
        wait_port(port, 30)
        idle = await asyncio.open_connection("127.0.0.1", port)
        idle[1].write(b"GET /fast HTTP/1.1\r\nHost: x\r\n\r\n")
        await idle[1].drain()
        assert b"200" in await asyncio.wait_for(idle[0].readuntil(b"ok"), 5)
        busy = await asyncio.open_connection("127.0.0.1", port)
        busy[1].write(b"GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
        await busy[1].drain()
        await asyncio.sleep(0.3)
        server.proc.send_signal(signal.SIGTERM)
        # The idle connection is closed by the server: read() reaches EOF (only the rest of the first
        # chunked body was left to read).
        rest = await asyncio.wait_for(idle[0].read(), 5)
        assert b"HTTP/" not in rest
        # The busy one gets its full response, then the server closes it (read() returns at EOF).
        reply = await asyncio.wait_for(busy[0].read(), 5)
        assert reply.startswith(b"HTTP/1.1 200") and b"\r\nok\r\n" in reply
        assert server.proc.wait(15) == 0
    finally:
        server.stop()
