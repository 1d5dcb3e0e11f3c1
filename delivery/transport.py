"""Direct access to daphne's WebSocket protocol object behind an ASGI `send`.

Why: daphne's ASGI `send` never applies backpressure — every frame lands in Twisted's unbounded
write buffer, so a client that stops reading would grow server memory without limit. Reaching the
protocol lets the hub (1) see how many bytes are still unsent to each client, (2) write one
pre-encoded frame to many clients without re-encoding it per client and (3) close sockets with 1001
during shutdown after daphne has cancelled the application tasks.

This is the only module that touches daphne/autobahn/Twisted internals. Under another ASGI server
`daphne_protocol` returns None and callers fall back to plain ASGI sends.
"""

from __future__ import annotations

import functools
import struct
from typing import Any

_STATE_OPEN = 3  # autobahn WebSocketProtocol.STATE_OPEN

try:
    from twisted.internet.tcp import Connection as _TcpConnection
except ImportError:  # not under daphne/Twisted: writes go through ASGI send
    _TcpConnection = None  # type: ignore[assignment,misc]


def _is_protocol(value: Any) -> bool:
    return hasattr(value, "sendMessage") and hasattr(value, "transport") and hasattr(value, "sendCloseFrame")


def daphne_protocol(send: Any, max_depth: int = 6) -> Any | None:
    """daphne passes `partial(server.handle_reply, protocol)` as `send`; ASGI middlewares wrap it in
    closures (`async def send_wrapper(message): ... await send(message)`), so look through those."""
    stack: list[tuple[Any, int]] = [(send, 0)]
    seen: set[int] = set()
    while stack:
        func, depth = stack.pop()
        if id(func) in seen or depth > max_depth:
            continue
        seen.add(id(func))
        if isinstance(func, functools.partial):
            if func.args and _is_protocol(func.args[0]):
                return func.args[0]
            stack.append((func.func, depth + 1))
            continue
        for cell in getattr(func, "__closure__", None) or ():
            try:
                value = cell.cell_contents
            except ValueError:  # empty cell
                continue
            if callable(value):
                stack.append((value, depth + 1))
    return None


def protocol_limits_set(protocol: Any, max_bytes: int) -> None:
    """Raise autobahn's per-message limit (daphne's default: 1 MiB, then close 1009) for this socket,
    so that a client frame over the application limit gets an error frame instead of a disconnect.
    Above `max_bytes` autobahn still closes with 1009: a bound on what one socket may make us buffer."""
    protocol.maxMessagePayloadSize = max_bytes
    protocol.maxFramePayloadSize = max_bytes


def protocol_open(protocol: Any) -> bool:
    return getattr(protocol, "state", None) == _STATE_OPEN


def pending_bytes(protocol: Any) -> int:
    """Bytes accepted for this client but not yet handed to the kernel (Twisted's write buffer)."""
    transport = getattr(protocol, "transport", None)
    if transport is None:
        return 0
    data = getattr(transport, "dataBuffer", b"")
    queued = len(data) - getattr(transport, "offset", 0) + getattr(transport, "_tempDataLen", 0)
    send_queue = getattr(protocol, "send_queue", None)  # autobahn's own queue (chopped/sync sends)
    if send_queue:
        queued += sum(len(item[0]) for item in send_queue)
    return queued


def ws_text_frame(payload: bytes) -> bytes:
    """A complete server-to-client WebSocket text frame (FIN, opcode 1, unmasked: RFC 6455 §5.2).

    Server frames are never masked and daphne negotiates no compression, so these exact bytes are what
    autobahn would write for this payload, for every client: build once, write to all.
    """
    length = len(payload)
    if length < 126:
        header = struct.pack("!BB", 0x81, length)
    elif length < 1 << 16:
        header = struct.pack("!BBH", 0x81, 126, length)
    else:
        header = struct.pack("!BBQ", 0x81, 127, length)
    return header + payload


def tcp_transport(protocol: Any) -> Any | None:
    """The protocol's Twisted TCP connection when frames may be sent on its socket directly (plain TCP, no
    autobahn compression); None otherwise (TLS, another server), where writes take the buffered path."""
    transport = getattr(protocol, "transport", None)
    if _TcpConnection is None or not isinstance(transport, _TcpConnection):
        return None
    if getattr(protocol, "_perMessageCompress", None) is not None:
        return None
    return transport


def tcp_pending_bytes(transport: Any) -> int:
    """pending_bytes for a tcp_transport (the hot path: three attribute reads)."""
    return len(transport.dataBuffer) - transport.offset + transport._tempDataLen


def tcp_send(protocol: Any, transport: Any, data: bytes, wire: bytes) -> None:
    """Send a text frame (`wire` = ws_text_frame(data)): straight into the socket when nothing is queued ahead of
    it, as asyncio transports do, else through Twisted's buffer.

    Why: Twisted's `write` only buffers and registers the socket with the reactor, which then sends and
    unregisters it: per client and frame that is 3 system calls and two reactor passes instead of one `send()`.
    What the kernel does not take now is buffered by Twisted, behind which later frames queue in order."""
    if (protocol.send_queue or transport._tempDataLen or len(transport.dataBuffer) > transport.offset
            or not transport.connected or transport.disconnecting or transport._writeDisconnected):
        protocol_send_text(protocol, data, wire)
        return
    try:
        sent = transport.socket.send(wire)
    except OSError:  # would block, or reset under us: Twisted's write path sends it later or closes the connection
        sent = 0
    if sent < len(wire):
        transport.write(wire[sent:])


def protocol_send_text(protocol: Any, data: bytes, wire: bytes | None = None) -> None:
    """Send a UTF-8 JSON text frame; with `wire` (ws_text_frame(data)) straight to the transport."""
    if wire is None or getattr(protocol, "send_queue", None) or getattr(protocol, "_perMessageCompress", None):
        protocol.sendMessage(data, False)  # keep autobahn's ordering/compression when it has work queued
        return
    protocol.transport.write(wire)


def protocol_close(protocol: Any, code: int, reason: str = "") -> None:
    """Start the closing handshake. sendCloseFrame, because autobahn's sendClose rejects 1001/1008."""
    if protocol_open(protocol):
        protocol.sendCloseFrame(code=code, reasonUtf8=reason.encode()[:120] or None)


def protocol_abort(protocol: Any) -> None:
    """Drop the TCP connection now, discarding the unsent buffer (for clients that stopped reading)."""
    transport = getattr(protocol, "transport", None)
    if transport is not None and hasattr(transport, "abortConnection"):
        transport.abortConnection()
