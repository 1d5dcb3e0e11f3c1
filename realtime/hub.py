"""The per-process fan-out hub: ONE Redis subscription per daphne process, any number of sockets.

Why not a channel-layer group per socket: with thousands of sockets, `group_send` costs one message
(and one JSON encode + one send call) per socket per event. Here every process subscribes once to the
fan-out channel, keeps topic -> sinks in memory, coalesces events per topic per window
(REALTIME_WINDOW_MS: latest state per game), encodes each topic's frame once and writes the same bytes
to every subscriber.

The hub also keeps the latest FrontendGame of every non-ended game (loaded from the database when the
process starts, then advanced by events), so a snapshot for a new subscriber is an in-memory read whose
sequence number is exactly the events it includes. Gaps in the `all` sequence (a lost pub/sub message,
a Redis reconnect) are repaired from history; if history no longer covers them the state is reloaded
and every subscriber gets a `resync`.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import os
import time
from typing import Any

import orjson
import redis.asyncio as aioredis
from asgiref.sync import sync_to_async
from django.conf import settings

from mevu import metrics
from mevu.redis import redis_async_new
from realtime import selectors, sinks
from realtime.activity import ActivityState
from realtime.frames import Frame, WireEvent, batch_frame, control_frame, now_ms, snapshot_frame
from realtime.history import StoredEvent, all_events_read, feed_position_read, topic_events_read, topic_seq_read
from realtime.publish import fanout_channel
from realtime.sinks import Cursor, Sink

log = logging.getLogger(__name__)
SNAPSHOT_GAMES_MAX = 1000
REPLAY_FRAME_EVENTS = 500
READY_TIMEOUT_S = 15
PUBSUB_IDLE_PING_S = 10


def _sort_key(game: dict[str, Any]) -> tuple[str, str]:
    return (str(game.get("kickoff") or game.get("endDate") or "9999"), str(game.get("id", "")))


def _coalesce(prev: WireEvent | None, new: WireEvent) -> WireEvent:
    """Latest state of a game wins; changed outcomes accumulate; an `added` stays an `added`."""
    if prev is None:
        return new
    merged: WireEvent = dict(new)  # type: ignore[assignment]
    if prev["type"] == "game_added" and new["type"] in ("price_update", "game_update"):
        merged["type"] = "game_added"
    if "outcomes" in prev or "outcomes" in new:
        by_token = {o.get("token_id"): o for o in prev.get("outcomes", [])}
        by_token.update({o.get("token_id"): o for o in new.get("outcomes", [])})
        merged["outcomes"] = list(by_token.values())
    return merged


class Hub:
    def __init__(self) -> None:
        self.state: dict[str, dict[str, Any]] = {}  # game id -> latest FrontendGame
        self.seen: dict[str, int] = {}  # topic -> last seq applied to `state`
        self.last_all = 0
        self.epoch = 0  # the numbering of `seen` (0 until the first event is ever published)
        self.subs: dict[str, set[Sink]] = collections.defaultdict(set)
        self.sinks: set[Sink] = set()
        self.windows: dict[str, dict[str, WireEvent]] = {}
        self.activity: dict[str, ActivityState] = {}
        self.lagging: set[Sink] = set()
        self.ready = asyncio.Event()
        self.stats = {"events": 0, "frames": 0, "writes": 0, "gaps_repaired": 0, "reloads": 0}
        self._tasks: list[asyncio.Task[None]] = []
        self._snapshots: dict[tuple[str, str, tuple[Any, ...]], Frame] = {}
        self._flushed_at: dict[str, float] = {}  # topic -> monotonic time of its last frame

    # --- lifecycle --------------------------------------------------------------------------------
    def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._tasks = [
            loop.create_task(self._reader(), name="realtime-hub-reader"),
            loop.create_task(self._flusher(), name="realtime-hub-flusher"),
            loop.create_task(self._heartbeats(), name="realtime-hub-heartbeat"),
        ]
        _shutdown_hook_install(self)

    async def wait_ready(self) -> None:
        await asyncio.wait_for(self.ready.wait(), READY_TIMEOUT_S)

    def shutdown(self) -> None:
        """Server stopping: tell every client and close WebSockets with 1001 (going away)."""
        frame = control_frame({"type": "error", "message": "Server shutting down"})
        for sink in list(self.sinks):
            sink.force(frame)
            sink.close(1001)
        for task in self._tasks:
            task.cancel()

    # --- sinks and topics -------------------------------------------------------------------------
    def attach(self, sink: Sink) -> None:
        self.sinks.add(sink)

    def detach(self, sink: Sink) -> None:
        sink.closed = True
        self.sinks.discard(sink)
        self.lagging.discard(sink)
        for topic in list(sink.topics):
            self.unsubscribe(sink, topic)
        for game_id, state in list(self.activity.items()):
            state.sinks.discard(sink)
            if not state.sinks and state.loaded.is_set():
                del self.activity[game_id]

    def client_count(self, kind: str) -> int:
        return sum(1 for sink in self.sinks if sink.kind == kind)

    def _follow(self, sink: Sink, topic: str, cursor: Cursor) -> None:
        if topic not in sink.topics:
            metrics.WS_SUBSCRIPTIONS.inc()
        sink.topics[topic] = cursor
        self.subs[topic].add(sink)

    def subscribe_live(self, sink: Sink, topic: str) -> None:
        """Follow a topic from now on, without a snapshot (the original's implicit all-games feed)."""
        self._follow(sink, topic, Cursor(self.seen.get(topic, 0)))

    def subscribe(self, sink: Sink, topic: str, kind: str = "snapshot") -> Frame:
        """Follow a topic; returns the snapshot frame to send first (state up to its seq)."""
        self.subscribe_live(sink, topic)
        return self.snapshot(topic, kind)

    def unsubscribe(self, sink: Sink, topic: str) -> None:
        if sink.topics.pop(topic, None) is not None:
            metrics.WS_SUBSCRIPTIONS.dec()
        subs = self.subs.get(topic)
        if subs is not None:
            subs.discard(sink)
            if not subs:
                del self.subs[topic]
                self.windows.pop(topic, None)
                self._flushed_at.pop(topic, None)

    def snapshot(self, topic: str, kind: str = "snapshot", **extra: Any) -> Frame:
        """The topic's current state as a frame; reused while the topic's seq is unchanged (a burst of
        subscribers, or of slow clients recovering, costs one encode)."""
        seq = self.seen.get(topic, 0)
        key = (topic, kind, tuple(sorted(extra.items())))
        cached = self._snapshots.get(key)
        if cached is not None and cached.seq == seq:
            return cached
        games = self.games_of(topic)
        if len(games) > SNAPSHOT_GAMES_MAX:
            games, extra["truncated"] = games[:SNAPSHOT_GAMES_MAX], True
        frame = snapshot_frame(kind, topic, seq, self.epoch, games, **extra)
        if len(self._snapshots) > 1000:
            self._snapshots.clear()
        self._snapshots[key] = frame
        return frame

    def games_of(self, topic: str) -> list[dict[str, Any]]:
        if topic.startswith("game:"):
            game = self.state.get(topic[5:])
            return [game] if game is not None else []
        sport = topic[6:] if topic.startswith("sport:") else None
        games = [
            g for g in self.state.values()
            if not g.get("ended") and (sport is None or str(g.get("sport", "")).lower() == sport)
        ]
        games.sort(key=_sort_key)
        return games

    async def resume(self, sink: Sink, topic: str, after: int, epoch: int | None) -> None:
        """Send what `sink` missed in `topic` after seq `after` of `epoch` (replay) or a resync snapshot, then go
        live. A position from another numbering (Redis lost its data meanwhile) or none (None) gets a resync."""
        cursor = Cursor(after, buffer=[])
        self._follow(sink, topic, cursor)
        upto = self.seen.get(topic, 0)
        reason = None
        events: list[StoredEvent] | None = []
        if epoch != self.epoch:
            reason = "sequence_reset"
        elif after > upto:
            # The client is ahead of this process (it was on a faster instance), or the sequence was reset.
            if after > await topic_seq_read(topic):
                reason = "sequence_reset"
        else:
            events = await topic_events_read(topic, after, upto)
            if events is None:
                reason = "history_exceeded"
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

    async def activity_subscribe(self, sink: Sink, slug: str) -> ActivityState | None:
        game_id = next((gid for gid, g in self.state.items() if g.get("slug") == slug), None)
        if game_id is None:
            game_id = await sync_to_async(selectors.game_id_by_slug)(slug)
        if game_id is None:
            return None
        state = self.activity.get(game_id)
        if state is None:
            state = self.activity[game_id] = ActivityState(game_id)
            try:
                loaded = await sync_to_async(selectors.activity_source_load)(game_id)
            except Exception:
                self.activity.pop(game_id, None)
                raise
            if loaded is None:
                self.activity.pop(game_id, None)
                return None
            state.start(*loaded)
        await state.loaded.wait()
        if sink.closed:
            if not state.sinks:
                self.activity.pop(game_id, None)
            return None
        state.sinks.add(sink)
        return state

    def activity_unsubscribe(self, sink: Sink) -> None:
        for game_id, state in list(self.activity.items()):
            state.sinks.discard(sink)
            if not state.sinks:
                del self.activity[game_id]

    # --- event intake -----------------------------------------------------------------------------
    async def _reader(self) -> None:
        backoff = 0.2
        while True:
            client = redis_async_new(  # plain or Sentinel REDIS_URL (follows a failover on reconnect)
                socket_timeout=None, health_check_interval=0, socket_keepalive=True,
                client_name=f"{settings.REDIS_PREFIX}:rt-hub:{os.getpid()}",
            )
            pubsub = client.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(fanout_channel())
                if not self.ready.is_set():
                    await self._load()
                    self.ready.set()
                else:
                    await self._reconnected(*await feed_position_read())
                backoff = 0.2
                await self._listen(pubsub)
            except asyncio.CancelledError:
                raise
            except (aioredis.ConnectionError, aioredis.TimeoutError, TimeoutError) as exc:
                log.warning("realtime hub: fan-out connection lost (%s); reconnecting in %.1fs", exc, backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
            except Exception:
                log.exception("realtime hub: fan-out subscription failed; reconnecting in %.1fs", backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
            finally:
                await _quietly(pubsub.aclose())
                await _quietly(client.aclose())

    async def _reconnected(self, epoch: int, seqs: dict[str, int]) -> None:
        """Back on the fan-out channel: catch up, or, if the numbering changed (Redis restarted empty or failed
        over before replicating, whether or not the new sequence has passed ours), reload and resync everyone.
        Found by tests/reliability/test_redis_restart.py."""
        current = seqs.get("all", 0)
        if (self.epoch and epoch != self.epoch) or current < self.last_all:
            await self._sequence_reset(f"epoch {self.epoch} -> {epoch}, all seq {self.last_all} -> {current}")
            return
        self.epoch = epoch
        await self._catch_up(current)

    async def _sequence_reset(self, what: str) -> None:
        log.warning("realtime hub: sequence reset (%s); reloading and resyncing", what)
        await self._load()
        self._resync_all("sequence_reset")

    async def _listen(self, pubsub: Any) -> None:
        """Read the fan-out channel; PING when idle so a dead connection is noticed (then: reconnect, catch up)."""
        idle_since = time.monotonic()
        while True:
            message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
            if message is None:
                if time.monotonic() - idle_since > PUBSUB_IDLE_PING_S:
                    await asyncio.wait_for(pubsub.ping(), 5)
                    idle_since = time.monotonic()
                continue
            idle_since = time.monotonic()
            if message.get("type") == "message":
                await self._on_message(message["data"])

    async def _load(self) -> None:
        """(Re)load the state: seqs first, then the DB; queued pub/sub messages then bring it forward."""
        epoch, seqs = await feed_position_read()
        games = await sync_to_async(selectors.games_state_load)()
        self.state, self.seen, self.epoch = games, seqs, epoch
        self.last_all = seqs.get("all", 0)
        self._snapshots.clear()
        self.stats["reloads"] += 1

    async def _on_message(self, data: bytes) -> None:
        try:
            message = orjson.loads(data)
            items = message["events"]
            ts, epoch = int(message["ts"]), int(message["ep"])
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            log.warning("realtime hub: ignoring a malformed fan-out message")
            return
        if epoch != self.epoch:
            if self.epoch:  # Redis lost its data: these numbers are not a continuation of ours
                await self._sequence_reset(f"epoch {self.epoch} -> {epoch}")
                return
            self.epoch = epoch  # the first publish ever, or the first since this process loaded
        for item in items:
            a = int(item["a"])
            if a <= self.last_all:
                continue
            if a > self.last_all + 1:
                await self._catch_up(a - 1)
                if a <= self.last_all:
                    continue  # the catch-up reloaded state past this event
            body = item["e"]
            game = body.get("game") or {}
            topics = {
                "all": a,
                f"sport:{str(game.get('sport', '')).lower()}": int(item["s"]),
                f"game:{game.get('id')}": int(item["g"]),
            }
            self._apply(topics, body, ts)
            self.last_all = a
        if settings.REALTIME_WINDOW_MS == 0:
            self._flush()

    async def _catch_up(self, upto: int) -> None:
        """Apply events last_all+1..upto from history; reload and resync everyone if they are gone."""
        if upto <= self.last_all:
            return
        events = await all_events_read(self.last_all + 1, upto)
        if events is None:
            log.warning("realtime hub: missed events %d..%d beyond history; resyncing", self.last_all + 1, upto)
            await self._load()
            self._resync_all("history_exceeded")
            return
        for event in events:
            self._apply(event.topic_seqs, event.body, event.ts)
            self.last_all = event.all_seq
        self.stats["gaps_repaired"] += 1

    def _apply(self, topics: dict[str, int], body: dict[str, Any], ts: int) -> None:
        self.stats["events"] += 1
        kind = body.get("type")
        game = body.get("game") or {}
        game_id = str(game.get("id"))
        if kind == "game_removed":
            self.state.pop(game_id, None)
            latest = game
        else:
            latest = {**self.state.get(game_id, {}), **game}
            self.state[game_id] = latest
        outcomes = body.get("outcomes") or []
        for topic, seq in topics.items():
            self.seen[topic] = seq
            if topic not in self.subs:
                continue
            wire: WireEvent = {"type": kind, "seq": seq, "game": latest, "timestamp": ts}  # type: ignore[typeddict-item]
            if outcomes:
                wire["outcomes"] = outcomes
            window = self.windows.setdefault(topic, {})
            window[game_id] = _coalesce(window.get(game_id), wire)
        state = self.activity.get(game_id)
        if state is not None:
            state.apply(str(kind), latest, outcomes, topics.get(f"game:{game_id}", 0), ts)

    # --- delivery ---------------------------------------------------------------------------------
    async def _flusher(self) -> None:
        """Tick at a quarter window: a topic is flushed when its last frame is at least a window old.

        So a quiet topic's first event goes out within a tick (leading edge), and a busy topic still
        gets at most one frame per window holding everything since the previous one.
        """
        while True:
            await asyncio.sleep(max(settings.REALTIME_WINDOW_MS / 4, 10) / 1000)
            try:
                self._flush(due_only=True)
            except Exception:
                log.exception("realtime hub: flush failed")

    def _flush(self, due_only: bool = False) -> None:
        now = time.monotonic()
        window_s = settings.REALTIME_WINDOW_MS / 1000
        for topic in list(self.windows):
            if due_only and now - self._flushed_at.get(topic, 0.0) < window_s:
                continue
            by_game = self.windows.pop(topic)
            subs = self.subs.get(topic)
            if not subs or not by_game:
                continue
            self._flushed_at[topic] = now
            events = sorted(by_game.values(), key=lambda e: e["seq"])
            frame = batch_frame(topic, events, self.epoch)
            self.stats["frames"] += 1
            metrics.REALTIME_DELIVERY_LAG.observe(max(0.0, now_ms() - min(e["timestamp"] for e in events)) / 1000)
            for sink in list(subs):
                sink.offer(frame)
                if sink.lagging_since is not None:
                    self.lagging.add(sink)
            self.stats["writes"] += len(subs)
        for state in list(self.activity.values()):
            if state.dirty is None or not state.loaded.is_set():
                continue
            if due_only and now - state.flushed_at < window_s:
                continue
            state.flushed_at = now
            frame = state.frame(state.dirty)
            state.dirty = None
            for sink in list(state.sinks):
                sink.send(frame)
                if sink.lagging_since is not None:
                    self.lagging.add(sink)
        if self.lagging:
            self._lag_check()
        self._export_writes()

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
            frame = self.snapshot(topic, "resync", reason=reason)
            sink.force(frame)
            cursor.seq = frame.seq
        for state in self.activity.values():
            if sink in state.sinks:
                sink.force(control_frame({"type": "initial", "game": state.build(), "resync": reason}))

    def _resync_all(self, reason: str) -> None:
        self.windows.clear()
        for sink in list(self.sinks):
            self.resync_sink(sink, reason)

    async def _heartbeats(self) -> None:
        while True:
            await asyncio.sleep(settings.REALTIME_HEARTBEAT_S)
            frame = control_frame({"type": "heartbeat"})
            for sink in list(self.sinks):
                sink.send(frame)
                if sink.lagging_since is not None:
                    self.lagging.add(sink)
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


async def _quietly(awaitable: Any) -> None:
    try:
        await awaitable
    except Exception:  # closing a broken connection may fail again; nothing to do
        log.debug("realtime hub: error while closing a Redis connection", exc_info=True)


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


def hub_stats() -> dict[str, Any]:
    hubs = list(_hubs.values())
    if not hubs:
        return {"running": False}
    hub = hubs[0]
    return {
        "running": True,
        "sinks": len(hub.sinks),
        "topics": len(hub.subs),
        "games": len(hub.state),
        "last_seq": hub.last_all,
        "lagging": len(hub.lagging),
        "at": now_ms(),
        **hub.stats,
    }
