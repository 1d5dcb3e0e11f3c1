"""The ONE entry point that publishes realtime game events (every producer calls it).

One atomic Redis script per call: check the writer's fence, stamp per-topic sequence numbers and the
Redis time, append each event to the short per-topic history (Redis Streams, trimmed by age and
length) and PUBLISH one message on the fan-out channel. Because the stamping and the PUBLISH happen
in the same script, every subscriber sees events in sequence order, whoever published them.

Topics (see docs/ARCHITECTURE.md, "Realtime delivery"): every event belongs to three topics, each
with its own sequence: `all`, `sport:<code>` and `game:<gamma event id>`. The event body is stored
once, in the `all` stream; the sport/game streams store a reference (the `all` sequence).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, Literal, NotRequired, TypedDict

import orjson
from django.conf import settings

from core import metrics
from core.errors import StaleFenceError
from core.lease import Fence, fence_key
from core.redis import redis_async, redis_key, redis_sync

EventType = Literal["price_update", "game_update", "game_added", "game_removed"]
EVENT_TYPES: frozenset[str] = frozenset({"price_update", "game_update", "game_added", "game_removed"})
# Events per script call: bounds how long one call holds Redis.
CHUNK = 200
_TOPIC_PART = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")


class OutcomePrice(TypedDict):
    token_id: str
    market_id: str  # condition id
    bid: float | None
    ask: float | None
    mid: float | None
    last: float | None


class GameEvent(TypedDict, total=False):
    type: EventType  # required
    game: dict[str, Any]  # required: a FrontendGame, with at least "id", "slug", "sport"
    outcomes: NotRequired[list[OutcomePrice]]


# ARGV: prefix, fence key ("" = unfenced), fence token, history ms, history max entries, channel,
# then per event: sport, game id, event json.
_PUBLISH_LUA = r"""
local prefix = ARGV[1]
if ARGV[2] ~= '' then
  local current = redis.call('GET', ARGV[2])
  if current ~= ARGV[3] then
    return {-1, current or ''}
  end
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
-- The numbering's epoch: born with the sequence hash, so a Redis that lost its data starts a new one.
local seqs = prefix .. ':rt:seqs'
local epoch = redis.call('HGET', seqs, 'epoch')
if not epoch then
  epoch = t[1] .. string.format('%06d', tonumber(t[2]))
  redis.call('HSET', seqs, 'epoch', epoch)
end
local hist_ms = tonumber(ARGV[4])
local hist_max = ARGV[5]
local cutoff = now - hist_ms

local function trim_old(key)
  -- Age trimming, amortised: look at the 8 oldest entries on every append.
  local oldest = redis.call('XRANGE', key, '-', '+', 'COUNT', 8)
  local keep_from = nil
  for _, entry in ipairs(oldest) do
    local fields = entry[2]
    local ts = nil
    for j = 1, #fields, 2 do
      if fields[j] == 't' then ts = tonumber(fields[j + 1]) end
    end
    if ts ~= nil and ts < cutoff then
      keep_from = tonumber(string.match(entry[1], '^(%d+)')) + 1
    else
      break
    end
  end
  if keep_from ~= nil then
    redis.call('XTRIM', key, 'MINID', keep_from .. '-0')
  end
end

local function append(topic)
  return redis.call('HINCRBY', seqs, topic, 1)
end

local parts = {}
local out = {1, now}
local n = (#ARGV - 6) / 3
for i = 0, n - 1 do
  local sport = ARGV[7 + 3 * i]
  local gid = ARGV[8 + 3 * i]
  local body = ARGV[9 + 3 * i]
  local a = append('all')
  local s = append('sport:' .. sport)
  local g = append('game:' .. gid)
  local ka = prefix .. ':rt:h:all'
  local ks = prefix .. ':rt:h:sport:' .. sport
  local kg = prefix .. ':rt:h:game:' .. gid
  redis.call('XADD', ka, 'MAXLEN', hist_max, a .. '-0', 't', now, 'e', body, 's', s, 'g', g)
  redis.call('XADD', ks, 'MAXLEN', hist_max, s .. '-0', 't', now, 'a', a)
  redis.call('XADD', kg, 'MAXLEN', hist_max, g .. '-0', 't', now, 'a', a)
  for _, k in ipairs({ka, ks, kg}) do
    trim_old(k)
    redis.call('PEXPIRE', k, hist_ms * 2 + 60000)
  end
  parts[#parts + 1] = '{"a":' .. a .. ',"s":' .. s .. ',"g":' .. g .. ',"e":' .. body .. '}'
  out[#out + 1] = a
end
local events = '[' .. table.concat(parts, ',') .. ']'
redis.call('PUBLISH', ARGV[6], '{"ts":' .. now .. ',"ep":' .. epoch .. ',"events":' .. events .. '}')
return out
"""


def fanout_channel() -> str:
    """The Redis pub/sub channel every HTTP process subscribes to once."""
    return redis_key("rt", "fanout")


def history_key(topic: str) -> str:
    return redis_key("rt", "h", topic)


def seqs_key() -> str:
    """HASH topic -> current sequence (one hash, so a reader gets every topic's position atomically), plus the
    field EPOCH_FIELD: the numbering's epoch, created with the hash. A Redis that lost its data starts a new
    epoch, so a position from before the loss is never mistaken for one in the new numbering."""
    return redis_key("rt", "seqs")


EPOCH_FIELD = "epoch"  # never a topic name (TOPIC_RE); the Lua script above spells it too


def _event_args(event: GameEvent) -> tuple[str, str, bytes]:
    kind = event.get("type")
    game: Any = event.get("game")
    if kind not in EVENT_TYPES:
        raise ValueError(f"game event type must be one of {sorted(EVENT_TYPES)}, got {kind!r}")
    if not isinstance(game, dict):
        raise ValueError("game event needs a 'game' object")
    game_id, sport = str(game.get("id") or ""), str(game.get("sport") or "").lower()
    if not _TOPIC_PART.match(game_id) or not _TOPIC_PART.match(sport) or not game.get("slug"):
        raise ValueError(f"game event needs game id, slug and sport (got id={game_id!r} sport={sport!r})")
    body: dict[str, Any] = {"type": kind, "game": game}
    if event.get("outcomes"):
        body["outcomes"] = event["outcomes"]
    return sport, game_id, orjson.dumps(body)


def _script_args(events: Sequence[GameEvent], fence: Fence | None) -> list[Any]:
    fence_at, fence_token = ("", "") if fence is None else (fence_key(fence[0]), str(fence[1]))
    history_ms = int(settings.REALTIME_HISTORY_S * 1000)
    argv: list[Any] = [
        settings.REDIS_PREFIX,
        fence_at,
        fence_token,
        history_ms,
        settings.REALTIME_HISTORY_MAX,
        fanout_channel(),
    ]
    for event in events:
        argv.extend(_event_args(event))
    return argv


def _check(result: list[Any], fence: Fence | None, events: Sequence[GameEvent]) -> None:
    if result and int(result[0]) == -1:
        current = result[1].decode() if isinstance(result[1], bytes) else result[1]
        metrics.STALE_FENCE_REJECTIONS.labels(fence[0] if fence else "").inc()
        raise StaleFenceError(f"fence {fence!r} is stale (current token {current or 'none'!r}); nothing published")
    for event in events:
        metrics.REALTIME_EVENTS_PUBLISHED.labels(event["type"]).inc()


def _chunks(events: Sequence[GameEvent]) -> list[Sequence[GameEvent]]:
    return [events[i : i + CHUNK] for i in range(0, len(events), CHUNK)]


def _script(client: Any) -> Any:
    """The script bound to this client: EVALSHA, reloaded by redis-py on NOSCRIPT (cheap to build)."""
    return client.register_script(_PUBLISH_LUA)


def game_events_publish(events: Sequence[GameEvent], *, fence: Fence | None = None) -> None:
    """Publish events to every connected client (all HTTP instances). Raises StaleFenceError if fenced out."""
    if not events:
        return
    script = _script(redis_sync())
    for chunk in _chunks(events):
        _check(script(keys=[], args=_script_args(chunk, fence)), fence, chunk)


async def game_events_publish_async(events: Sequence[GameEvent], *, fence: Fence | None = None) -> None:
    """Async twin of game_events_publish (same script, same guarantees)."""
    if not events:
        return
    script = _script(redis_async())
    for chunk in _chunks(events):
        _check(await script(keys=[], args=_script_args(chunk, fence)), fence, chunk)


__all__ = [
    "EPOCH_FIELD",
    "EVENT_TYPES",
    "Fence",
    "GameEvent",
    "OutcomePrice",
    "StaleFenceError",
    "fanout_channel",
    "game_events_publish",
    "game_events_publish_async",
    "history_key",
    "seqs_key",
]
