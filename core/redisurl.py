"""REDIS_URL: one plain Redis server, or a Redis Sentinel group, and what each Redis user needs from it.

Accepted forms (docs/OPERATIONS.md, "Failure modes"):

    redis://[[user]:password@]host:port/db            one server (also rediss://, unix://)
    redis+sentinel://[[user]:password@]s1:26379,s2:26379,s3:26379/<master name>[/db][?sentinel_password=...]

With Sentinel every client asks the Sentinels for the current primary on each (re)connect, so a
failover needs no restart. The user/password apply to the Redis servers; `sentinel_password` (optional)
to the Sentinels. This module is pure (no Django) so settings.py can use it.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

SENTINEL_SCHEME = "redis+sentinel"
_HOST = re.compile(r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.\-]+):([0-9]{1,5})$")
_MASTER = re.compile(r"^[A-Za-z0-9_.\-]{1,128}$")


@dataclasses.dataclass(frozen=True)
class RedisTarget:
    url: str
    sentinels: tuple[tuple[str, int], ...] = ()
    master: str = ""
    db: int = 0
    username: str | None = None
    password: str | None = None
    sentinel_password: str | None = None

    @property
    def is_sentinel(self) -> bool:
        return bool(self.sentinels)

    def server_kwargs(self) -> dict[str, Any]:
        """Connection arguments for the primary (db and credentials)."""
        kwargs: dict[str, Any] = {"db": self.db}
        if self.username:
            kwargs["username"] = self.username
        if self.password:
            kwargs["password"] = self.password
        return kwargs

    def sentinel_kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"socket_timeout": 2, "socket_connect_timeout": 2}
        if self.sentinel_password:
            kwargs["password"] = self.sentinel_password
        return kwargs


def redis_url_parse(url: str) -> RedisTarget:
    """Parse REDIS_URL strictly; ValueError names what is wrong."""
    parts = urlsplit(url)
    if parts.scheme != SENTINEL_SCHEME:
        if parts.scheme not in ("redis", "rediss", "unix"):
            raise ValueError("scheme must be redis, rediss, unix or redis+sentinel")
        return RedisTarget(url=url)
    userinfo, _, hostlist = parts.netloc.rpartition("@")
    username = password = None
    if userinfo:
        user, _, pw = userinfo.partition(":")
        username, password = unquote(user) or None, unquote(pw) or None
    sentinels: list[tuple[str, int]] = []
    for item in hostlist.split(","):
        match = _HOST.match(item.strip())
        if not match or not 0 < int(match.group(2)) < 65536:
            raise ValueError(f"sentinel address {item!r} must be host:port")
        sentinels.append((match.group(1).strip("[]"), int(match.group(2))))
    path = [p for p in parts.path.split("/") if p]
    if not path or len(path) > 2 or not _MASTER.match(path[0]):
        raise ValueError("path must be /<master name>[/<db>]")
    if len(path) == 2 and not (path[1].isdigit() and int(path[1]) < 10000):
        raise ValueError("db must be a non-negative integer")
    query = parse_qs(parts.query, keep_blank_values=True)
    unknown = set(query) - {"sentinel_password"}
    if unknown:
        raise ValueError(f"unknown option(s) {sorted(unknown)}; only sentinel_password is accepted")
    return RedisTarget(
        url=url,
        sentinels=tuple(sentinels),
        master=path[0],
        db=int(path[1]) if len(path) == 2 else 0,
        username=username,
        password=password,
        sentinel_password=(query.get("sentinel_password") or [None])[0] or None,
    )


# --- What each Redis user is configured with --------------------------------------------------------


def celery_url(target: RedisTarget) -> str:
    """Broker and result-backend URL: kombu/celery's `sentinel://a;sentinel://b/db` form."""
    if not target.is_sentinel:
        return target.url
    auth = ""
    if target.password:
        auth = f"{target.username or ''}:{target.password}@"
    return ";".join(f"sentinel://{auth}{host}:{port}/{target.db}" for host, port in target.sentinels)


def celery_sentinel_options(target: RedisTarget) -> dict[str, Any]:
    """Transport options for broker and result backend (merged into the prefix options)."""
    if not target.is_sentinel:
        return {}
    options: dict[str, Any] = {"master_name": target.master}
    if target.sentinel_password:
        options["sentinel_kwargs"] = {"password": target.sentinel_password}
    return options


def channel_layer_host(target: RedisTarget) -> Any:
    """One entry of channels-redis' `hosts`: a URL, or its sentinel dict form."""
    if not target.is_sentinel:
        return target.url
    host: dict[str, Any] = {"sentinels": list(target.sentinels), "master_name": target.master}
    host.update(target.server_kwargs())
    if target.sentinel_password:
        host["sentinel_kwargs"] = {"password": target.sentinel_password}
    return host


def redbeat_settings(target: RedisTarget) -> tuple[str, dict[str, Any]]:
    """(redbeat_redis_url, redbeat_redis_options)."""
    if not target.is_sentinel:
        return target.url, {}
    options: dict[str, Any] = {
        "sentinels": list(target.sentinels),
        "service_name": target.master,
        "db": target.db,
        "socket_timeout": 5,
    }
    if target.password:
        options["password"] = target.password
    if target.username:
        options["username"] = target.username
    if target.sentinel_password:
        options["sentinel_kwargs"] = {"password": target.sentinel_password}
    return "redis-sentinel://" + target.master, options


class SentinelCachePool:
    """`pool_class` for Django's RedisCache: `from_url` builds a Sentinel-managed pool for the primary."""

    @classmethod
    def from_url(cls, url: str, **options: Any) -> Any:
        from redis.sentinel import Sentinel, SentinelConnectionPool

        target = redis_url_parse(url)
        sentinel = Sentinel(list(target.sentinels), sentinel_kwargs=target.sentinel_kwargs())
        options = {k: v for k, v in options.items() if v is not None}
        return SentinelConnectionPool(target.master, sentinel, **target.server_kwargs(), **options)
