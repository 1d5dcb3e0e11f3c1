"""The beat watchdog starts a stream task only when needed, and never piles them up."""

from __future__ import annotations

import asyncio
import time

from core.lease import lease_acquire, lease_renew
from core.redis import redis_async, redis_key, redis_sync
from jobs.stream import stream_run, stream_watchdog
from stream.holding import LeaseHolder, standby_key
from stream.watchdog import stream_queue_key, stream_task_started, stream_watchdog_tick


def _enqueue() -> None:
    stream_run.apply_async()


def test_enqueues_once_when_free_and_not_again_while_pending() -> None:
    client = redis_sync()
    assert stream_watchdog() == "enqueued"  # the real task: the real broker queue
    assert client.llen(stream_queue_key()) == 1
    assert stream_watchdog_tick(_enqueue) == "queued"
    client.delete(stream_queue_key())  # a worker took it but has not started it yet
    assert stream_watchdog_tick(_enqueue) == "pending"
    stream_task_started()  # it started (and e.g. found the lease taken and ended)
    assert stream_watchdog_tick(_enqueue) == "enqueued"
    assert client.llen(stream_queue_key()) == 1


def test_live_holder_gets_exactly_one_standby() -> None:
    lease = lease_acquire("stream", "holder", 3000)
    assert lease is not None and lease_renew(lease)
    # No stand-by waits for the lease yet: one is started, so a death never waits for beat's failover.
    assert stream_watchdog_tick(_enqueue) == "enqueued"
    redis_sync().delete(stream_queue_key())
    stream_task_started()
    redis_sync().set(standby_key(), "worker-b:42", ex=3)  # the stand-by advertises itself while waiting
    assert stream_watchdog_tick(_enqueue) == "held"
    # The holder stops renewing (frozen or killed): the stand-by is already there, nothing more to start...
    redis_sync().hset(redis_key("lease", "stream", "info"), "renewed_ms", int(time.time() * 1000) - 2500)
    assert stream_watchdog_tick(_enqueue) in {"enqueued", "held"}
    # ...and without a stand-by, one is started right away.
    redis_sync().delete(standby_key(), stream_queue_key())
    stream_task_started()
    assert stream_watchdog_tick(_enqueue) == "enqueued"


async def test_standby_waits_then_takes_the_lease_when_it_frees() -> None:
    standby = LeaseHolder("stream", "standby:1", 1.0)
    holder = lease_acquire("stream", "holder:0", 1000)
    assert holder is not None
    waiting = asyncio.create_task(standby.acquire(asyncio.Event()))
    await asyncio.sleep(0.6)
    assert not waiting.done() and await redis_async().get(standby_key()) == b"standby:1"
    assert await asyncio.wait_for(waiting, 5)  # the holder never renews: its key expires after 1 s
    assert standby.lease is not None and standby.lease.token > holder.token
    assert await redis_async().get(standby_key()) is None


async def test_standby_stops_when_asked() -> None:
    standby = LeaseHolder("stream", "standby:2", 10.0)
    assert lease_acquire("stream", "holder:0", 10_000) is not None
    stop = asyncio.Event()
    waiting = asyncio.create_task(standby.acquire(stop))
    await asyncio.sleep(0.3)
    stop.set()
    assert await asyncio.wait_for(waiting, 2) is False and standby.lease is None
