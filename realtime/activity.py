"""Per-game state behind /ws/activity: the game's view (all markets) plus live prices of all its tokens.

One state per watched game per process, shared by all its activity sockets; kept current from the
same events as /ws/games (prices from `outcomes`, teams/status from the event's FrontendGame) and
rebuilt once per coalescing window when something changed.
"""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

from games.frontend import ActivityGame, GameView, activity_game_build
from markets.prices import TokenPrice
from realtime.frames import Frame, control_frame
from realtime.sinks import Sink


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

    def frame(self, kind: str) -> Frame:
        if self.removed:
            game: Any = {"id": self.game_id, "slug": self.view.slug if self.view else ""}
            return control_frame({"type": "game_removed", "game": game, "seq": self.seq, "timestamp": self.ts})
        return control_frame({"type": kind, "game": self.build(), "seq": self.seq, "timestamp": self.ts})
