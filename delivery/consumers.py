"""Thin WebSocket consumers: parse the client's message, ask the hub, write the answer.

The protocol is the client's choice at connect time: `?protocol=2` for topics, batches and resume, the
original's (v1) otherwise (frames.py).

No per-socket channel layer: with RedisPubSubChannelLayer every consumer would otherwise open its own
Redis subscription. Delivery goes through the per-process hub (delivery/hub.py).
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import parse_qs

from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

from core import metrics
from delivery.activity import ActivityState
from delivery.frames import (
    ALL_TOPIC,
    PROTOCOL_V1,
    PROTOCOL_V2,
    ActivitySubscribe,
    ActivityUnsubscribe,
    BadMessage,
    Ping,
    Refresh,
    Resume,
    Subscribe,
    Unsubscribe,
    control_frame,
    error_frame,
    message_parse,
    protocol_parse,
)
from delivery.hub import Hub, hub_running
from delivery.sinks import WsSink
from delivery.transport import daphne_protocol, protocol_limits_set

log = logging.getLogger(__name__)
NO_CHANNEL_LAYER = "__realtime_no_layer__"  # an alias that is not configured: channels then skips the layer


class _HubConsumer(AsyncWebsocketConsumer):
    channel_layer_alias = NO_CHANNEL_LAYER
    sink_kind = "games"

    hub: Hub | None = None
    sink: WsSink | None = None
    version = PROTOCOL_V1

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:  # also when daphne cancels the application (client gone, server stopping)
            if self.hub is not None and self.sink is not None:
                self.hub.detach(self.sink)

    async def connect(self) -> None:
        await self.accept()
        protocol = daphne_protocol(self.base_send)
        if protocol is not None:
            protocol_limits_set(protocol, settings.REALTIME_MAX_TRANSPORT_BYTES)
        query = parse_qs(self.scope.get("query_string", b"").decode("latin-1"))
        try:
            self.version = protocol_parse((query.get("protocol") or [None])[-1])
        except ValueError as exc:
            refused = WsSink(self.sink_kind, protocol, self.base_send)
            refused.force(error_frame(str(exc), PROTOCOL_V1))
            refused.close(1008, "unknown protocol")
            return
        sink = WsSink(self.sink_kind, protocol, self.base_send, self.version)
        try:
            hub = await hub_running()
        except Exception:
            log.exception("realtime: hub not available")
            sink.force(error_frame("Realtime service unavailable, try again later", self.version))
            sink.close(1013, "try again later")
            return
        self.hub, self.sink = hub, sink
        hub.attach(sink)
        self.on_open()

    def on_open(self) -> None:
        """Hook for subclasses: the socket is accepted and attached to the hub."""

    def reply(self, payload: dict[str, Any]) -> None:
        if self.sink is not None:
            self.sink.force(control_frame(payload, self.version))

    def error(self, message: str) -> None:
        if self.sink is not None:
            self.sink.force(error_frame(message, self.version))


class GamesConsumer(_HubConsumer):
    """/ws/games: the original's all-games feed (v1); with protocol 2 also topics, snapshots, sequence
    numbers and resume."""

    implicit_all = True

    def on_open(self) -> None:
        assert self.hub is not None and self.sink is not None
        hello: dict[str, Any] = {
            "type": "subscribed",
            "message": "Connected to games WebSocket",
            "clientCount": self.hub.client_count("games"),
        }
        if self.version == PROTOCOL_V2:
            hello.update(epoch=self.hub.epoch, protocol=PROTOCOL_V2)
        self.reply(hello)
        # A client that never says anything gets every game, like the original.
        self.hub.subscribe_live(self.sink, ALL_TOPIC)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if self.hub is None or self.sink is None:
            return
        try:
            message = message_parse(text_data, bytes_data, max_bytes=settings.REALTIME_MAX_FRAME_BYTES)
        except BadMessage as exc:
            self.error(str(exc))
            return
        if isinstance(message, Ping):
            self.reply({"type": "heartbeat"})
        elif isinstance(message, Refresh):
            self.sink.force(self.hub.snapshot(ALL_TOPIC, "initial", self.version))
        elif self.version == PROTOCOL_V1:
            self.error(f"{message.type!r} needs protocol 2: connect to /ws/games?protocol=2")
        elif isinstance(message, Subscribe | Unsubscribe | Resume):
            metrics.WS_SUBSCRIBE_REQUESTS.labels(message.type).inc()
            if isinstance(message, Subscribe):
                self.subscribe(message.topic_names())
            elif isinstance(message, Unsubscribe):
                self.unsubscribe(message.topic_names())
            else:
                await self.resume(message.seqs, message.epoch)

    def _explicit(self) -> None:
        """The first subscribe/resume replaces the implicit all-games subscription."""
        if self.implicit_all and self.hub is not None and self.sink is not None:
            self.implicit_all = False
            self.hub.unsubscribe(self.sink, ALL_TOPIC)

    def _room_for(self, topics: list[str]) -> bool:
        assert self.sink is not None
        new = set(topics) - set(self.sink.topics)
        limit = settings.REALTIME_MAX_SUBSCRIPTIONS
        if len(self.sink.topics) - (1 if self.implicit_all else 0) + len(new) > limit:
            self.error(f"too many subscriptions (limit {limit} per connection)")
            return False
        return True

    def subscribe(self, topics: list[str]) -> None:
        assert self.hub is not None and self.sink is not None
        if not topics:
            self.error("subscribe needs sports, games, topics or all")
            return
        if not self._room_for(topics):
            return
        self._explicit()
        self.reply({"type": "subscribed", "topics": topics})
        for topic in topics:
            self.sink.force(self.hub.subscribe(self.sink, topic))

    def unsubscribe(self, topics: list[str]) -> None:
        assert self.hub is not None and self.sink is not None
        self._explicit()
        gone = topics or list(self.sink.topics)
        for topic in gone:
            self.hub.unsubscribe(self.sink, topic)
        self.reply({"type": "unsubscribed", "topics": gone})

    async def resume(self, seqs: dict[str, int], epoch: int) -> None:
        assert self.hub is not None and self.sink is not None
        if not seqs:
            self.error("resume needs seqs: {topic: last seq seen}")
            return
        if not self._room_for(list(seqs)):
            return
        self._explicit()
        self.reply({"type": "subscribed", "topics": list(seqs), "resumed": True})
        for topic, seq in seqs.items():
            await self.hub.resume(self.sink, topic, seq, epoch)


class ActivityConsumer(_HubConsumer):
    """/ws/activity: one game (by slug) with all its markets and outcomes (original §4.2)."""

    sink_kind = "activity"
    slug: str | None = None
    state: ActivityState | None = None

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if self.hub is None or self.sink is None:
            return
        try:
            message = message_parse(
                text_data, bytes_data, max_bytes=settings.REALTIME_MAX_FRAME_BYTES, activity=True
            )
        except BadMessage as exc:
            self.error(str(exc))
            return
        if isinstance(message, Ping):
            self.reply({"type": "heartbeat"})
        elif isinstance(message, ActivitySubscribe):
            await self.subscribe(message.slug)
        elif isinstance(message, ActivityUnsubscribe):
            self.hub.activity_unsubscribe(self.sink)
            self.reply({"type": "unsubscribed", "slug": self.slug})
            self.slug, self.state = None, None
        elif isinstance(message, Refresh):
            await self.refresh()

    async def subscribe(self, slug: str) -> None:
        assert self.hub is not None and self.sink is not None
        self.hub.activity_unsubscribe(self.sink)  # one game per socket: a new subscribe replaces the old
        self.slug, self.state = None, None
        state = await self.hub.activity_subscribe(self.sink, slug.lower())
        if state is None:
            self.error(f"Game not found: {slug}")
            return
        slug = slug.lower()  # as the original answers
        self.slug, self.state = slug, state
        self.reply({"type": "subscribed", "slug": slug, "message": f"Subscribed to game: {slug}"})
        self.sink.force(state.initial_frame(self.version))

    async def refresh(self) -> None:
        if self.state is None or self.sink is None:
            self.error("Not subscribed to a game; send {\"type\":\"subscribe\",\"slug\":...} first")
            return
        self.sink.force(self.state.initial_frame(self.version))
