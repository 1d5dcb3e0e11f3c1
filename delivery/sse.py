"""SSE for clients that can only do HTTP: `/api/games/stream` (the /ws/games feed) and
`/api/activitywatcher/<slug>/stream` (the /ws/activity feed of one game), both fed by the per-process hub.

v1 (default, the original's): `data:` lines holding the same frames as a v1 WebSocket (`initial`, then
`price_update` / `game_update`, `games_update` after a resync, `heartbeat`), no `id:` lines.
v2 (`?protocol=2`, games stream only): `id: <epoch>-<seq>` + the v2 frames (`initial`, `batch`, `resync`), so
a reconnecting EventSource sends Last-Event-ID and gets exactly what it missed from history, or a `resync`.
Query: `?sport=<code>` follows one sport instead of every game.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable

from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse

from core import metrics
from delivery.frames import ALL_TOPIC, PROTOCOL_V2, SLUG_RE, error_frame, protocol_parse, sport_topic
from delivery.hub import Hub, hub_running
from delivery.sinks import SseSink

_SPORT = re.compile(r"^[a-z0-9_.\-]{1,64}$")
RETRY_MS = 2000


_EVENT_ID = re.compile(r"^(\d{1,18})-(\d{1,18})$")


def _last_event_id(request: HttpRequest) -> tuple[int, int] | None:
    """(epoch, seq) from Last-Event-ID (`<epoch>-<seq>`, as the stream writes `id:`); None when absent."""
    match = _EVENT_ID.match(request.headers.get("Last-Event-ID") or request.GET.get("lastEventId") or "")
    return (int(match.group(1)), int(match.group(2))) if match else None


async def _events(hub: Hub, sink: SseSink, start: Callable[[], Awaitable[None]]) -> AsyncIterator[bytes]:
    hub.attach(sink)  # here, not in the view: a generator that never starts never runs its `finally`
    metrics.SSE_CONNECTIONS.inc()
    try:
        if sink.version == PROTOCOL_V2:
            yield b"retry: %d\n\n" % RETRY_MS
        await start()
        while True:
            chunk = await sink.next_chunk()
            if chunk is None:
                return
            yield chunk
    finally:
        metrics.SSE_CONNECTIONS.dec()
        hub.detach(sink)


def _stream(hub: Hub, sink: SseSink, start: Callable[[], Awaitable[None]]) -> StreamingHttpResponse:
    response = StreamingHttpResponse(_events(hub, sink, start), content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"
    return response


def _bad(error: str, detail: str, status: int = 400) -> JsonResponse:
    return JsonResponse({"success": False, "error": error, "detail": detail}, status=status)


async def games_stream_view(request: HttpRequest) -> HttpResponse:
    sport = (request.GET.get("sport") or "").lower()
    if sport and not _SPORT.match(sport):
        return _bad("invalid sport", "sport must be a league code")
    try:
        version = protocol_parse(request.GET.get("protocol"))
    except ValueError as exc:
        return _bad("invalid protocol", str(exc))
    try:
        hub = await hub_running()
    except Exception:
        return _bad("realtime service unavailable", "try again later", 503)
    sink = SseSink(version)
    topic = sport_topic(sport) if sport else ALL_TOPIC
    last_id = _last_event_id(request) if version == PROTOCOL_V2 else None

    async def start() -> None:
        if last_id is None:
            sink.force(hub.subscribe(sink, topic, "initial"))
        else:
            await hub.resume(sink, topic, last_id[1], last_id[0])

    return _stream(hub, sink, start)


async def activity_stream_view(request: HttpRequest, slug: str) -> HttpResponse:
    """The original's game-page stream (original §3.6): `initial`, then every change of the game, cross-instance."""
    if not SLUG_RE.match(slug):
        return _bad("invalid slug", "slug must be a game slug")
    try:
        hub = await hub_running()
    except Exception:
        return _bad("realtime service unavailable", "try again later", 503)
    if await hub.activity_game_id(slug.lower()) is None:
        return _bad("Game not found", f"no game with slug {slug}", 404)
    sink = SseSink()

    async def start() -> None:
        state = await hub.activity_subscribe(sink, slug.lower())
        if state is None:  # removed meanwhile
            sink.force(error_frame(f"Game not found: {slug}", sink.version))
            sink.close(1000)
            return
        sink.force(state.initial_frame(sink.version))

    return _stream(hub, sink, start)
