"""Cross-instance coalescing and invalidation, on three real daphne processes sharing one DB and Redis."""

from __future__ import annotations

import asyncio
import time

import httpx
import orjson

from core.redis import redis_sync
from readmodels.listing import builds_key, listing_invalidate
from tests.api.seed import price_write, seed
from tests.conftest import daphne_argv, free_port, wait_until

LISTING = "/api/games/frontend"


def start_instances(spawn, env: dict[str, str], count: int) -> list[str]:
    bases = []
    for _ in range(count):
        port = free_port()
        spawn(f"daphne-api-{port}", daphne_argv(port), env)
        bases.append(f"http://127.0.0.1:{port}")
    for base in bases:
        wait_until(lambda base=base: httpx.get(f"{base}/health", timeout=2).status_code == 200, 40)
    return bases


async def fire(urls: list[str]) -> list[httpx.Response]:
    limits = httpx.Limits(max_connections=len(urls), max_keepalive_connections=0)
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:
        return await asyncio.gather(*(client.get(url) for url in urls))


def builds() -> int:
    return int(redis_sync().get(builds_key()) or 0)


def home_probability(base: str) -> float:
    body = httpx.get(f"{base}{LISTING}?live=true", timeout=5).json()
    return body["games"][0]["homeTeam"]["probability"]


def test_cold_listing_is_built_once_for_200_requests_over_3_instances(service_env, spawn) -> None:
    seeded = seed()
    bases = start_instances(spawn, service_env, 3)
    assert builds() == 0

    responses = asyncio.run(fire([f"{bases[i % 3]}{LISTING}" for i in range(200)]))

    assert [r.status_code for r in responses] == [200] * 200
    assert len({r.content for r in responses}) == 1, "every instance served the one shared build"
    assert len({r.headers["etag"] for r in responses}) == 1
    assert len({r.headers["x-instance-id"] for r in responses}) == 3
    assert builds() == 1
    body = orjson.loads(responses[0].content)
    assert body["total"] == 4 and body["games"][0]["id"] == seeded.live.gamma_id

    # Warm: repeats are served from each process's copy (no new build), conditional requests get 304.
    again = asyncio.run(fire([f"{bases[i % 3]}{LISTING}" for i in range(60)]))
    assert {r.content for r in again} == {responses[0].content} and builds() == 1
    etag = responses[0].headers["etag"]
    for base in bases:
        not_modified = httpx.get(f"{base}{LISTING}", headers={"If-None-Match": etag}, timeout=5)
        assert not_modified.status_code == 304 and not_modified.content == b""
        zipped = httpx.get(f"{base}{LISTING}", headers={"Accept-Encoding": "gzip"}, timeout=5)
        assert zipped.headers["content-encoding"] == "gzip" and zipped.content == responses[0].content


def test_price_change_reaches_every_instance_within_2s(service_env, spawn) -> None:
    seeded = seed()
    bases = start_instances(spawn, service_env, 3)
    assert {home_probability(b) for b in bases} == {60}
    for base in bases:  # warm every process
        home_probability(base)
    before = builds()

    price_write(seeded.home_token, 0.72, 0.74, ts_ms=int(time.time() * 1000))
    price_write(seeded.away_token, 0.26, 0.28, ts_ms=int(time.time() * 1000))
    changed_at = time.monotonic()
    listing_invalidate()

    pending = set(bases)
    while pending and time.monotonic() - changed_at < 2.0:
        pending = {b for b in pending if home_probability(b) != 73}
        time.sleep(0.02)
    assert not pending, f"instances still serving the old price after 2 s: {pending}"
    # One invalidation, one new build cluster-wide (the other instances fetched its result).
    wait_until(lambda: builds() == before + 1, 2)
    assert builds() == before + 1
