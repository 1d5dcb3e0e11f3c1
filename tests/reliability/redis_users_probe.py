"""Exercise EVERY Redis user of the application through REDIS_URL, as configured by settings.

Run as a child process with the REDIS_URL under test: `python -m tests.reliability.redis_users_probe`.
Prints one JSON line {user: "ok" | error text, "primary_port": port the clients resolved}.
"""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
from collections.abc import Callable
from typing import Any

import django
import orjson

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mevu.settings")
django.setup()

from django.conf import settings  # noqa: E402

MARK = uuid.uuid4().hex


def cache_roundtrip() -> None:
    from django.core.cache import cache

    cache.set(f"probe:{MARK}", MARK, 30)
    assert cache.get(f"probe:{MARK}") == MARK


def channel_layer_roundtrip() -> None:
    from channels.layers import get_channel_layer

    async def run() -> None:
        layer = get_channel_layer()
        channel = await layer.new_channel()
        await layer.send(channel, {"type": "probe", "mark": MARK})
        message = await asyncio.wait_for(layer.receive(channel), 5)
        assert message["mark"] == MARK
        await layer.flush()

    asyncio.run(run())


def broker_roundtrip() -> None:
    from mevu.celery import app

    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=2)
        queue = conn.SimpleQueue(f"{settings.REDIS_PREFIX}-probe-{MARK}")
        queue.put({"mark": MARK})
        message = queue.get(timeout=5)
        assert message.payload["mark"] == MARK
        message.ack()
        queue.close()


def result_backend_roundtrip() -> None:
    from mevu.celery import app

    task_id = f"probe-{MARK}"
    app.backend.store_result(task_id, {"mark": MARK}, "SUCCESS")
    assert app.backend.get_task_meta(task_id)["result"]["mark"] == MARK


def redbeat_roundtrip() -> None:
    from redbeat.schedulers import get_redis

    from mevu.celery import app

    client = get_redis(app)
    key = f"{app.conf.redbeat_key_prefix}:probe:{MARK}"
    client.set(key, MARK, ex=30)
    assert client.get(key) == MARK


def lease_and_prices() -> None:
    from core.lease import fenced_hset, lease_acquire, lease_release
    from core.redis import redis_sync
    from markets.prices import prices_key

    lease = lease_acquire(f"probe-{MARK}", "probe", 5000)
    assert lease is not None
    fenced_hset(lease.fence, prices_key(), {f"probe-{MARK}": b'{"bid":0.5}'})
    assert redis_sync().hget(prices_key(), f"probe-{MARK}") == b'{"bid":0.5}'
    assert lease_release(lease)


def publish_history() -> None:
    from core.publish import game_events_publish, history_key
    from core.redis import redis_sync

    before = redis_sync().xlen(history_key(f"game:{MARK}"))
    game: Any = {"id": MARK, "slug": f"probe-{MARK}", "sport": "nba"}
    game_events_publish([{"type": "game_update", "game": game}])
    assert redis_sync().xlen(history_key(f"game:{MARK}")) == before + 1


def async_client() -> None:
    from core.redis import redis_async

    async def run() -> None:
        client = redis_async()
        await client.set(f"{settings.REDIS_PREFIX}:probe:async:{MARK}", MARK, ex=30)
        assert await client.get(f"{settings.REDIS_PREFIX}:probe:async:{MARK}") == MARK.encode()
        await client.aclose()

    asyncio.run(run())


USERS: dict[str, Callable[[], None]] = {
    "cache": cache_roundtrip,
    "channel_layer": channel_layer_roundtrip,
    "celery_broker": broker_roundtrip,
    "celery_results": result_backend_roundtrip,
    "redbeat": redbeat_roundtrip,
    "lease_prices": lease_and_prices,
    "publish_history": publish_history,
    "redis_async": async_client,
}


def main() -> int:
    from core.redis import redis_sync

    report: dict[str, Any] = {}
    for name, check in USERS.items():
        try:
            check()
            report[name] = "ok"
        except Exception as exc:
            report[name] = f"{type(exc).__name__}: {exc}"[:300]
    report["primary_port"] = int(redis_sync().connection_pool.connection_kwargs.get("port") or 0)
    pool = redis_sync().connection_pool
    if hasattr(pool, "get_master_address"):
        report["primary_port"] = int(pool.get_master_address()[1])
    sys.stdout.write(orjson.dumps(report).decode() + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
