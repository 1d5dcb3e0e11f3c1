"""The beat watchdog starts a stream task only when needed, and never piles them up."""

from __future__ import annotations

import time

from markets.stream.watchdog import stream_queue_key, stream_task_started, stream_watchdog_tick
from markets.tasks import stream_run, stream_watchdog
from mevu.redis import redis_key, redis_sync
from realtime.lease import lease_acquire, lease_renew


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


def test_live_holder_is_left_alone_but_a_silent_one_gets_a_standby() -> None:
    lease = lease_acquire("stream", "holder", 3000)
    assert lease is not None and lease_renew(lease)
    assert stream_watchdog_tick(_enqueue) == "held"
    # The holder stops renewing (frozen or killed): after two missed renewals a stand-by is started,
    # which takes over the moment the key expires.
    redis_sync().hset(redis_key("lease", "stream", "info"), "renewed_ms", int(time.time() * 1000) - 2500)
    assert stream_watchdog_tick(_enqueue) == "enqueued"
