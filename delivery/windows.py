"""Coalescing windows: per topic, the latest event of every game that changed since the topic's last frame.

The window adapts to load. A topic's pending events go out as soon as the hub's flusher gets round to them (it
runs after every intake message, once its previous flush has finished), unless the topic's previous frame is
younger than the current gap. The gap (Pacing) is 0 while flushing is cheap and grows with what the last flush
cost, capped at REALTIME_WINDOW_MS: a quiet or lightly loaded topic is sent at once, and events coalesce only
while sending falls behind, never for longer than a window after the topic's previous frame."""

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

    def due_in(self, now: float, gap_s: float) -> float | None:
        """Seconds until the first pending topic may be flushed (0: now); None when nothing is pending."""
        if not self._pending:
            return None
        last = min(self._flushed_at.get(topic, 0.0) for topic in self._pending)
        return max(0.0, last + gap_s - now)

    def take(self, now: float, gap_s: float) -> Iterator[tuple[str, list[WireEvent]]]:
        """Each topic's events in seq order, emptying its window, for the topics whose last frame is at least
        `gap_s` old (0: every pending topic)."""
        for topic in list(self._pending):
            if gap_s and now - self._flushed_at.get(topic, 0.0) < gap_s:
                continue
            events = self._pending.pop(topic)
            if events:
                self._flushed_at[topic] = now
                yield topic, sorted(events.values(), key=lambda e: e["seq"])


FLUSH_SHARE = 0.5  # while sends are behind, writing frames gets at most about this share of the event loop


class Pacing:
    """The adaptive gap between two frames of a topic: the CPU time of the last flush / FLUSH_SHARE, capped at
    the window. A flush that costs 1 ms (hundreds of clients) allows the next one 2 ms later, i.e. at once in
    practice; one that costs more (thousands of clients) spaces frames out, so more events share a frame and
    the per-client cost is paid less often. CPU time, not wall time: being preempted by other processes is no
    reason to delay clients further."""

    def __init__(self, window_s: float) -> None:
        self.window_s = window_s
        self.gap_s = 0.0

    def flushed(self, took_s: float) -> None:
        self.gap_s = min(self.window_s, took_s / FLUSH_SHARE)
