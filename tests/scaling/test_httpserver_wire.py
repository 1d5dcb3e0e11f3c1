"""ops.httpserver writes a response's status line and headers in one buffer (the bytes on the wire are
exactly daphne's) and freezes its start-up heap out of the garbage collector."""

from __future__ import annotations

import socket
import sys

import pytest

from tests.scaling.harness import Server, free_port, wait_port

REQUEST = b"GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"


def raw_get(port: int, path: str) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(REQUEST % path.encode())
        chunks = []
        while chunk := conn.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


@pytest.mark.parametrize("path", ["/headers", "/"])
def test_the_production_server_sends_daphnes_bytes(path: str) -> None:
    ports = {"daphne": free_port(), "ops.httpserver": free_port()}
    servers = [Server(f"wire-{module}", [sys.executable, "-m", module, "-v", "0", "-b", "127.0.0.1", "-p",
                                         str(port), "tests.scaling.echo_app:application"])
               for module, port in ports.items()]
    try:
        for port in ports.values():
            wait_port(port, 30)
        daphne, production = (raw_get(port, path) for port in ports.values())
        assert production == daphne
        assert production.startswith(b"HTTP/1.1 20") and production.count(b"\r\n\r\n") >= 1
        if path == "/headers":
            assert b"Set-Cookie: a=1\r\nSet-Cookie: b=2\r\n" in production
            assert b"Transfer-Encoding: chunked" in production
    finally:
        for server in servers:
            server.stop()


def test_the_production_server_freezes_its_start_up_heap() -> None:
    ports = {"daphne": free_port(), "ops.httpserver": free_port()}
    servers = [Server(f"gc-{module}", [sys.executable, "-m", module, "-v", "0", "-b", "127.0.0.1", "-p",
                                       str(port), "tests.scaling.echo_app:application"])
               for module, port in ports.items()]
    try:
        frozen = {}
        for module, port in ports.items():
            wait_port(port, 30)
            frozen[module] = int(raw_get(port, "/gc-frozen").split(b"\r\n\r\n", 1)[1])
        assert frozen["daphne"] == 0 and frozen["ops.httpserver"] > 10_000
    finally:
        for server in servers:
            server.stop()
