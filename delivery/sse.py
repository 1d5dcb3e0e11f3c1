"""SSE at /api/games/stream: the /ws/games feed for clients that can only do HTTP.

Each `data:` line holds the same JSON frame as the WebSocket (initial, batch, resync, heartbeat);
`id:` is the topic sequence, so a reconnecting EventSource sends Last-Event-ID and gets exactly
what it missed from history, or a fresh `initial`/`resync` when that is older than the history.
Query: `?sport=<code>` follows one sport instead of every game.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse

from core import metrics
from delivery.frames import ALL_TOPIC, sport_topic
from delivery.hub import Hub, hub_running
from delivery.sinks import SseSink

_SPORT = re.compile(r"^[a-z0-9_.\-]{1,64}$")
RETRY_MS = 2000


_EVENT_ID = re.compile(r"^(\d{1,18})-(\d{1,18})$")


def _last_event_id(request: HttpRequest) -> tuple[int, int] | None:
    """(epoch, seq) from Last-Event-ID (`<epoch>-<seq>`, as the stream writes `id:`); None when absent."""
    match = _EVENT_ID.match(request.headers.get("Last-Event-ID") or request.GET.get("lastEventId") or "")
    return (int(match.group(1)), int(match.group(2))) if match else None


async def _events(hub: Hub, sink: SseSink, topic: str, last_id: tuple[int, int] | None) -> AsyncIterator[bytes]:
    hub.attach(sink)  # here, not in the view: a generator that never starts never runs its `finally`
    metrics.SSE_CONNECTIONS.inc()
    try:
        yield b"retry: %d\n\n" % RETRY_MS
        if last_id is None:
            sink.force(hub.subscribe(sink, topic, "initial"))
        else:
            await hub.resume(sink, topic, last_id[1], last_id[0])
        while True:
            chunk = await sink.next_chunk()
            if chunk is None:
                return
            yield chunk
    finally:
        metrics.SSE_CONNECTIONS.dec()
        hub.detach(sink)


async def games_stream_view(request: HttpRequest) -> HttpResponse:
    sport = (request.GET.get("sport") or "").lower()
    if sport and not _SPORT.match(sport):
        return JsonResponse({"error": "invalid sport", "detail": "sport must be a league code"}, status=400)
    try:
        hub = await hub_running()
    except Exception:
        return JsonResponse({"error": "realtime service unavailable"}, status=503)
    sink = SseSink()
    topic = sport_topic(sport) if sport else ALL_TOPIC
    response = StreamingHttpResponse(_events(hub, sink, topic, _last_event_id(request)),
                                     content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"
    return response
