"""Redis clients and key naming shared by every process."""

from __future__ import annotations

import asyncio
import functools
import weakref

import redis
import redis.asyncio as aioredis
from django.conf import settings


def redis_key(*parts: object) -> str:
    """A key under this deployment's prefix, e.g. redis_key("lease", "stream")."""
    return ":".join([settings.REDIS_PREFIX, *(str(p) for p in parts)])


@functools.cache
def redis_sync() -> redis.Redis:
    return redis.Redis.from_url(
        settings.REDIS_URL, socket_timeout=5, socket_connect_timeout=5, health_check_interval=30
    )


_async_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, aioredis.Redis] = (
    weakref.WeakKeyDictionary()
)


def redis_async() -> aioredis.Redis:
    """One asyncio client per event loop (a client must not cross loops)."""
    loop = asyncio.get_running_loop()
    client = _async_clients.get(loop)
    if client is None:
        client = aioredis.Redis.from_url(
            settings.REDIS_URL, socket_timeout=5, socket_connect_timeout=5, health_check_interval=30
        )
        _async_clients[loop] = client
    return client
