"""Event intake: this process's ONE subscription to the fan-out channel, read in `all` sequence order.

A jump in the sequence (a lost pub/sub message, a Redis reconnect) is filled from history; when history no
longer covers it, or the numbering's epoch changed (Redis lost its data), the receiver reloads its state and
resyncs every client. Whatever happens, events reach the receiver once each, in order."""

from __future__ import annotations

import asyncio
import logging
import os
import time
from typing import Any, Protocol

import orjson
import redis.asyncio as aioredis
import tenacity
from django.conf import settings

from core.publish import fanout_channel
from core.redis import redis_async_new
from delivery.frames import event_topics
from delivery.gamestate import GameState
from delivery.history import all_events_read, feed_position_read

log = logging.getLogger("delivery.hub")
PUBSUB_IDLE_PING_S = 10


class Receiver(Protocol):
    state: GameState
    ready: asyncio.Event

    async def reload(self) -> None: ...

    def resync_all(self, reason: str) -> None: ...

    def event_apply(self, topics: dict[str, int], body: dict[str, Any], ts: int) -> None: ...

    def events_applied(self) -> None: ...


def _log_retry(state: tenacity.RetryCallState) -> None:
    failure = state.outcome.exception() if state.outcome else None
    log.warning("realtime hub: fan-out subscription failed (%r); retrying in %.1fs", failure, state.upcoming_sleep)


async def _quietly(awaitable: Any) -> None:
    try:
        await awaitable
    except Exception:  # closing a broken connection may fail again; nothing to do
        log.debug("realtime hub: error while closing a Redis connection", exc_info=True)


class Intake:
    def __init__(self, receiver: Receiver) -> None:
        self.receiver = receiver
        self.state = receiver.state

    async def run(self) -> None:
        """Subscribe, load or catch up, then listen; again after any failure. The back-off (tenacity) grows while
        connecting keeps failing and starts over after every session that got going."""
        while True:
            async for attempt in tenacity.AsyncRetrying(
                wait=tenacity.wait_exponential(multiplier=0.2, max=5.0),
                retry=tenacity.retry_if_exception_type(Exception),
                before_sleep=_log_retry,
            ):
                with attempt:
                    await self._session()

    async def _session(self) -> None:
        client = redis_async_new(  # plain or Sentinel REDIS_URL (follows a failover on reconnect)
            socket_timeout=None, health_check_interval=0, socket_keepalive=True,
            client_name=f"{settings.REDIS_PREFIX}:rt-hub:{os.getpid()}",
        )
        pubsub = client.pubsub(ignore_subscribe_messages=True)
        try:
            await pubsub.subscribe(fanout_channel())
            if not self.receiver.ready.is_set():
                await self.receiver.reload()
                self.receiver.ready.set()
            else:
                await self._reconnected(*await feed_position_read())
            try:
                await self._listen(pubsub)
            except (aioredis.ConnectionError, aioredis.TimeoutError, TimeoutError) as exc:
                log.warning("realtime hub: fan-out connection lost (%s); reconnecting", exc)
        finally:
            await _quietly(pubsub.aclose())
            await _quietly(client.aclose())

    async def _reconnected(self, epoch: int, seqs: dict[str, int]) -> None:
        """Back on the fan-out channel: catch up, or, if the numbering changed (Redis restarted empty or failed
        over before replicating, whether or not the new sequence has passed ours), reload and resync everyone."""
        current = seqs.get("all", 0)
        if (self.state.epoch and epoch != self.state.epoch) or current < self.state.last_all:
            await self._reset(f"epoch {self.state.epoch} -> {epoch}, all seq {self.state.last_all} -> {current}")
            return
        self.state.epoch = epoch
        await self._catch_up(current)

    async def _reset(self, what: str) -> None:
        log.warning("realtime hub: sequence reset (%s); reloading and resyncing", what)
        await self.receiver.reload()
        self.receiver.resync_all("sequence_reset")

    async def _listen(self, pubsub: Any) -> None:
        """Read the fan-out channel; PING when idle so a dead connection is noticed (then: reconnect, catch up)."""
        idle_since = time.monotonic()
        while True:
            message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
            if message is None:
                if time.monotonic() - idle_since > PUBSUB_IDLE_PING_S:
                    async with asyncio.timeout(5):
                        await pubsub.ping()
                    idle_since = time.monotonic()
                continue
            idle_since = time.monotonic()
            if message.get("type") == "message":
                await self.message_apply(message["data"])

    async def message_apply(self, data: bytes) -> None:
        try:
            message = orjson.loads(data)
            items = message["events"]
            ts, epoch = int(message["ts"]), int(message["ep"])
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            log.warning("realtime hub: ignoring a malformed fan-out message")
            return
        if epoch != self.state.epoch:
            if self.state.epoch:  # Redis lost its data: these numbers are not a continuation of ours
                await self._reset(f"epoch {self.state.epoch} -> {epoch}")
                return
            self.state.epoch = epoch  # the first publish ever, or the first since this process loaded
        for item in items:
            a = int(item["a"])
            if a <= self.state.last_all:
                continue
            if a > self.state.last_all + 1:
                await self._catch_up(a - 1)
                if a <= self.state.last_all:
                    continue  # the catch-up reloaded state past this event
            body = item["e"]
            topics = dict(zip(event_topics(body.get("game") or {}), (a, int(item["s"]), int(item["g"])), strict=True))
            self.receiver.event_apply(topics, body, ts)
        self.receiver.events_applied()

    async def _catch_up(self, upto: int) -> None:
        """Apply events last_all+1..upto from history; reload and resync everyone if they are gone."""
        if upto <= self.state.last_all:
            return
        events = await all_events_read(self.state.last_all + 1, upto)
        if events is None:
            log.warning("realtime hub: missed events %d..%d beyond history; resyncing", self.state.last_all + 1, upto)
            await self.receiver.reload()
            self.receiver.resync_all("history_exceeded")
            return
        for event in events:
            self.receiver.event_apply(event.topic_seqs, event.body, event.ts)
