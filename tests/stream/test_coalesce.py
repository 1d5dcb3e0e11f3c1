"""Coalescing windows: at most one update per token per window, and the newest value always goes out.

The original dropped updates that arrived inside its 250 ms throttle window, so the last price of a
burst could be lost (original §4.4); here it must be published at the end of the window.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from typing import Any

import orjson
import pytest
from asgiref.sync import sync_to_async
from django.db import connections

from core.lease import lease_acquire
from core.publish import game_events_publish_async
from markets.fences import fence_pg_advance
from markets.models import Outcome
from markets.prices import prices_read
from stream.gameindex import TokenRef, game_index_load
from stream.loops import every
from stream.program import StreamProgram, stream_config_from_settings
from tests.stream.factories import game_with_moneyline

WINDOW_S = 0.15


@pytest.fixture
def game_tokens(transactional_db: None) -> tuple[str, list[str]]:
    game, tokens = game_with_moneyline(7)
    return game.gamma_id, tokens


class Recorder:
    """Records what the program publishes, then publishes it for real."""

    def __init__(self) -> None:
        self.calls: list[tuple[float, list[Any]]] = []

    async def __call__(self, events: list[Any], *, fence: Any = None) -> None:
        self.calls.append((time.monotonic(), list(events)))
        await game_events_publish_async(events, fence=fence)

    def bids(self, token: str) -> list[tuple[float, float]]:
        return [
            (at, o["bid"]) for at, events in self.calls for e in events for o in e["outcomes"] if o["token_id"] == token
        ]


def _change(token: str, ts: int, price: str) -> bytes:
    entry = {"asset_id": token, "price": price, "size": "10", "side": "BUY", "hash": ""}
    frame = {"event_type": "price_change", "market": "0xcond7", "timestamp": str(ts), "price_changes": [entry]}
    return orjson.dumps(frame)


async def test_burst_publishes_once_per_window_and_always_the_newest(game_tokens: tuple[str, list[str]]) -> None:
    game_id, tokens = game_tokens
    recorder = Recorder()
    program = StreamProgram(stream_config_from_settings(holder="test", coalesce_s=WINDOW_S), publish=recorder)
    program.holder.lease = lease_acquire("stream", "test", 10_000)
    program.window.index = await sync_to_async(game_index_load)(tokens)
    program.store.track(tokens)
    window = asyncio.create_task(every(WINDOW_S / 4, program.window.flush_due, "price window"))
    try:
        ts = 1_000
        # 40 bid moves spread over ~0.6 s: several windows, many changes per window.
        for i in range(40):
            ts += 1
            program.store.feed(_change(tokens[0], ts, f"0.{10 + i:02d}"))
            await asyncio.sleep(0.015)
        await asyncio.sleep(WINDOW_S * 2.5)
    finally:
        window.cancel()
    published = recorder.bids(tokens[0])
    assert 2 <= len(published) < 40  # coalesced, not one per change
    gaps = [b[0] - a[0] for a, b in itertools.pairwise(published)]
    assert min(gaps) >= WINDOW_S * 0.8  # at most one update per token per window
    assert published[-1][1] == 0.49  # the newest value of the burst went out
    assert prices_read([tokens[0]])[tokens[0]]["bid"] == 0.49
    event = recorder.calls[-1][1][0]
    assert event["type"] == "price_update" and event["game"]["id"] == game_id
    assert event["outcomes"][0]["market_id"] == "0xcond7"

    # Nothing new: nothing published; an unchanged price is not republished either.
    before = len(recorder.calls)
    program.store.feed(_change(tokens[0], ts + 1, "0.49"))
    assert await program.window.flush() == 0 and len(recorder.calls) == before

    # The batch reaches PostgreSQL on the next persist (fenced), with the newest value.
    await program.db.run(fence_pg_advance, program.fence)
    assert await program.window.persist(program.db) == 1
    outcome = await sync_to_async(Outcome.objects.get)(token_id=tokens[0])
    assert float(outcome.best_bid) == 0.49 and outcome.price_updated_at is not None
    await program.db.close()
    await sync_to_async(connections.close_all)()


def test_the_window_is_per_game_so_a_quiet_game_does_not_wait_for_a_busy_one() -> None:
    """A change on a game that sent nothing for a window is due at once; a game that just sent waits for the end
    of its window (no global fixed-phase tick delays the first change)."""
    program = StreamProgram(stream_config_from_settings(holder="test", coalesce_s=WINDOW_S))
    window = program.window
    window.index.tokens = {"71": TokenRef("busy", "0xm1"), "72": TokenRef("quiet", "0xm2")}
    program.store.track(["71", "72"])
    window.sent_at["busy"] = 100.0  # the busy game's event just went out
    program.store.dirty.update({"71", "72"})
    assert window.take_due(100.0 + WINDOW_S * 0.25) == {"72"}  # the quiet game's change: at the next look
    assert program.store.dirty == {"71"}  # the busy game's change waits for its window to end
    assert window.take_due(100.0 + WINDOW_S * 0.75) == set()
    assert window.take_due(100.0 + WINDOW_S) == {"71"}
