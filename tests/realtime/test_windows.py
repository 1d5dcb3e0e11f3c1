"""The adaptive coalescing window: a quiet topic goes out at once, a busy one waits for the pacing gap, never
longer than the window, and a frame holds the latest state of every game in seq order."""

from __future__ import annotations

import pytest

from delivery.frames import WireEvent
from delivery.windows import FLUSH_SHARE, Pacing, Windows


def _event(game_id: str, seq: int, price: int) -> WireEvent:
    return {"type": "price_update", "seq": seq, "game": {"id": game_id, "price": price}, "timestamp": 0}


def test_a_quiet_topic_is_due_at_once_and_a_busy_one_after_the_gap() -> None:
    windows = Windows()
    assert windows.due_in(10.0, 0.05) is None  # nothing pending
    windows.add("sport:nba", "g1", _event("g1", 1, 1))
    assert windows.due_in(10.0, 0.05) == 0.0  # never flushed: goes now
    assert [topic for topic, _ in windows.take(10.0, 0.05)] == ["sport:nba"]
    windows.add("sport:nba", "g1", _event("g1", 2, 2))
    assert windows.due_in(10.02, 0.05) == pytest.approx(0.03)
    assert list(windows.take(10.02, 0.05)) == []  # held: its previous frame is younger than the gap
    assert [topic for topic, _ in windows.take(10.05, 0.05)] == ["sport:nba"]


def test_with_no_gap_every_pending_topic_goes_out() -> None:
    windows = Windows()
    windows.add("sport:nba", "g1", _event("g1", 1, 1))
    list(windows.take(10.0, 0.0))
    windows.add("sport:nba", "g1", _event("g1", 2, 2))
    windows.add("sport:nfl", "g2", _event("g2", 1, 1))
    assert sorted(topic for topic, _ in windows.take(10.0, 0.0)) == ["sport:nba", "sport:nfl"]


def test_a_frame_holds_the_latest_state_of_each_game_in_seq_order() -> None:
    windows = Windows()
    windows.add("all", "g1", _event("g1", 1, 1))
    windows.add("all", "g2", _event("g2", 2, 5))
    windows.add("all", "g1", _event("g1", 3, 2))
    [(_, events)] = list(windows.take(1.0, 0.0))
    assert [(e["game"]["id"], e["seq"], e["game"]["price"]) for e in events] == [("g2", 2, 5), ("g1", 3, 2)]


def test_the_gap_follows_the_flush_cost_and_is_capped_at_the_window() -> None:
    pacing = Pacing(0.1)
    assert pacing.gap_s == 0.0
    pacing.flushed(0.002)  # a few hundred clients
    assert pacing.gap_s == pytest.approx(0.002 / FLUSH_SHARE)
    pacing.flushed(0.2)  # far behind: still at most a window between two frames of a topic
    assert pacing.gap_s == 0.1
    pacing.flushed(0.0)  # caught up: at once again
    assert pacing.gap_s == 0.0
