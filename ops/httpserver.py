"""Daphne with a graceful drain: `python -m ops.httpserver <daphne arguments>`.

Plain daphne stops on SIGTERM by stopping the Twisted reactor, which drops every open WebSocket
without a close frame (clients see 1006, "abnormal closure"). Here SIGTERM/SIGINT instead:
  1. stops accepting (the shared listening socket stays open in the sibling processes) and closes
     idle keep-alive connections (a load balancer would otherwise keep sending requests, WebSocket
     upgrades included, over connections this process accepted before),
  2. sends every open WebSocket a close frame with code 1001 "going away", so clients reconnect
     (through the load balancer, to another instance) at once,
  3. waits until those sockets and in-flight HTTP requests are done, at most DRAIN_TIMEOUT_S,
  4. then stops the reactor as daphne would.
"""

from __future__ import annotations

import gc
import logging
import os
import signal
import socket
import sys
import time
import weakref
from typing import Any

from autobahn.websocket.types import ConnectionDeny
from daphne.cli import CommandLineInterface
from daphne.server import Server
from daphne.ws_protocol import WebSocketProtocol
from django.conf import settings
from twisted.internet import reactor
from twisted.web.http import HTTPChannel
from twisted.web.http_headers import Headers

from delivery.wslimit import ws_over_limit

log = logging.getLogger("mevu.httpserver")
GOING_AWAY = 1001
DRAIN_POLL_S = 0.05


class LimitedWebSocketProtocol(WebSocketProtocol):
    """Refuses a WebSocket over the per-process limit in the handshake (HTTP 403), before daphne creates an
    application instance for it: a burst of attempts then costs the event loop little, and the sockets already
    open keep being served on time."""

    refused = False

    def onConnect(self, request: Any) -> Any:
        if ws_over_limit():
            self.refused = True
            raise ConnectionDeny(ConnectionDeny.FORBIDDEN)
        return super().onConnect(request)

    def onClose(self, wasClean: bool, code: int | None, reason: str | None) -> None:
        if not self.refused:  # a refused handshake never reached daphne's connection bookkeeping
            super().onClose(wasClean, code, reason)


def _write_headers_once(channel: HTTPChannel, version: bytes, code: bytes, reason: bytes, headers: Any) -> None:
    """HTTPChannel.writeHeaders, handing the transport one buffer: Twisted's hands it four pieces per
    header line, each type-checked and queued on its own (a few µs per response with a dozen headers)."""
    if not isinstance(headers, Headers):
        HTTPChannel.writeHeaders(channel, version, code, reason, headers)
        return
    lines = [version, b" ", code, b" ", reason, b"\r\n"]
    for name, values in headers.getAllRawHeaders():
        for value in values:
            lines.extend((name, b": ", value, b"\r\n"))
    lines.append(b"\r\n")
    channel.transport.write(b"".join(lines))


class DrainingServer(Server):
    """A daphne Server whose SIGTERM closes WebSockets with 1001 before exiting."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Our handlers replace Twisted's, which would stop the reactor at once.
        self.signal_handlers = False
        self.ports: list[Any] = []
        self.channels: weakref.WeakSet[Any] = weakref.WeakSet()  # HTTP connections, for the drain
        self.draining = False

    def run(self) -> None:
        # Everything loaded by now (Django, the application, its tables) lives as long as the process: keep
        # it out of the collector's passes, which under request load walked that whole heap again and again.
        gc.collect()
        gc.freeze()
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, self._on_signal)
        reactor.callWhenRunning(self._stamp_websocket_handshakes)  # type: ignore[attr-defined]
        reactor.callWhenRunning(self._track_http_channels)  # type: ignore[attr-defined]
        super().run()

    def _track_http_channels(self) -> None:
        build = self.http_factory.buildProtocol

        def build_and_track(addr: Any) -> Any:
            protocol = build(addr)
            channel = getattr(protocol, "_channel", protocol)
            if type(channel) is HTTPChannel:
                channel.writeHeaders = _write_headers_once.__get__(channel)
            self.channels.add(protocol)
            return protocol

        self.http_factory.buildProtocol = build_and_track

    def _close_idle_http(self) -> None:
        """Close keep-alive connections between requests; make busy ones close after their response."""
        upgraded = {id(p.transport) for p in self._open_websockets()}
        for wrapper in list(self.channels):
            channel = getattr(wrapper, "_channel", wrapper)
            transport = getattr(channel, "transport", None)
            if transport is None or id(transport) in upgraded:
                continue  # closed, or handed over to a WebSocket (closed by its own handshake)
            if getattr(channel, "requests", None):
                channel.persistent = False
            else:
                transport.loseConnection()

    def _stamp_websocket_handshakes(self) -> None:
        # daphne ignores headers in `websocket.accept`; autobahn's factory adds these to every handshake
        # response. Behind a load balancer X-Instance-Id tells which instance holds a socket.
        self.ws_factory.headers = {"X-Instance-Id": f"{socket.gethostname()}:{os.getpid()}"}
        self.ws_factory.protocol = LimitedWebSocketProtocol

    def listen_success(self, port: Any) -> None:
        self.ports.append(port)
        super().listen_success(port)

    def _on_signal(self, signum: int, _frame: object) -> None:
        reactor.callFromThread(self._drain_or_stop)  # type: ignore[attr-defined]

    def _drain_or_stop(self) -> None:
        # Twisted swallows errors raised in reactor callbacks: a failed drain must still stop.
        try:
            self.drain()
        except Exception:
            log.exception("drain failed; stopping now")
            self.stop()

    def _open_websockets(self) -> list[WebSocketProtocol]:
        return [p for p in self.connections if isinstance(p, WebSocketProtocol) and p.state != p.STATE_CLOSED]

    def _requests_in_flight(self) -> int:
        busy = 0
        for protocol, details in self.connections.items():
            instance = details.get("application_instance")
            if not isinstance(protocol, WebSocketProtocol) and instance is not None and not instance.done():
                busy += 1
        return busy

    def drain(self) -> None:
        if self.draining:
            return
        self.draining = True
        for port in self.ports:
            port.stopListening()
        sockets = [p for p in self._open_websockets() if p.state == p.STATE_OPEN]
        for protocol in sockets:
            # sendClose() only allows application codes (1000, 3000-4999); 1001 is a protocol code.
            protocol.sendCloseFrame(code=GOING_AWAY, reasonUtf8=b"server shutting down", isReply=False)
        log.warning("draining", extra={"websockets": len(sockets), "requests": self._requests_in_flight()})
        self._wait_drained(time.monotonic() + settings.DRAIN_TIMEOUT_S)

    def _wait_drained(self, deadline: float) -> None:
        self._close_idle_http()
        if (self._open_websockets() or self._requests_in_flight()) and time.monotonic() < deadline:
            reactor.callLater(DRAIN_POLL_S, self._wait_drained, deadline)  # type: ignore[attr-defined]
            return
        self.stop()


class DrainingCommandLineInterface(CommandLineInterface):
    server_class = DrainingServer


def main(argv: list[str] | None = None) -> None:
    DrainingCommandLineInterface().run(sys.argv[1:] if argv is None else argv)


if __name__ == "__main__":
    main()
