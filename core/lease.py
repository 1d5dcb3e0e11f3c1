"""A Redis lease with fencing tokens: exactly one holder of a role (e.g. the upstream sockets) at a time.

Keys (all under the deployment prefix):
  lease:<name>          holder key, value "<holder>|<token>", SET NX PX with a short TTL, renewed every TTL/3
  lease:<name>:fence    the CURRENT fencing token (decimal string); INCR on each acquisition, never decreases
  lease:<name>:info     hash with holder, token, acquired_ms, renewed_ms, renewals (for status pages)

A write made on behalf of the holder is valid only while `lease:<name>:fence` still equals the writer's
token; every fenced write checks that atomically (Lua) and raises StaleFenceError otherwise. A holder
that was paused past its TTL (GC, SIGSTOP, network partition) is therefore rejected, not merely warned.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from core import metrics
from core.errors import StaleFenceError  # one class shared with core.publish
from core.redis import redis_async, redis_key, redis_sync

Fence = tuple[str, int]
__all__ = ["Fence", "Lease", "StaleFenceError", "lease_acquire", "lease_release", "lease_renew", "lease_status"]


@dataclass(frozen=True)
class Lease:
    name: str
    holder: str
    token: int
    ttl_ms: int

    @property
    def fence(self) -> Fence:
        return (self.name, self.token)

    @property
    def value(self) -> str:
        return f"{self.holder}|{self.token}"


def _keys(name: str) -> list[str]:
    return [redis_key("lease", name), redis_key("lease", name, "fence"), redis_key("lease", name, "info")]


def fence_key(name: str) -> str:
    return redis_key("lease", name, "fence")


# KEYS: holder, fence, info. ARGV: holder, ttl_ms, now_ms. Returns the new token, or 0 when held.
_ACQUIRE = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local token = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], ARGV[1] .. '|' .. token, 'PX', ARGV[2])
redis.call('DEL', KEYS[3])
redis.call('HSET', KEYS[3], 'holder', ARGV[1], 'token', token, 'acquired_ms', ARGV[3],
           'renewed_ms', ARGV[3], 'renewals', 0, 'ttl_ms', ARGV[2])
return token
"""

# ARGV: value, token, ttl_ms, now_ms. Renew only while still the holder AND the token is current.
_RENEW = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] or redis.call('GET', KEYS[2]) ~= ARGV[2] then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[3])
redis.call('HINCRBY', KEYS[3], 'renewals', 1)
redis.call('HSET', KEYS[3], 'renewed_ms', ARGV[4])
return 1
"""

_RELEASE = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[3], 'released_ms', ARGV[2])
return 1
"""

# KEYS[1] fence key, KEYS[2] target hash. ARGV[1] token, then field/value pairs.
_FENCED_HSET = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return redis.error_reply('STALE_FENCE') end
local n = 0
for i = 2, #ARGV, 400 do
  n = n + redis.call('HSET', KEYS[2], unpack(ARGV, i, math.min(i + 399, #ARGV)))
end
return n
"""

# KEYS[1] fence key, KEYS[2] target key. ARGV: token, value, ttl_ms (0 = none).
_FENCED_SET = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return redis.error_reply('STALE_FENCE') end
if tonumber(ARGV[3]) > 0 then redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])
else redis.call('SET', KEYS[2], ARGV[2]) end
return 1
"""


# KEYS[1] fence key. ARGV[1] floor. The counter only ever moves up.
_FENCE_FLOOR = """
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if current < tonumber(ARGV[1]) then redis.call('SET', KEYS[1], ARGV[1]) return tonumber(ARGV[1]) end
return current
"""


def _now_ms() -> int:
    return int(time.time() * 1000)


def _is_stale(exc: Exception) -> bool:
    return "STALE_FENCE" in str(exc)


def lease_acquire(name: str, holder: str, ttl_ms: int) -> Lease | None:
    token = int(redis_sync().eval(_ACQUIRE, 3, *_keys(name), holder, ttl_ms, _now_ms()))
    return Lease(name, holder, token, ttl_ms) if token else None


async def lease_acquire_async(name: str, holder: str, ttl_ms: int) -> Lease | None:
    token = int(await redis_async().eval(_ACQUIRE, 3, *_keys(name), holder, ttl_ms, _now_ms()))
    return Lease(name, holder, token, ttl_ms) if token else None


def lease_renew(lease: Lease) -> bool:
    args = (lease.value, lease.token, lease.ttl_ms, _now_ms())
    return bool(redis_sync().eval(_RENEW, 3, *_keys(lease.name), *args))


def lease_release(lease: Lease) -> bool:
    """Delete the holder key only if we still hold it; the fence counter is never touched."""
    return bool(redis_sync().eval(_RELEASE, 3, *_keys(lease.name), lease.value, _now_ms()))


async def lease_release_async(lease: Lease) -> bool:
    return bool(await redis_async().eval(_RELEASE, 3, *_keys(lease.name), lease.value, _now_ms()))


async def fence_floor_raise_async(name: str, floor: int) -> int:
    """Move the fence counter up to `floor` (never down): after Redis lost its data, the next token must
    still be above every token another store (PostgreSQL) has already seen."""
    return int(await redis_async().eval(_FENCE_FLOOR, 1, fence_key(name), floor))


def _flatten(mapping: Mapping[str, bytes | str]) -> list[Any]:
    args: list[Any] = []
    for field, value in mapping.items():
        args.append(field)
        args.append(value)
    return args


def fenced_hset(fence: Fence, key: str, mapping: Mapping[str, bytes | str]) -> int:
    """HSET fields of `key` atomically with the fence check (StaleFenceError when stale)."""
    if not mapping:
        return 0
    try:
        return int(redis_sync().eval(_FENCED_HSET, 2, fence_key(fence[0]), key, fence[1], *_flatten(mapping)))
    except Exception as exc:
        if _is_stale(exc):
            metrics.STALE_FENCE_REJECTIONS.labels(fence[0]).inc()
            raise StaleFenceError(f"lease {fence[0]!r}: token {fence[1]} rejected") from exc
        raise


async def fenced_hset_async(fence: Fence, key: str, mapping: Mapping[str, bytes | str]) -> int:
    if not mapping:
        return 0
    args = _flatten(mapping)
    try:
        return int(await redis_async().eval(_FENCED_HSET, 2, fence_key(fence[0]), key, fence[1], *args))
    except Exception as exc:
        if _is_stale(exc):
            metrics.STALE_FENCE_REJECTIONS.labels(fence[0]).inc()
            raise StaleFenceError(f"lease {fence[0]!r}: token {fence[1]} rejected") from exc
        raise


async def fenced_set_async(fence: Fence, key: str, value: bytes | str, ttl_ms: int = 0) -> None:
    try:
        await redis_async().eval(_FENCED_SET, 2, fence_key(fence[0]), key, fence[1], value, ttl_ms)
    except Exception as exc:
        if _is_stale(exc):
            metrics.STALE_FENCE_REJECTIONS.labels(fence[0]).inc()
            raise StaleFenceError(f"lease {fence[0]!r}: token {fence[1]} rejected") from exc
        raise


def lease_status(name: str) -> dict[str, Any]:
    """Holder, token, age and renewals of a lease, for /api/games/status and the admin."""
    client = redis_sync()
    pipe = client.pipeline(transaction=True)
    holder_key, fence, info = _keys(name)
    pipe.get(holder_key)
    pipe.pttl(holder_key)
    pipe.get(fence)
    pipe.hgetall(info)
    value, pttl, fence_value, raw_info = pipe.execute()
    details = {k.decode(): v.decode() for k, v in raw_info.items()}
    now = _now_ms()
    held = value is not None
    holder, _, token = value.decode().rpartition("|") if held else ("", "", "")
    acquired_ms = int(details.get("acquired_ms", 0) or 0)
    renewed_ms = int(details.get("renewed_ms", 0) or 0)
    return {
        "name": name,
        "held": held,
        "holder": holder or None,
        "token": int(token) if token else None,
        "fence": int(fence_value or 0),
        "ttl_ms": int(details.get("ttl_ms", 0) or 0) or None,
        "expires_in_ms": int(pttl) if held and pttl >= 0 else None,
        "age_s": round((now - acquired_ms) / 1000, 3) if held and acquired_ms else None,
        "since_renewal_s": round((now - renewed_ms) / 1000, 3) if held and renewed_ms else None,
        "renewals": int(details.get("renewals", 0) or 0) if held else 0,
        "last_holder": details.get("holder") or None,
        "last_token": int(details["token"]) if details.get("token") else None,
    }
