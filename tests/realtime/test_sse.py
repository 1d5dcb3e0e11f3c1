"""SSE /api/games/stream: initial state, updates with `id:` = sequence, Last-Event-ID replay or resync."""

from __future__ import annotations

import asyncio

import httpx
import orjson
import pytest

from core.publish import game_events_publish_async
from tests.realtime.helpers import daphne_start, game

pytestmark = pytest.mark.timeout(60)


class Sse:
    """Parses one SSE response incrementally (id + data pairs)."""

    def __init__(self, response: httpx.Response) -> None:
        self.lines = response.aiter_lines()

    last_id = ""  # the raw `id:` (`<epoch>-<seq>`) of the last event that had one: the next Last-Event-ID

    async def _next(self) -> tuple[int | None, dict]:
        """(seq from `id:`, data) of the next event."""
        event_id: int | None = None
        async for line in self.lines:
            if line.startswith("id: "):
                self.last_id = line[4:]
                event_id = int(self.last_id.split("-")[1])
            elif line.startswith("data: "):
                return event_id, orjson.loads(line[6:])
        raise AssertionError("stream ended")

    async def take(self, count: int, kind: str | None = None) -> list[tuple[int | None, dict]]:
        taken: list[tuple[int | None, dict]] = []
        while len(taken) < count:
            event_id, data = await asyncio.wait_for(self._next(), 10)
            if kind is None or data["type"] == kind:
                taken.append((event_id, data))
        return taken


async def test_sse_initial_updates_and_last_event_id(spawn, service_env, settings) -> None:
    port, _ = daphne_start(spawn, service_env, "daphne-sse", REALTIME_WINDOW_MS=50, REALTIME_HEARTBEAT_S=1)
    url = f"http://127.0.0.1:{port}/api/games/stream?protocol=2"
    async with httpx.AsyncClient(timeout=10) as http:
        async with http.stream("GET", url) as response:
            assert response.status_code == 200
            sse = Sse(response)
            assert response.headers["content-type"].startswith("text/event-stream")
            assert response.headers["cache-control"] == "no-cache"
            [(first_id, initial)] = await sse.take(1)
            assert initial["type"] == "initial" and first_id == 0 == initial["seq"] and initial["games"] == []
            await game_events_publish_async([{"type": "game_added", "game": game("a1", price=1)}])
            [(added_id, added)] = await sse.take(1, "batch")
            assert added_id == 1 and added["events"][0]["type"] == "game_added"
            await game_events_publish_async([{"type": "price_update", "game": game("a1", price=2)}])
            [(update_id, batch)] = await sse.take(1, "batch")
            assert update_id == 2 and batch["events"][0]["game"]["price"] == 2
            epoch = batch["epoch"]
            assert epoch > 0 and sse.last_id == f"{epoch}-2"
            [(heartbeat_id, _)] = await sse.take(1, "heartbeat")
            assert heartbeat_id is None  # heartbeats do not move the client's position

        # Reconnect with Last-Event-ID: exactly what was missed is replayed.
        for price in (3, 4, 5):
            await game_events_publish_async([{"type": "price_update", "game": game("a1", price=price)}])
        async with http.stream("GET", url, headers={"Last-Event-ID": f"{epoch}-2"}) as response:
            sse = Sse(response)
            [(replay_id, replay)] = await sse.take(1)
            assert replay["type"] == "batch" and replay["replay"] is True and replay_id == 5
            assert [e["seq"] for e in replay["events"]] == [3, 4, 5]
            assert [e["game"]["price"] for e in replay["events"]] == [3, 4, 5]

        # Too old for the history: a fresh snapshot instead.
        settings.REALTIME_HISTORY_MAX = 10
        for price in range(6, 30):
            await game_events_publish_async([{"type": "price_update", "game": game("a1", price=price)}])
        async with http.stream("GET", url + "&sport=nba", headers={"Last-Event-ID": f"{epoch}-3"}) as response:
            sse = Sse(response)
            [(resync_id, resync)] = await sse.take(1)
            assert resync["type"] == "resync" and resync["reason"] == "history_exceeded"
            assert resync_id == 29 and resync["games"][0]["price"] == 29

        # A position from another numbering (Redis lost its data since): never replayed as if it continued.
        async with http.stream("GET", url, headers={"Last-Event-ID": f"{epoch - 1}-3"}) as response:
            [(_, reset)] = await Sse(response).take(1)
            assert reset["type"] == "resync" and reset["reason"] == "sequence_reset" and reset["epoch"] == epoch

        bad = await http.get(url + "&sport=no%20such")
        assert bad.status_code == 400 and bad.json()["error"] == "invalid sport"
