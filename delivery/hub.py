"""The per-process fan-out hub: ONE Redis subscription per daphne process, any number of sockets.

Why not a channel-layer group per socket: with thousands of sockets, `group_send` costs one message
(and one JSON encode + one send call) per socket per event. Here every process subscribes once to the
fan-out channel, keeps topic -> sinks in memory, coalesces events per topic while a flush is due
(windows.py: at once when sending keeps up, up to REALTIME_WINDOW_MS while it falls behind; latest state per
game), encodes each topic's frame once and writes the same bytes to every subscriber. Each client speaks one
protocol (frames.py): per flush a topic gets one v2 `batch` frame and, when v1 clients follow it, one v1 frame
per changed game; each is encoded once for all clients of its protocol.

The hub is assembled from small parts: the intake (the subscription, gap repair, epochs), the game state
(snapshots), the registry (sinks and their topics), the coalescing windows and the activity rooms. What it
keeps for itself is delivery: resume, flushing, the slow-client policy and heartbeats.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings

from core import metrics
from delivery import selectors, sinks
from delivery.activity import ActivityRooms, ActivityState
from delivery.frames import (
    PROTOCOL_V1,
    PROTOCOL_V2,
    PROTOCOLS,
    Frame,
    WireEvent,
    batch_frame,
    control_frame,
    game_topic,
    now_ms,
    v1_event_frame,
)
from delivery.gamestate import GameState
from delivery.history import StoredEvent, feed_position_read, topic_events_read, topic_seq_read
from delivery.intake import Intake
from delivery.registry import Registry
from delivery.sinks import Cursor, Sink
from delivery.windows import Pacing, Windows

log = logging.getLogger(__name__)
REPLAY_FRAME_EVENTS = 500
READY_TIMEOUT_S = 15


class Hub:
    def __init__(self) -> None:
        self.state = GameState()
        self.registry = Registry()
        self.windows = Windows()
        self.rooms = ActivityRooms()
        self.lagging: set[Sink] = set()
        self.pacing = Pacing(settings.REALTIME_WINDOW_MS / 1000)
        self.ready = asyncio.Event()
        self._wake = asyncio.Event()  # something waits in a window or a room
        self._tasks: list[asyncio.Task[None]] = []

    @property
    def epoch(self) -> int:
        return self.state.epoch

    # --- lifecycle --------------------------------------------------------------------------------
    def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._tasks = [
            loop.create_task(Intake(self).run(), name="realtime-hub-intake"),
            loop.create_task(self._flusher(), name="realtime-hub-flusher"),
            loop.create_task(self._heartbeats(), name="realtime-hub-heartbeat"),
        ]
        _shutdown_hook_install(self)

    async def wait_ready(self) -> None:
        async with asyncio.timeout(READY_TIMEOUT_S):
            await self.ready.wait()

    def shutdown(self) -> None:
        """Server stopping: tell every client and close WebSockets with 1001 (going away)."""
        frames = {v: control_frame({"type": "error", "message": "Server shutting down"}, v) for v in PROTOCOLS}
        for sink in list(self.registry.sinks):
            sink.force(frames[sink.version])
            sink.close(1001)
        for task in self._tasks:
            task.cancel()

    # --- sinks and topics -------------------------------------------------------------------------
    def attach(self, sink: Sink) -> None:
        self.registry.attach(sink)

    def detach(self, sink: Sink) -> None:
        for topic in self.registry.detach(sink):
            self.windows.drop(topic)
        self.lagging.discard(sink)
        self.rooms.leave(sink)

    def client_count(self, kind: str) -> int:
        return self.registry.client_count(kind)

    def subscribe_live(self, sink: Sink, topic: str) -> None:
        """Follow a topic from now on, without a snapshot (the original's implicit all-games feed)."""
        self.registry.follow(sink, topic, Cursor(self.state.seen.get(topic, 0)))

    def subscribe(self, sink: Sink, topic: str, kind: str = "snapshot") -> Frame:
        """Follow a topic; returns the snapshot frame to send first (state up to its seq)."""
        self.subscribe_live(sink, topic)
        return self.snapshot(topic, kind, sink.version)

    def unsubscribe(self, sink: Sink, topic: str) -> None:
        if self.registry.unfollow(sink, topic):
            self.windows.drop(topic)

    def snapshot(self, topic: str, kind: str = "snapshot", version: int = PROTOCOL_V2, **extra: Any) -> Frame:
        return self.state.snapshot(topic, kind, version, **extra)

    async def resume(self, sink: Sink, topic: str, after: int, epoch: int | None) -> None:
        """Send what `sink` missed in `topic` after seq `after` of `epoch` (replay) or a resync snapshot, then go
        live. A position from another numbering (Redis lost its data meanwhile) or none (None) gets a resync."""
        cursor = Cursor(after, buffer=[])
        self.registry.follow(sink, topic, cursor)
        reason, events, upto = await self._missed(topic, after, epoch)
        if sink.topics.get(topic) is not cursor:
            return  # unsubscribed or closed meanwhile
        buffered, cursor.buffer = cursor.buffer or [], None
        metrics.WS_RESUMES.labels("miss" if reason else "hit").inc()
        if reason is not None:
            metrics.WS_RESYNCS.labels(reason).inc()
            frame = self.snapshot(topic, "resync", reason=reason)
            sink.force(frame)
            cursor.seq = frame.seq
        elif events:
            for start in range(0, len(events), REPLAY_FRAME_EVENTS):
                chunk = events[start : start + REPLAY_FRAME_EVENTS]
                sink.force(batch_frame(topic, [_wire(e, topic) for e in chunk], self.epoch, replay=True))
            cursor.seq = upto
        for frame in buffered:
            sink.offer(frame)
        if sink.lagging_since is not None:
            self.lagging.add(sink)

    async def _missed(
        self, topic: str, after: int, epoch: int | None
    ) -> tuple[str | None, list[StoredEvent] | None, int]:
        """(resync reason, or None and the events after `after` up to this process's position, that position)."""
        upto = self.state.seen.get(topic, 0)
        if epoch != self.epoch:
            return "sequence_reset", None, upto
        if after > upto:
            # The client is ahead of this process (it was on a faster instance), or the sequence was reset.
            reset = after > await topic_seq_read(topic)
            return ("sequence_reset" if reset else None), [], upto
        events = await topic_events_read(topic, after, upto)
        return ("history_exceeded" if events is None else None), events, upto

    async def activity_game_id(self, slug: str) -> str | None:
        game_id = self.state.game_id_by_slug(slug)
        return game_id if game_id is not None else await sync_to_async(selectors.game_id_by_slug)(slug)

    async def activity_subscribe(self, sink: Sink, slug: str) -> ActivityState | None:
        game_id = await self.activity_game_id(slug)
        if game_id is None:
            return None
        return await self.rooms.join(sink, game_id, sync_to_async(selectors.activity_source_load))

    def activity_unsubscribe(self, sink: Sink) -> None:
        self.rooms.leave(sink)

    # --- intake (delivery.intake.Receiver) ----------------------------------------------------------
    async def reload(self) -> None:
        """(Re)load the state: positions first, then the DB; queued pub/sub messages then bring it forward."""
        epoch, seqs = await feed_position_read()
        self.state.replace(epoch, seqs, await sync_to_async(selectors.games_state_load)())

    def event_apply(self, topics: dict[str, int], body: dict[str, Any], ts: int) -> None:
        kind = body.get("type")
        latest = self.state.advance(topics, body)
        game_id = str(latest.get("id"))
        outcomes = body.get("outcomes") or []
        for topic, seq in topics.items():
            if topic not in self.registry.subs:
                continue
            wire: WireEvent = {"type": kind, "seq": seq, "game": latest, "timestamp": ts}  # type: ignore[typeddict-item]
            if outcomes:
                wire["outcomes"] = outcomes
            self.windows.add(topic, game_id, wire)
        self.rooms.apply(game_id, str(kind), latest, outcomes, topics.get(game_topic(game_id), 0), ts)
        self._wake.set()

    def events_applied(self) -> None:
        if settings.REALTIME_WINDOW_MS == 0:
            self._flush(time.monotonic())

    def resync_all(self, reason: str) -> None:
        self.windows.clear()
        for sink in list(self.registry.sinks):
            self.resync_sink(sink, reason)

    # --- delivery ---------------------------------------------------------------------------------
    async def _flusher(self) -> None:
        """Flush whenever something is pending and due, then yield once so that the intake reads what arrived
        meanwhile: events coalesce only while a flush is running or the pacing gap (windows.Pacing) holds them."""
        while True:
            await self._wake.wait()
            self._wake.clear()
            while (delay := self._due_in()) is not None:
                if delay > 0:
                    await asyncio.sleep(delay)
                cpu = time.process_time()  # CPU, not wall time: being preempted by others is not our cost
                try:
                    self._flush(time.monotonic())
                except Exception:
                    log.exception("realtime hub: flush failed")
                self.pacing.flushed(time.process_time() - cpu)
                await asyncio.sleep(0)

    def _due_in(self) -> float | None:
        now, gap = time.monotonic(), self.pacing.gap_s
        due = [d for d in (self.windows.due_in(now, gap), self.rooms.due_in(now, gap)) if d is not None]
        return min(due) if due else None

    def _flush(self, now: float) -> None:
        gap = self.pacing.gap_s
        for topic, events in self.windows.take(now, gap):
            followers = self.registry.subs.get(topic)
            if not followers:
                continue
            metrics.REALTIME_DELIVERY_LAG.observe(max(0.0, now_ms() - min(e["timestamp"] for e in events)) / 1000)
            if PROTOCOL_V2 in followers:
                self._deliver(followers[PROTOCOL_V2], batch_frame(topic, events, self.epoch))
            for event in events if PROTOCOL_V1 in followers else ():
                self._deliver(followers[PROTOCOL_V1], v1_event_frame(topic, event, self.epoch))
        for room, frames in self.rooms.take(now, gap):
            for sink in list(room.sinks):
                self._write(sink, frames[sink.version], Sink.send)
        if self.lagging:
            self._lag_check()
        self._export_writes()

    def _deliver(self, targets: Iterable[Sink], frame: Frame) -> None:
        """The hot loop: one frame to every follower of its topic and protocol (no per-client encode)."""
        lagging = self.lagging
        for sink in list(targets):
            sink.offer(frame)
            if sink.lagging_since is not None:
                lagging.add(sink)

    def _write(self, sink: Sink, frame: Frame, write: Any) -> None:
        write(sink, frame)
        if sink.lagging_since is not None:
            self.lagging.add(sink)

    def _export_writes(self) -> None:
        for kind, count in sinks.WRITES.items():
            if count and kind != "sse":
                metrics.WS_FRAMES_SENT.labels(f"ws/{kind}").inc(count)
        sinks.WRITES.clear()

    def _lag_check(self) -> None:
        for sink in list(self.lagging):
            if sink.closed:
                self.lagging.discard(sink)
                continue
            verdict = sink.lag_check()
            if verdict == "recovered":
                self.lagging.discard(sink)
                self.resync_sink(sink, "slow_client")
            elif verdict == "close":
                self.lagging.discard(sink)
                log.warning("realtime: closing %s: too slow for %.0fs", sink, settings.REALTIME_SLOW_CLIENT_CLOSE_S)
                metrics.WS_SLOW_CLOSES.inc()
                sink.close(1008, "too slow")
            elif verdict == "ok":
                self.lagging.discard(sink)

    def resync_sink(self, sink: Sink, reason: str) -> None:
        sink.resyncs += 1
        metrics.WS_RESYNCS.labels(reason).inc()
        for topic, cursor in list(sink.topics.items()):
            if sink.version == PROTOCOL_V1:  # the original's "here is the whole list again"
                frame = self.snapshot(topic, "games_update", PROTOCOL_V1)
            else:
                frame = self.snapshot(topic, "resync", reason=reason)
            sink.force(frame)
            cursor.seq = frame.seq
        for frame in self.rooms.resync_frames(sink, reason):
            sink.force(frame)

    async def _heartbeats(self) -> None:
        while True:
            await asyncio.sleep(settings.REALTIME_HEARTBEAT_S)
            frames = {v: control_frame({"type": "heartbeat"}, v) for v in PROTOCOLS}
            for sink in list(self.registry.sinks):
                self._write(sink, frames[sink.version], Sink.send)
            self._lag_check()


def _wire(event: StoredEvent, topic: str) -> WireEvent:
    wire: WireEvent = {
        "type": event.body.get("type", ""),
        "seq": event.topic_seqs[topic],
        "game": event.body.get("game") or {},
        "timestamp": event.ts,
    }
    if event.body.get("outcomes"):
        wire["outcomes"] = event.body["outcomes"]
    return wire


def _shutdown_hook_install(hub: Hub) -> None:
    """Under daphne (Twisted reactor), close every socket with 1001 before the reactor stops."""
    try:
        from twisted.internet import reactor
        from twisted.internet.task import deferLater
    except ImportError:
        return
    if not getattr(reactor, "running", False):
        return

    def before_shutdown() -> Any:
        hub.shutdown()
        return deferLater(reactor, 0.3, lambda: None)  # let the close frames reach the kernel

    reactor.addSystemEventTrigger("before", "shutdown", before_shutdown)


_hubs: dict[asyncio.AbstractEventLoop, Hub] = {}


async def hub_running() -> Hub:
    """This process's hub (started on first use), once its state is loaded."""
    loop = asyncio.get_running_loop()
    hub = _hubs.get(loop)
    if hub is None:
        hub = _hubs[loop] = Hub()
        hub.start()
    await hub.wait_ready()
    return hub
