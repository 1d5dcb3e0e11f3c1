"""Per-game state behind /ws/activity: the game's view (all markets) plus live prices of all its tokens.

One state per watched game per process, shared by all its activity sockets; kept current from the
same events as /ws/games (prices from `outcomes`, teams/status from the event's FrontendGame) and
rebuilt at most once per flush when something changed (windows.py: the adaptive window).
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable
from typing import Any

from delivery.frames import PROTOCOL_V1, V1_EVENT_TYPES, Frame, control_frame
from delivery.sinks import Sink
from markets.prices import TokenPrice
from readmodels.frontend import ActivityGame, GameView, activity_game_build


@dataclasses.dataclass(slots=True)
class ActivityState:
    game_id: str
    view: GameView | None = None
    prices: dict[str, TokenPrice] = dataclasses.field(default_factory=dict)
    sinks: set[Sink] = dataclasses.field(default_factory=set)
    loaded: asyncio.Event = dataclasses.field(default_factory=asyncio.Event)
    pending: list[tuple[str, dict[str, Any], list[dict[str, Any]], int, int]] = dataclasses.field(
        default_factory=list
    )
    overlay: dict[str, Any] | None = None  # latest FrontendGame seen in events: teams, scores, status
    dirty: str | None = None  # event type to announce at the next flush
    seq: int = 0  # last game-topic seq applied
    ts: int = 0
    removed: bool = False
    flushed_at: float = 0.0  # monotonic time of the last frame (one per window)

    def start(self, view: GameView, prices: dict[str, TokenPrice]) -> None:
        self.view, self.prices = view, prices
        for item in self.pending:
            self.apply(*item)
        self.pending.clear()
        self.dirty = None  # what is applied so far is in the initial frame every sink gets
        self.loaded.set()

    def apply(self, kind: str, game: dict[str, Any], outcomes: list[dict[str, Any]], seq: int, ts: int) -> None:
        if self.view is None:
            self.pending.append((kind, game, outcomes, seq, ts))
            return
        for outcome in outcomes:
            token = str(outcome.get("token_id", ""))
            if token:
                self.prices[token] = {
                    "bid": outcome.get("bid"),
                    "ask": outcome.get("ask"),
                    "mid": outcome.get("mid"),
                    "last": outcome.get("last"),
                    "ts": ts,
                }
        if "homeTeam" in game or "status" in game:
            self.overlay = game
        self.removed = kind == "game_removed"
        self.dirty = kind if self.dirty in (None, "price_update") else self.dirty
        self.seq, self.ts = seq, ts

    def build(self) -> ActivityGame | dict[str, Any]:
        if self.view is None:
            return {"id": self.game_id}
        game: dict[str, Any] = dict(activity_game_build(self.view, self.prices))
        if self.overlay is not None:
            for key in ("homeTeam", "awayTeam", "status"):
                if key in self.overlay:
                    game[key] = self.overlay[key]
        return game

    def frame(self, kind: str, version: int) -> Frame:
        if version == PROTOCOL_V1:  # the original's {type, game, timestamp}: a removed game is its last state
            return control_frame({"type": V1_EVENT_TYPES.get(kind, "game_update"), "game": self.build()}, version)
        if self.removed:
            game: Any = {"id": self.game_id, "slug": self.view.slug if self.view else ""}
            return control_frame({"type": "game_removed", "game": game, "seq": self.seq, "timestamp": self.ts})
        return control_frame({"type": kind, "game": self.build(), "seq": self.seq, "timestamp": self.ts})

    def initial_frame(self, version: int, **extra: Any) -> Frame:
        """The game's whole state: after `subscribed`, on `refresh` and when a slow client recovers."""
        if version == PROTOCOL_V1:
            return control_frame({"type": "initial", "game": self.build()}, version)
        return control_frame({"type": "initial", "game": self.build(), "seq": self.seq, **extra})


class ActivityRooms:
    """One ActivityState per watched game in this process, shared by the sockets watching it."""

    def __init__(self) -> None:
        self.rooms: dict[str, ActivityState] = {}

    async def join(
        self, sink: Sink, game_id: str, load: Callable[[str], Awaitable[tuple[GameView, dict] | None]]
    ) -> ActivityState | None:
        """Add `sink` to the game's room, loading the game (all markets, live prices) for its first watcher."""
        state = self.rooms.get(game_id)
        if state is None:
            state = self.rooms[game_id] = ActivityState(game_id)
            try:
                loaded = await load(game_id)
            except Exception:
                self.rooms.pop(game_id, None)
                raise
            if loaded is None:
                self.rooms.pop(game_id, None)
                return None
            state.start(*loaded)
        await state.loaded.wait()
        if sink.closed:
            if not state.sinks:
                self.rooms.pop(game_id, None)
            return None
        state.sinks.add(sink)
        return state

    def leave(self, sink: Sink) -> None:
        for game_id, state in list(self.rooms.items()):
            state.sinks.discard(sink)
            if not state.sinks and state.loaded.is_set():
                del self.rooms[game_id]

    def apply(self, game_id: str, kind: str, game: dict[str, Any], outcomes: list[dict[str, Any]],
              seq: int, ts: int) -> None:
        state = self.rooms.get(game_id)
        if state is not None:
            state.apply(kind, game, outcomes, seq, ts)

    def due_in(self, now: float, gap_s: float) -> float | None:
        """Seconds until the first changed room may be flushed (0: now); None when none changed."""
        last = [state.flushed_at for state in self.rooms.values() if state.dirty is not None and state.loaded.is_set()]
        return max(0.0, min(last) + gap_s - now) if last else None

    def take(self, now: float, gap_s: float) -> list[tuple[ActivityState, dict[int, Frame]]]:
        """The frames (one per protocol its sockets speak) of every loaded room that changed and whose last frame
        is at least `gap_s` old."""
        frames = []
        for state in list(self.rooms.values()):
            if state.dirty is None or not state.loaded.is_set():
                continue
            if gap_s and now - state.flushed_at < gap_s:
                continue
            state.flushed_at = now
            versions = {sink.version for sink in state.sinks}
            frames.append((state, {version: state.frame(state.dirty, version) for version in versions}))
            state.dirty = None
        return frames

    def resync_frames(self, sink: Sink, reason: str) -> list[Frame]:
        rooms = [state for state in self.rooms.values() if sink in state.sinks]
        return [state.initial_frame(sink.version, resync=reason) for state in rooms]
