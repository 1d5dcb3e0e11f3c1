"""Redis clients and key naming shared by every process.

REDIS_URL may name one server or a Sentinel group (core/redisurl.py); with Sentinel the clients below
ask the Sentinels for the current primary on every (re)connect, so a failover needs no restart.
"""

from __future__ import annotations

import asyncio
import functools
import weakref
from typing import Any

import redis
import redis.asyncio as aioredis
from django.conf import settings

CLIENT_OPTIONS: dict[str, Any] = {"socket_timeout": 5, "socket_connect_timeout": 5, "health_check_interval": 30}


def redis_key(*parts: object) -> str:
    """A key under this deployment's prefix, e.g. redis_key("lease", "stream")."""
    return ":".join([settings.REDIS_PREFIX, *(str(p) for p in parts)])


def redis_sync_new(**options: Any) -> redis.Redis:
    """A new sync client for REDIS_URL (plain or Sentinel); `options` override CLIENT_OPTIONS."""
    target = settings.REDIS_TARGET
    options = {**CLIENT_OPTIONS, **options}
    if not target.is_sentinel:
        return redis.Redis.from_url(settings.REDIS_URL, **options)
    from redis.sentinel import Sentinel

    sentinel = Sentinel(list(target.sentinels), sentinel_kwargs=target.sentinel_kwargs())
    return sentinel.master_for(target.master, **target.server_kwargs(), **options)


def redis_async_new(**options: Any) -> aioredis.Redis:
    """A new asyncio client (e.g. for a dedicated pub/sub connection); same URL forms as redis_sync_new."""
    target = settings.REDIS_TARGET
    options = {**CLIENT_OPTIONS, **options}
    if not target.is_sentinel:
        return aioredis.Redis.from_url(settings.REDIS_URL, **options)
    from redis.asyncio.sentinel import Sentinel

    sentinel = Sentinel(list(target.sentinels), sentinel_kwargs=target.sentinel_kwargs())
    return sentinel.master_for(target.master, **target.server_kwargs(), **options)


@functools.cache
def redis_sync() -> redis.Redis:
    return redis_sync_new()


_async_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, aioredis.Redis] = (
    weakref.WeakKeyDictionary()
)


def redis_async() -> aioredis.Redis:
    """One asyncio client per event loop (a client must not cross loops)."""
    loop = asyncio.get_running_loop()
    client = _async_clients.get(loop)
    if client is None:
        client = redis_async_new()
        _async_clients[loop] = client
    return client
