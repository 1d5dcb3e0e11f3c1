"""Control API: adding games, forcing game states (socket now, Gamma after the lag), stats, heartbeat."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import websockets

from simulator.testing import SimHandle, run_simulator
from tests.conftest import wait_until

from .conftest import connect


@pytest.fixture(scope="module")
def csim() -> Iterator[SimHandle]:
    args = ("--games", "4", "--leagues", "nba", "epl", "--gamma-lag-s", "1", "--sports-text-ping-s", "0.5",
            "--sports-pong-timeout-s", "1", "--sports-protocol-ping-s", "0.5")
    with run_simulator(seed=31, rate=100, extra_args=args) as handle:
        yield handle


def _event(sim: SimHandle, event_id: str) -> dict[str, Any]:
    (event,) = httpx.get(sim.gamma_url + "/events", params={"id": event_id}, timeout=10).json()
    return event


def test_add_games_are_served_immediately(csim: SimHandle) -> None:
    before = csim.state()["counts"]
    added = csim.control("POST", "/_sim/games", {"league": "nba", "count": 2, "kickoff_in_s": 3600})
    assert len(added["games"]) == 2
    assert len(added["event_ids"]) == 2 and len(added["token_ids"]) > 20
    for event_id in added["event_ids"]:
        event = _event(csim, event_id)
        assert event["period"] == "NS" and event["slug"].startswith("nba-")
    token = added["token_ids"][0]
    book = httpx.get(csim.clob_url + "/book", params={"token_id": token}, timeout=10).json()
    assert book["asset_id"] == token
    after = csim.state()["counts"]
    assert after["games"] == before["games"] + 2
    assert after["tokens"] == before["tokens"] + len(added["token_ids"])
    with pytest.raises(httpx.HTTPStatusError):
        csim.control("POST", "/_sim/games", {"league": "cricket"})


def test_forced_state_is_broadcast_now_and_reaches_gamma_after_the_lag(csim: SimHandle) -> None:
    added = csim.control("POST", "/_sim/games", {"league": "nba", "count": 1, "kickoff_in_s": 3600})
    event_id = added["event_ids"][0]
    game_id = added["games"][0]["game_id"]
    slug_teams = added["games"][0]["slug"].split("-")[1:3]

    async def scenario() -> tuple[dict[str, Any], dict[str, Any], float]:
        async with connect(csim.sports_ws_url) as ws, \
                httpx.AsyncClient(timeout=10) as client:
            forced_at = time.monotonic()
            await client.post(f"{csim.base}/_sim/game/{event_id}",
                              json={"score": "12-9", "period": "Q2", "elapsed": "5:18", "live": True})
            while True:
                raw = await asyncio.wait_for(ws.recv(), 5)
                if raw == "ping":
                    await ws.send("pong")
                    continue
                frame = json.loads(raw)
                if frame.get("gameId") == game_id:
                    break
            gamma_now = (await client.get(csim.gamma_url + "/events", params={"id": event_id})).json()[0]
            return frame, gamma_now, forced_at

    frame, gamma_now, forced_at = asyncio.run(scenario())
    assert frame["score"] == "12-9" and frame["period"] == "Q2" and frame["live"] is True
    assert frame["awayTeam"] == slug_teams[0].upper() and frame["homeTeam"] == slug_teams[1].upper()
    assert "type" not in frame and "event_type" not in frame
    if time.monotonic() - forced_at < 0.9:
        assert gamma_now["period"] == "NS", "Gamma lags the socket"
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        event = _event(csim, event_id)
        if event.get("live"):
            break
        time.sleep(0.1)
    assert event["score"] == "12-9" and event["period"] == "Q2" and event["elapsed"] == "5:18"
    assert event["gameId"] == game_id

    csim.control("POST", f"/_sim/game/{event_id}", {"score": "101-99", "ended": True})
    time.sleep(1.3)
    event = _event(csim, event_id)
    assert event["period"] == "VFT" and event["ended"] is True and event["live"] is False
    assert "finishedTimestamp" in event and event["active"] is True
    with pytest.raises(httpx.HTTPStatusError):
        csim.control("POST", f"/_sim/game/{event_id}", {"live": "yes"})
    with pytest.raises(httpx.HTTPStatusError):
        csim.control("POST", "/_sim/game/999999999", {"live": True})


def test_stats_count_frames_and_sockets(csim: SimHandle) -> None:
    async def scenario() -> dict[str, Any]:
        async with connect(csim.clob_ws_url) as ws:
            await ws.send(json.dumps({"type": "market", "assets_ids": list(csim.control("GET", "/_sim/books"))}))
            await ws.recv()
            await ws.send("PING")
            stats = csim.control("GET", "/_sim/stats")
            return stats

    stats = asyncio.run(scenario())
    assert stats["connected_sockets"]["market"] >= 1
    assert stats["frames_sent"].get("book_dump", 0) >= 1
    assert stats["price_changes"] > 0
    assert set(stats) >= {"frames_sent", "price_changes", "connected_sockets"}


def test_books_truth_matches_rest(csim: SimHandle) -> None:
    csim.control("POST", "/_sim/pause")
    try:
        truth = csim.control("GET", "/_sim/books")
        tokens = list(truth)[:30]
        books = httpx.post(csim.clob_url + "/books", json=[{"token_id": t} for t in tokens], timeout=10).json()
    finally:
        csim.control("POST", "/_sim/resume")
    for book in books:
        entry = truth[book["asset_id"]]
        assert entry["hash"] == book["hash"]
        assert entry["best_bid"] == (book["bids"][-1]["price"] if book["bids"] else None)
        assert entry["best_ask"] == (book["asks"][-1]["price"] if book["asks"] else None)
        assert entry["last_trade_price"] == book["last_trade_price"]


def test_sports_heartbeat_text_and_protocol(csim: SimHandle) -> None:
    async def answering() -> tuple[int, bool]:
        pings = 0
        async with connect(csim.sports_ws_url) as ws:
            await ws.send("PING")
            got_pong = False
            deadline = time.monotonic() + 1.4
            while time.monotonic() < deadline:
                try:
                    raw = await asyncio.wait_for(ws.recv(), deadline - time.monotonic())
                except TimeoutError:
                    break
                if raw == "ping":
                    pings += 1
                    await ws.send("pong")
                got_pong = got_pong or raw == "PONG"
        return pings, got_pong

    pings, got_pong = asyncio.run(answering())
    assert pings >= 2 and got_pong

    async def silent() -> int | None:
        # websockets answers protocol pings itself; never answering text pings gets us dropped.
        async with connect(csim.sports_ws_url) as ws:
            try:
                while True:
                    await asyncio.wait_for(ws.recv(), 6)
            except websockets.ConnectionClosed as exc:
                return exc.rcvd.code if exc.rcvd is not None else 1006
        return None

    assert asyncio.run(silent()) == 1006


def test_move_book_and_postpone(csim: SimHandle) -> None:
    added = csim.control("POST", "/_sim/games", {"league": "nba", "count": 1, "kickoff_in_s": 3600})
    event_id, (token0, token1) = added["event_ids"][0], added["token_ids"][:2]
    csim.control("POST", "/_sim/pause")
    try:
        async def moved() -> list[dict[str, Any]]:
            async with connect(csim.clob_ws_url) as ws:
                await ws.send(json.dumps({"type": "market", "assets_ids": [token0, token1]}))
                await ws.recv()  # the initial dump
                await asyncio.to_thread(csim.control, "POST", f"/_sim/book/{token1}",
                                        {"best_bid": 0.3, "best_ask": 0.34})
                return [json.loads(await asyncio.wait_for(ws.recv(), 5)) for _ in range(2)]
        frames = asyncio.run(moved())
        truth = csim.control("GET", "/_sim/books")
    finally:
        csim.control("POST", "/_sim/resume")
    # Moving token 1 to 0.30/0.34 puts its complement at 0.66/0.70; subscribers get both books.
    assert (truth[token1]["best_bid"], truth[token1]["best_ask"]) == ("0.3", "0.34")
    assert (truth[token0]["best_bid"], truth[token0]["best_ask"]) == ("0.66", "0.7")
    assert {f["asset_id"] for f in frames} == {token0, token1} and {f["event_type"] for f in frames} == {"book"}
    for bad in ({"best_bid": 0.5, "best_ask": 0.4}, {"best_bid": "x"}, {}):
        with pytest.raises(httpx.HTTPStatusError):
            csim.control("POST", f"/_sim/book/{token0}", bad)
    with pytest.raises(httpx.HTTPStatusError):
        csim.control("POST", "/_sim/book/123", {"best_bid": 0.3, "best_ask": 0.4})

    csim.control("POST", f"/_sim/game/{event_id}", {"postponed": True})
    wait_until(lambda: _event(csim, event_id)["period"] == "POST", 5)
