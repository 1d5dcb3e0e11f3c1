"""What this process knows of the feed: the latest FrontendGame of every non-ended game, each topic's position
and the numbering's epoch. Snapshots are read from here, so a snapshot's `seq` is exactly the events it holds."""

from __future__ import annotations

from typing import Any

import cachetools

from delivery.frames import PROTOCOL_V1, PROTOCOL_V2, Frame, snapshot_frame, topic_game, topic_sport, v1_games_frame

SNAPSHOT_GAMES_MAX = 1000
SNAPSHOT_CACHE_MAX = 1000


def _kickoff_order(game: dict[str, Any]) -> tuple[str, str]:
    return (str(game.get("kickoff") or game.get("endDate") or "9999"), str(game.get("id", "")))


class GameState:
    def __init__(self) -> None:
        self.games: dict[str, dict[str, Any]] = {}  # game id -> latest FrontendGame
        self.seen: dict[str, int] = {}  # topic -> last seq applied to `games`
        self.last_all = 0
        self.epoch = 0  # the numbering of `seen` (0 until the first event is ever published)
        self._snapshots: cachetools.LRUCache[tuple[str, str, tuple[Any, ...]], Frame] = cachetools.LRUCache(
            maxsize=SNAPSHOT_CACHE_MAX
        )

    def replace(self, epoch: int, seqs: dict[str, int], games: dict[str, dict[str, Any]]) -> None:
        """A fresh start: positions read first, then the games (later events bring them forward)."""
        self.games, self.seen, self.epoch = games, seqs, epoch
        self.last_all = seqs.get("all", 0)
        self._snapshots.clear()

    def advance(self, topics: dict[str, int], body: dict[str, Any]) -> dict[str, Any]:
        """Apply one event (its seq in each of its topics); returns the game's latest state."""
        game = body.get("game") or {}
        game_id = str(game.get("id"))
        if body.get("type") == "game_removed":
            self.games.pop(game_id, None)
            latest = game
        else:
            latest = {**self.games.get(game_id, {}), **game}
            self.games[game_id] = latest
        self.seen.update(topics)
        self.last_all = topics.get("all", self.last_all)
        return latest

    def game_id_by_slug(self, slug: str) -> str | None:
        return next((gid for gid, g in self.games.items() if g.get("slug") == slug), None)

    def games_of(self, topic: str) -> list[dict[str, Any]]:
        game_id = topic_game(topic)
        if game_id is not None:
            game = self.games.get(game_id)
            return [game] if game is not None else []
        sport = topic_sport(topic)
        games = [
            g for g in self.games.values()
            if not g.get("ended") and (sport is None or str(g.get("sport", "")).lower() == sport)
        ]
        games.sort(key=_kickoff_order)
        return games

    def snapshot(self, topic: str, kind: str = "snapshot", version: int = PROTOCOL_V2, **extra: Any) -> Frame:
        """The topic's current state as a frame; reused while the topic's seq is unchanged (a burst of
        subscribers, or of slow clients recovering, costs one encode). v1 gets the original's list frame."""
        seq = self.seen.get(topic, 0)
        key = (topic, kind, (version, *sorted(extra.items())))
        cached = self._snapshots.get(key)
        if cached is not None and cached.seq == seq and cached.epoch == self.epoch:
            return cached
        games = self.games_of(topic)
        if len(games) > SNAPSHOT_GAMES_MAX:
            games, extra["truncated"] = games[:SNAPSHOT_GAMES_MAX], True
        if version == PROTOCOL_V1:
            frame = v1_games_frame(kind, topic, seq, self.epoch, games)
        else:
            frame = snapshot_frame(kind, topic, seq, self.epoch, games, **extra)
        self._snapshots[key] = frame
        return frame
