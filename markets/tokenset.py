"""The versioned set of CLOB tokens the stream worker must subscribe to.

The games pipeline writes it after every change to the set of live or upcoming games; the stream
worker polls the version (one GET) and diffs the set to subscribe/unsubscribe incrementally.
"""

from __future__ import annotations

from collections.abc import Iterable

from core.redis import redis_key, redis_sync

_SWAP = """
redis.call('DEL', KEYS[3])
for i = 1, #ARGV, 500 do
  redis.call('SADD', KEYS[3], unpack(ARGV, i, math.min(i + 499, #ARGV)))
end
if #ARGV > 0 then redis.call('RENAME', KEYS[3], KEYS[1]) else redis.call('DEL', KEYS[1]) end
return redis.call('INCR', KEYS[2])
"""


def token_set_publish(token_ids: Iterable[str]) -> int:
    """Replace the token set if it changed; return the (possibly new) version."""
    client = redis_sync()
    wanted = {str(t) for t in token_ids}
    current = {t.decode() for t in client.smembers(redis_key("tokens", "set"))}
    if wanted == current:
        return int(client.get(redis_key("tokens", "version")) or 0)
    keys = [redis_key("tokens", "set"), redis_key("tokens", "version"), redis_key("tokens", "staging")]
    return int(client.eval(_SWAP, 3, *keys, *sorted(wanted)))


def token_set_version() -> int:
    return int(redis_sync().get(redis_key("tokens", "version")) or 0)


def token_set_read() -> tuple[int, set[str]]:
    """The version and the set, read atomically."""
    pipe = redis_sync().pipeline(transaction=True)
    pipe.get(redis_key("tokens", "version"))
    pipe.smembers(redis_key("tokens", "set"))
    version, members = pipe.execute()
    return int(version or 0), {m.decode() for m in members}
