"""Wire formats of /ws/games, /ws/activity and SSE: server frames (TypedDict) and client messages (pydantic).

Two protocols (docs/ARCHITECTURE.md "Realtime delivery"): v1, the default, is the original's (one top-level
`price_update` / `game_update` frame per game, ISO timestamps); v2 (`?protocol=2`) adds topics, `batch` frames
with sequence numbers, snapshots and resume. A Frame is encoded ONCE (orjson) and the same bytes go to every
subscriber of its protocol.
"""

from __future__ import annotations

import dataclasses
import re
import time
from datetime import UTC, datetime
from typing import Annotated, Any, Literal, TypedDict

import orjson
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, field_validator

from delivery.transport import ws_text_frame

TOPIC_RE = re.compile(r"^(all|sport:[a-z0-9_.\-]{1,64}|game:[A-Za-z0-9_.\-]{1,64})$")
ALL_TOPIC = "all"
SPORT_PREFIX, GAME_PREFIX = "sport:", "game:"  # core.publish's script spells them too (Redis keys)


def sport_topic(code: str) -> str:
    return SPORT_PREFIX + code.lower()


def game_topic(game_id: str) -> str:
    return GAME_PREFIX + game_id


def event_topics(game: dict[str, Any]) -> tuple[str, str, str]:
    """The three topics every event about `game` belongs to, in the order the publish script numbers them."""
    return ALL_TOPIC, sport_topic(str(game.get("sport", ""))), game_topic(str(game.get("id", "")))


def topic_sport(topic: str) -> str | None:
    return topic[len(SPORT_PREFIX):] if topic.startswith(SPORT_PREFIX) else None


def topic_game(topic: str) -> str | None:
    return topic[len(GAME_PREFIX):] if topic.startswith(GAME_PREFIX) else None
SLUG_RE = re.compile(r"^[A-Za-z0-9_.\-]{1,255}$")


def now_ms() -> int:
    return int(time.time() * 1000)


def iso_time(ms: int | None = None) -> str:
    """`new Date(ms).toISOString()`: UTC, milliseconds, `Z` (the original's frame timestamps)."""
    moment = datetime.now(UTC) if ms is None else datetime.fromtimestamp(ms / 1000, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


PROTOCOL_V1, PROTOCOL_V2 = 1, 2
PROTOCOLS = (PROTOCOL_V1, PROTOCOL_V2)


def protocol_parse(value: str | None) -> int:
    """The protocol a client asked for (`?protocol=`): v1 when absent; ValueError for anything else."""
    if value is None or value == "":
        return PROTOCOL_V1
    if value not in ("1", "2"):
        raise ValueError(f"unknown protocol {value[:16]!r}: use protocol=1 (the original's, default) or protocol=2")
    return int(value)


# --- Server -> client -----------------------------------------------------------------------------
class WireEvent(TypedDict, total=False):
    type: str  # price_update | game_update | game_added | game_removed
    seq: int  # sequence of this event in the frame's topic
    game: dict[str, Any]  # FrontendGame (latest state)
    outcomes: list[dict[str, Any]]  # changed outcomes (OutcomePrice), merged when coalesced
    timestamp: int  # publish time, ms


class BatchFrame(TypedDict, total=False):
    type: Literal["batch"]
    topic: str
    seq: int  # the highest event seq in this frame; the client's new position in `topic`
    epoch: int  # the numbering `seq` belongs to: send it back with `resume`
    events: list[WireEvent]  # ordered by seq; at most one per game (latest state wins)
    replay: bool  # present and true when replayed from history after `resume`
    timestamp: int


class SnapshotFrame(TypedDict, total=False):
    type: Literal["snapshot", "resync", "initial"]
    topic: str
    seq: int  # the snapshot includes every event of `topic` up to this seq
    epoch: int  # the numbering `seq` belongs to: send it back with `resume`
    games: list[dict[str, Any]]
    reason: str  # resync only: history_exceeded | slow_client | sequence_reset
    truncated: bool
    timestamp: int


@dataclasses.dataclass(slots=True)
class Frame:
    """One encoded server frame. Topic frames carry their seq range so one client can skip what it has."""

    data: bytes
    topic: str | None = None
    seq: int = 0
    first_seq: int = 0
    epoch: int = 0  # the numbering `seq` belongs to (core.publish.seqs_key)
    events: list[WireEvent] | None = None
    payload: dict[str, Any] | None = None
    sse_id: bool = True  # v1 streams, like the original's, carry no `id:` lines
    _sse: bytes | None = None
    _wire: bytes | None = None

    def wire(self) -> bytes:
        """The complete WebSocket frame, built on first use and shared by every client."""
        if self._wire is None:
            self._wire = ws_text_frame(self.data)
        return self._wire

    def sse(self) -> bytes:
        """The same frame as a Server-Sent Event (`id:` = `<epoch>-<topic sequence>`)."""
        if self._sse is None:
            head = b"id: %d-%d\n" % (self.epoch, self.seq) if self.topic is not None and self.sse_id else b""
            self._sse = head + b"data: " + self.data + b"\n\n"
        return self._sse

    def after(self, seq: int) -> Frame | None:
        """This frame without the events a client already has (seq <= `seq`); None if nothing is left."""
        if self.seq <= seq:
            return None
        if self.first_seq > seq or self.events is None or self.payload is None:
            return self
        events = [e for e in self.events if e["seq"] > seq]
        return batch_frame(self.topic or "", events, self.epoch, replay=bool(self.payload.get("replay")))


def control_frame(payload: dict[str, Any], protocol: int = PROTOCOL_V2) -> Frame:
    """A frame outside any topic (hello, heartbeat, replies, errors): v1 stamps it with an ISO time."""
    payload.setdefault("timestamp", iso_time() if protocol == PROTOCOL_V1 else now_ms())
    return Frame(orjson.dumps(payload), payload=payload)


# v1 knows only price and game updates: a game that appears or goes away is a `game_update` of its state.
V1_EVENT_TYPES = {"price_update": "price_update", "game_update": "game_update",
                  "game_added": "game_update", "game_removed": "game_update"}


def v1_event_frame(topic: str, event: WireEvent, epoch: int) -> Frame:
    """One game's change as the original sent it: `{"type", "game", "timestamp"}` (ISO). `topic`/`seq` stay
    on the Frame (not on the wire) so the hub skips what a client already has."""
    payload = {"type": V1_EVENT_TYPES.get(event["type"], "game_update"), "game": event["game"],
               "timestamp": iso_time(event["timestamp"])}
    return Frame(orjson.dumps(payload), topic, event["seq"], event["seq"], epoch, payload=payload, sse_id=False)


def v1_games_frame(kind: str, topic: str, seq: int, epoch: int, games: list[dict[str, Any]]) -> Frame:
    """The original's full list (`initial` on connect/refresh, `games_update` when a client must resync)."""
    payload = {"type": kind, "games": games, "timestamp": iso_time()}
    return Frame(orjson.dumps(payload), topic, seq, seq, epoch, payload=payload, sse_id=False)


def batch_frame(topic: str, events: list[WireEvent], epoch: int, *, replay: bool = False) -> Frame:
    payload: BatchFrame = {"type": "batch", "topic": topic, "seq": events[-1]["seq"], "epoch": epoch, "events": events}
    if replay:
        payload["replay"] = True
    payload["timestamp"] = now_ms()
    return Frame(
        orjson.dumps(payload), topic, events[-1]["seq"], events[0]["seq"], epoch, events=events, payload=payload
    )


def snapshot_frame(
    kind: str, topic: str, seq: int, epoch: int, games: list[dict[str, Any]], **extra: Any
) -> Frame:
    payload: SnapshotFrame = {"type": kind, "topic": topic, "seq": seq, "epoch": epoch, "games": games, **extra}  # type: ignore[typeddict-item]
    payload["timestamp"] = now_ms()
    return Frame(orjson.dumps(payload), topic, seq, seq, epoch, payload=payload)


def error_frame(message: str, protocol: int = PROTOCOL_V2, **extra: Any) -> Frame:
    return control_frame({"type": "error", "message": message, **extra}, protocol)


# --- Client -> server -----------------------------------------------------------------------------
class _Message(BaseModel):
    model_config = ConfigDict(extra="ignore")


class Ping(_Message):
    type: Literal["ping"]


class Refresh(_Message):
    type: Literal["refresh"]


def _check_topics(values: list[str]) -> list[str]:
    for value in values:
        if not TOPIC_RE.match(value):
            raise ValueError(f"invalid topic {value!r} (all | sport:<code> | game:<id>)")
    return values


class _TopicsMessage(_Message):
    sports: list[Annotated[str, Field(pattern=r"^[A-Za-z0-9_.\-]{1,64}$")]] = Field(default_factory=list)
    games: list[Annotated[str, Field(pattern=r"^[A-Za-z0-9_.\-]{1,64}$")]] = Field(default_factory=list)
    topics: list[str] = Field(default_factory=list)
    all: bool = False

    _topics_valid = field_validator("topics")(_check_topics)

    def topic_names(self) -> list[str]:
        names = [*self.topics, *(sport_topic(s) for s in self.sports), *(game_topic(g) for g in self.games)]
        if self.all:
            names.insert(0, ALL_TOPIC)
        return list(dict.fromkeys(names))


class Subscribe(_TopicsMessage):
    type: Literal["subscribe"]


class Unsubscribe(_TopicsMessage):
    type: Literal["unsubscribe"]


class Resume(_Message):
    """Re-attach after a reconnect: {topic: last seq seen} and the epoch those seqs belong to (from the last
    snapshot/resync or the hello frame). Missed events are replayed, or a resync is sent."""

    type: Literal["resume"]
    seqs: dict[str, Annotated[int, Field(ge=0)]]
    epoch: Annotated[int, Field(ge=0)]

    @field_validator("seqs")
    @classmethod
    def _valid(cls, value: dict[str, int]) -> dict[str, int]:
        _check_topics(list(value))
        return value


GamesMessage = Annotated[Ping | Refresh | Subscribe | Unsubscribe | Resume, Field(discriminator="type")]


class ActivitySubscribe(_Message):
    type: Literal["subscribe"]
    slug: Annotated[str, Field(pattern=SLUG_RE.pattern)]


class ActivityUnsubscribe(_Message):
    type: Literal["unsubscribe"]


ActivityMessage = Annotated[Ping | Refresh | ActivitySubscribe | ActivityUnsubscribe, Field(discriminator="type")]

_games_adapter: TypeAdapter[Any] = TypeAdapter(GamesMessage)
_activity_adapter: TypeAdapter[Any] = TypeAdapter(ActivityMessage)


class BadMessage(Exception):
    """A client message we cannot act on; its text goes back in an error frame."""


def message_parse(
    text: str | None, data: bytes | None, *, max_bytes: int, activity: bool = False
) -> BaseModel:
    if text is None:
        raise BadMessage("binary frames are not supported; send JSON text")
    if len(text) > max_bytes:
        raise BadMessage(f"frame too large (limit {max_bytes} bytes)")
    try:
        raw = orjson.loads(text)
    except orjson.JSONDecodeError:
        raise BadMessage("invalid JSON") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("type"), str):
        raise BadMessage("expected a JSON object with a string 'type'")
    adapter = _activity_adapter if activity else _games_adapter
    try:
        return adapter.validate_python(raw)
    except ValidationError as exc:
        if any(err["type"] == "union_tag_invalid" for err in exc.errors()):
            raise BadMessage(f"unknown message type {raw['type'][:64]!r}") from None
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"][1:]) or "message"  # loc[0] is the union tag
        raise BadMessage(f"invalid {raw['type'][:64]!r} message: {where}: {first['msg']}") from None
