"""Coalescing windows: per topic, the latest event of every game that changed since the topic's last frame.

At most one frame per topic per REALTIME_WINDOW_MS; the first change on a quiet topic may leave at once."""

from __future__ import annotations

from collections.abc import Iterator

from delivery.frames import WireEvent


def coalesce(prev: WireEvent | None, new: WireEvent) -> WireEvent:
    """Latest state of a game wins; changed outcomes accumulate; an `added` stays an `added`."""
    if prev is None:
        return new
    merged: WireEvent = dict(new)  # type: ignore[assignment]
    if prev["type"] == "game_added" and new["type"] in ("price_update", "game_update"):
        merged["type"] = "game_added"
    if "outcomes" in prev or "outcomes" in new:
        by_token = {o.get("token_id"): o for o in prev.get("outcomes", [])}
        by_token.update({o.get("token_id"): o for o in new.get("outcomes", [])})
        merged["outcomes"] = list(by_token.values())
    return merged


class Windows:
    def __init__(self) -> None:
        self._pending: dict[str, dict[str, WireEvent]] = {}  # topic -> game id -> coalesced event
        self._flushed_at: dict[str, float] = {}  # topic -> monotonic time of its last frame

    def add(self, topic: str, game_id: str, event: WireEvent) -> None:
        window = self._pending.setdefault(topic, {})
        window[game_id] = coalesce(window.get(game_id), event)

    def drop(self, topic: str) -> None:
        """The topic has no subscriber left here."""
        self._pending.pop(topic, None)
        self._flushed_at.pop(topic, None)

    def clear(self) -> None:
        self._pending.clear()

    def take(self, now: float, window_s: float, due_only: bool) -> Iterator[tuple[str, list[WireEvent]]]:
        """Each topic's events in seq order, emptying its window: every topic, or (due_only) only those whose
        last frame is at least a window old."""
        for topic in list(self._pending):
            if due_only and now - self._flushed_at.get(topic, 0.0) < window_s:
                continue
            events = self._pending.pop(topic)
            if events:
                self._flushed_at[topic] = now
                yield topic, sorted(events.values(), key=lambda e: e["seq"])
