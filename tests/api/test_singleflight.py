"""Singleflight failure modes, in process: a builder that never answers must not hang or stampede."""

from __future__ import annotations

import asyncio
import time

import orjson
import pytest
from asgiref.sync import sync_to_async
from django.db import connections

from core.redis import redis_async, redis_key
from readmodels import listing
from readmodels.listing import builds_key, listing_get, listing_invalidate_async, listing_params_parse, listing_shutdown
from tests.api.seed import price_write, seed

pytestmark = pytest.mark.django_db(transaction=True)


def seed_and_close():
    seeded = seed()
    connections.close_all()
    return seeded


async def hold_lock(params: listing.ListingParams) -> int:
    """Take the cluster lock for the current version as a builder that will never publish."""
    version = await listing._cluster().version_now()
    flight = listing._flight(params.key, version)
    await redis_async().set(redis_key("listing", "lock", flight), "hung-builder", px=60_000)
    return version


async def test_waiters_fall_back_to_a_local_render_then_to_their_stale_copy(monkeypatch) -> None:
    seeded = await sync_to_async(seed_and_close)()
    monkeypatch.setattr(listing, "WAIT_S", 0.4)
    params = listing_params_parse({"live": "true"})
    try:
        await hold_lock(params)
        first = await asyncio.gather(*(listing_get(params) for _ in range(20)))
        assert len({id(entry) for entry in first}) == 1, "one wait per process, shared by all callers"
        assert orjson.loads(first[0].body)["games"][0]["homeTeam"]["probability"] == 60
        assert await redis_async().get(builds_key()) is None  # rendered locally, nothing shared

        # The version moves (a new price) and the builder of the new version hangs too: the stale copy wins.
        await sync_to_async(price_write)(seeded.home_token, 0.89, 0.91)
        before = listing._cluster().version
        await listing_invalidate_async()
        deadline = time.monotonic() + 10
        while listing._cluster().version == before and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        version = await hold_lock(params)
        assert version != before
        stale = await listing_get(params)
        assert stale is first[0]

        # Once the lock is gone, the next caller builds the new version and shares it.
        await redis_async().delete(redis_key("listing", "lock", listing._flight(params.key, version)))
        fresh = await listing_get(params)
        assert orjson.loads(fresh.body)["games"][0]["homeTeam"]["probability"] == 90
        assert int(await redis_async().get(builds_key())) == 1
    finally:
        await listing_shutdown()


async def test_a_result_stored_just_before_the_lock_is_taken_is_used_not_rebuilt(monkeypatch) -> None:
    """Another process's builder stores its result and releases the lock between this process's read
    of the result and its taking the lock: the listing is still built once in the cluster."""
    await sync_to_async(seed_and_close)()
    params = listing_params_parse({"live": "true"})
    try:
        version = await listing._cluster().version_now()
        flight = listing._flight(params.key, version)
        other = listing.ListingBody.make(version, b'{"built":"by another process"}')
        read = listing._result_read

        async def read_then_other_builder_finishes(flight_read: str) -> listing.ListingBody | None:
            found = await read(flight_read)
            if found is None:  # the other builder: store, count the build, release (its lock is gone)
                meta = orjson.dumps({"version": version, "built_at": other.built_at, "etag": other.etag})
                await redis_async().hset(listing._result_key(flight), mapping={
                    "meta": meta, "body": other.body, "gz": other.gz})
                await redis_async().incr(builds_key())
            return found

        monkeypatch.setattr(listing, "_result_read", read_then_other_builder_finishes)
        entry = await listing_get(params)
        assert entry.body == other.body
        assert int(await redis_async().get(builds_key())) == 1
        assert await redis_async().get(redis_key("listing", "lock", flight)) is None  # our lock released
    finally:
        await listing_shutdown()
