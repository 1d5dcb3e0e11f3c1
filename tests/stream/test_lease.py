"""The Redis lease with fencing tokens, and fenced writes to Redis, PostgreSQL and the publish function."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection

from actions.prices import do_persist_stream_prices
from core.lease import (
    StaleFenceError,
    fenced_hset,
    lease_acquire,
    lease_release,
    lease_renew,
    lease_status,
)
from core.publish import game_events_publish, history_key
from core.redis import redis_sync
from markets.fences import fence_pg_advance
from markets.models import Outcome, StreamFence
from markets.prices import prices_key, prices_read
from tests.stream.factories import game_with_moneyline

PRICE = {"bid": 0.4, "ask": 0.5, "mid": 0.45, "last": 0.44, "ts": 1_700_000_000_000}


def test_only_one_of_many_concurrent_acquirers_wins() -> None:
    results: list[object] = []
    barrier = threading.Barrier(8)

    def attempt(i: int) -> None:
        barrier.wait()
        results.append(lease_acquire("race", f"p{i}", 5000))

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    winners = [r for r in results if r is not None]
    assert len(winners) == 1
    status = lease_status("race")
    assert status["held"] and status["holder"] == winners[0].holder and status["token"] == winners[0].token


def test_tokens_increase_and_only_the_holder_renews_or_releases() -> None:
    first = lease_acquire("l", "a", 300)
    assert first is not None and lease_acquire("l", "b", 300) is None
    assert lease_renew(first)
    assert lease_status("l")["renewals"] == 1
    time.sleep(0.4)  # expired: someone else takes it with a higher token
    second = lease_acquire("l", "b", 5000)
    assert second is not None and second.token > first.token
    assert not lease_renew(first)
    assert not lease_release(first)
    assert lease_status("l")["holder"] == "b"
    assert lease_release(second)
    status = lease_status("l")
    assert not status["held"] and status["fence"] == second.token  # the fence never goes back


def test_stale_token_is_rejected_by_redis_publish_and_postgres(transactional_db: None) -> None:
    game, tokens = game_with_moneyline(1)
    old = lease_acquire("stream", "old", 200)
    assert old is not None
    fence_pg_advance(old.fence)
    fenced_hset(old.fence, prices_key(), {tokens[0]: b'{"bid":0.1,"ask":0.2,"mid":0.15,"last":null,"ts":1}'})
    time.sleep(0.3)
    new = lease_acquire("stream", "new", 5000)
    assert new is not None
    fence_pg_advance(new.fence)

    with pytest.raises(StaleFenceError):
        fenced_hset(old.fence, prices_key(), {tokens[0]: b'{"bid":0.9,"ask":0.95,"mid":0.925,"last":null,"ts":2}'})
    assert prices_read([tokens[0]])[tokens[0]]["bid"] == 0.1

    event = {"type": "price_update", "game": {"id": game.gamma_id, "slug": game.slug, "sport": "nba"}}
    with pytest.raises(StaleFenceError):
        game_events_publish([event], fence=old.fence)
    assert redis_sync().xlen(history_key("all")) == 0
    game_events_publish([event], fence=new.fence)
    assert redis_sync().xlen(history_key("all")) == 1

    with pytest.raises(StaleFenceError):
        do_persist_stream_prices(old.fence, {tokens[0]: PRICE}, set(), [], {})
    assert Outcome.objects.get(token_id=tokens[0]).best_bid is None
    do_persist_stream_prices(new.fence, {tokens[0]: PRICE}, set(), [], {})
    assert float(Outcome.objects.get(token_id=tokens[0]).best_bid) == 0.4


def test_postgres_fence_orders_a_new_holder_after_an_inflight_stale_write(transactional_db: None) -> None:
    """The old holder's open transaction holds the fence row; the new holder's registration waits for it,
    and after that the old holder can no longer commit anything."""
    from django.db import connections, transaction

    _, tokens = game_with_moneyline(2)
    fence_pg_advance(("stream", 5))
    registered = threading.Event()

    def new_holder() -> None:
        fence_pg_advance(("stream", 6))
        registered.set()
        connections.close_all()

    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT token FROM markets_streamfence WHERE name = 'stream' FOR UPDATE")
        thread = threading.Thread(target=new_holder)
        thread.start()
        time.sleep(0.3)
        assert not registered.is_set()  # blocked behind our (the old holder's) transaction
    thread.join(5)
    assert registered.is_set()
    assert StreamFence.objects.get(name="stream").token == 6
    with pytest.raises(StaleFenceError):
        do_persist_stream_prices(("stream", 5), {tokens[0]: PRICE}, set(), [], {})
    with pytest.raises(StaleFenceError):
        fence_pg_advance(("stream", 5))  # a token can never go back either


async def test_fence_counter_lost_by_redis_is_raised_above_postgres(transactional_db: None) -> None:
    """Redis restarted without its data: the counter starts again at 1 while PostgreSQL saw 50. The holder
    must not be locked out of PostgreSQL forever: it moves the counter past 50 and takes a fresh token."""
    from asgiref.sync import sync_to_async
    from django.db import connections

    from core.lease import lease_acquire_async
    from stream.program import StreamProgram, stream_config_from_settings

    await sync_to_async(fence_pg_advance)(("stream", 50))
    program = StreamProgram(stream_config_from_settings(holder="t"))
    program.holder.lease = await lease_acquire_async("stream", "t", 5000)
    assert program.holder.lease is not None and program.holder.lease.token == 1
    await program.holder.fence_register(program.db)
    assert program.holder.lease.token == 51
    assert (await sync_to_async(StreamFence.objects.get)(name="stream")).token == 51
    status = lease_status("stream")
    assert status["holder"] == "t" and status["token"] == 51
    await program.db.close()
    await sync_to_async(connections.close_all)()
