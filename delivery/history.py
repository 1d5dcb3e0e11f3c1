"""Reads of the short per-topic history kept by core.publish (for resume and gap repair)."""

from __future__ import annotations

import dataclasses
from typing import Any

import orjson

from core.publish import EPOCH_FIELD, history_key, seqs_key
from core.redis import redis_async
from delivery.frames import event_topics


@dataclasses.dataclass(frozen=True, slots=True)
class StoredEvent:
    all_seq: int  # position in the `all` topic
    topic_seqs: dict[str, int]  # this event's sequence in each of its topics
    ts: int  # publish time (Redis clock), ms
    body: dict[str, Any]  # {"type", "game", "outcomes"?}


def _field(fields: dict[bytes, bytes], name: bytes) -> bytes:
    return fields.get(name, b"")


def _stored(entry_id: bytes, fields: dict[bytes, bytes]) -> StoredEvent:
    body = orjson.loads(_field(fields, b"e"))
    seq = int(entry_id.split(b"-")[0])
    seqs = (seq, int(_field(fields, b"s")), int(_field(fields, b"g")))
    return StoredEvent(seq, dict(zip(event_topics(body.get("game") or {}), seqs, strict=True)),
                       int(_field(fields, b"t")), body)


async def feed_position_read() -> tuple[int, dict[str, int]]:
    """The numbering's epoch (0 before the first publish) and every topic's current sequence, read atomically."""
    raw = {k.decode(): int(v) for k, v in (await redis_async().hgetall(seqs_key())).items()}
    return raw.pop(EPOCH_FIELD, 0), raw


async def topic_seq_read(topic: str) -> int:
    raw = await redis_async().hget(seqs_key(), topic)
    return int(raw) if raw else 0


async def all_events_read(first: int, last: int) -> list[StoredEvent] | None:
    """Events first..last of the `all` topic, or None if any of them is no longer kept."""
    if last < first:
        return []
    entries = await redis_async().xrange(history_key("all"), f"{first}-0", f"{last}-0")
    events = [_stored(entry_id, fields) for entry_id, fields in entries]
    if len(events) != last - first + 1:
        return None
    return events


async def topic_events_read(topic: str, after: int, upto: int) -> list[StoredEvent] | None:
    """Events of `topic` with after < seq <= upto, in order; None when history no longer covers them."""
    if upto <= after:
        return []
    if topic == "all":
        return await all_events_read(after + 1, upto)
    client = redis_async()
    refs = await client.xrange(history_key(topic), f"{after + 1}-0", f"{upto}-0")
    if len(refs) != upto - after:
        return None
    pipe = client.pipeline(transaction=False)
    for _entry_id, fields in refs:
        a = _field(fields, b"a").decode()
        pipe.xrange(history_key("all"), f"{a}-0", f"{a}-0")
    found = await pipe.execute()
    events: list[StoredEvent] = []
    for entries in found:
        if not entries:
            return None  # the body was trimmed from `all` before the reference
        events.append(_stored(*entries[0]))
    return events
