"""The versioned set of CLOB tokens the stream worker must subscribe to.

The games pipeline writes it after every change to the set of live or upcoming games; the stream
worker polls the version (one GET) and diffs the set to subscribe/unsubscribe incrementally.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from core.redis import redis_key, redis_sync

# ARGV[1] describes the new set ("<size>:<digest>", kept beside it), the rest are its members.
_SWAP = """
redis.call('DEL', KEYS[3])
for i = 2, #ARGV, 500 do
  redis.call('SADD', KEYS[3], unpack(ARGV, i, math.min(i + 499, #ARGV)))
end
if #ARGV > 1 then redis.call('RENAME', KEYS[3], KEYS[1]) else redis.call('DEL', KEYS[1]) end
redis.call('SET', KEYS[4], ARGV[1])
return redis.call('INCR', KEYS[2])
"""


def _keys() -> list[str]:
    return [redis_key("tokens", "set"), redis_key("tokens", "version"), redis_key("tokens", "staging"),
            redis_key("tokens", "summary")]


def _published() -> tuple[int, str | None, int]:
    """(version, summary of the last published set, size of the set now), in one round trip."""
    keys = _keys()
    pipe = redis_sync().pipeline(transaction=True)
    pipe.get(keys[1])
    pipe.get(keys[3])
    pipe.scard(keys[0])
    version, summary, size = pipe.execute()
    return int(version or 0), summary.decode() if summary is not None else None, size


def token_set_publish(token_ids: Iterable[str]) -> int:
    """Replace the token set if it changed; return the (possibly new) version. An unchanged set costs one
    round trip: its size and digest are compared, not its ~12k members."""
    wanted = sorted({str(t) for t in token_ids})
    summary = f"{len(wanted)}:{hashlib.sha256(chr(10).join(wanted).encode()).hexdigest()}"
    version, published, size = _published()
    if published == summary and size == len(wanted):
        return version
    return int(redis_sync().eval(_SWAP, 4, *_keys(), summary, *wanted))


def token_set_version(*, present: bool = False) -> int:
    """The published version; with `present`, 0 unless the set is also still there as published (not
    emptied or lost since)."""
    if not present:
        return int(redis_sync().get(redis_key("tokens", "version")) or 0)
    version, published, size = _published()
    return version if published is not None and int(published.split(":")[0]) == size else 0


def token_set_read() -> tuple[int, set[str]]:
    """The version and the set, read atomically."""
    pipe = redis_sync().pipeline(transaction=True)
    pipe.get(redis_key("tokens", "version"))
    pipe.smembers(redis_key("tokens", "set"))
    version, members = pipe.execute()
    return int(version or 0), {m.decode() for m in members}
