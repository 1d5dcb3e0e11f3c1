"""Market-socket behaviour and fault injection: agreement with REST, drops, heartbeat, caps, faults."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import websockets

from simulator.testing import SimHandle, run_simulator

from .conftest import SMALL, LocalBooks, collect, connect, flat, keepalive, open_tokens


def close_code(exc: websockets.ConnectionClosed | None) -> int | None:
    """1006 when the server vanished without a close frame."""
    if exc is None:
        return None
    return exc.rcvd.code if exc.rcvd is not None else 1006


@pytest.fixture(scope="module")
def fsim() -> Iterator[SimHandle]:
    """A simulator whose faults the tests change (and reset)."""
    with run_simulator(seed=21, rate=400, extra_args=(*SMALL, "--ping-timeout-s", "2")) as handle:
        yield handle


@pytest.fixture
def reset_faults(fsim: SimHandle) -> Iterator[SimHandle]:
    yield fsim
    fsim.control("POST", "/_sim/faults", {
        "drop_every_s": 0, "malformed_rate": 0, "truncated_rate": 0, "duplicate_rate": 0,
        "out_of_order_rate": 0, "http_error_rate": 0, "http_429_rate": 0, "latency_ms": 0, "ignore_ping": False,
    })


# ---------------------------------------------------------------------- REST == socket
def test_rest_book_equals_socket_state_after_pause(fsim: SimHandle) -> None:
    sim = fsim
    try:
        pairs = open_tokens(sim)[:120]
        tokens = flat(pairs)

        async def scenario() -> tuple[LocalBooks, dict[str, Any], dict[str, Any], list[dict[str, Any]]]:
            local = LocalBooks()
            async with connect(sim.clob_ws_url) as ws, \
                    httpx.AsyncClient(timeout=30) as client, keepalive(ws):
                await ws.send(json.dumps({"type": "market", "assets_ids": tokens}))
                deadline = time.monotonic() + 1.5
                while time.monotonic() < deadline:
                    local.on_text(await ws.recv())
                await client.post(sim.base + "/_sim/pause")
                quiet = time.monotonic() + 0.8
                while time.monotonic() < quiet:  # drain what was in flight when the engine stopped
                    try:
                        raw = await asyncio.wait_for(ws.recv(), 0.8)
                    except TimeoutError:
                        break
                    if raw != "PONG":
                        local.on_text(raw)
                        quiet = time.monotonic() + 0.8
                rest = (await client.post(sim.clob_url + "/books", json=[{"token_id": t} for t in tokens])).json()
                truth = (await client.get(sim.base + "/_sim/books")).json()
                events = (await client.get(sim.gamma_url + "/events", params={"limit": 500})).json()
            return local, {b["asset_id"]: b for b in rest}, truth, events

        local, rest, truth, events = asyncio.run(scenario())
    finally:
        sim.control("POST", "/_sim/resume")
    assert local.checked > 100
    for token in tokens:
        mine, theirs = local.books[token], rest[token]
        for key in ("bids", "asks", "hash", "timestamp", "tick_size", "last_trade_price"):
            assert mine[key] == theirs[key], (token, key)
        bids, asks = theirs["bids"], theirs["asks"]
        assert truth[token]["best_bid"] == (bids[-1]["price"] if bids else None)
        assert truth[token]["best_ask"] == (asks[-1]["price"] if asks else None)
        assert truth[token]["hash"] == theirs["hash"]
        assert truth[token]["last_trade_price"] == theirs["last_trade_price"]
    # Gamma's bestBid/bestAsk are outcome 0's top of book.
    gamma = {json.loads(m["clobTokenIds"])[0]: m for e in events for m in e["markets"]}
    for token0, _ in pairs:
        market, book = gamma[token0], rest[token0]
        if book["bids"]:
            assert market["bestBid"] == float(book["bids"][-1]["price"])
        else:
            assert "bestBid" not in market  # omitted, not null
        if book["asks"]:
            assert market["bestAsk"] == float(book["asks"][-1]["price"])


def test_pause_stops_and_resume_restarts_price_changes(fsim: SimHandle) -> None:
    fsim.control("POST", "/_sim/pause")
    try:
        before = fsim.control("GET", "/_sim/stats")["price_changes"]
        time.sleep(0.4)
        assert fsim.control("GET", "/_sim/stats")["price_changes"] == before
        assert fsim.state()["paused"] is True
    finally:
        fsim.control("POST", "/_sim/resume")
    time.sleep(0.4)
    assert fsim.control("GET", "/_sim/stats")["price_changes"] > before


# ---------------------------------------------------------------------- drops and faults
def test_drop_now_is_an_abnormal_closure(fsim: SimHandle) -> None:
    tokens = flat(open_tokens(fsim, 5))

    async def scenario() -> tuple[int | None, int | None]:
        async with connect(fsim.clob_ws_url) as market, \
                connect(fsim.sports_ws_url) as sports, keepalive(market):
            await market.send(json.dumps({"type": "market", "assets_ids": tokens}))
            await market.recv()
            async with httpx.AsyncClient() as client:
                dropped = (await client.post(fsim.base + "/_sim/drop")).json()
            assert dropped["market"] >= 1 and dropped["sports"] >= 1
            codes = []
            for ws in (market, sports):
                try:
                    while True:
                        await asyncio.wait_for(ws.recv(), 5)
                except websockets.ConnectionClosed as exc:
                    codes.append(close_code(exc))
            return codes[0], codes[1]

    assert asyncio.run(scenario()) == (1006, 1006)


def test_drop_every_s(reset_faults: SimHandle) -> None:
    sim = reset_faults
    sim.control("POST", "/_sim/faults", {"drop_every_s": 0.5})
    start = time.monotonic()
    _frames, closed = asyncio.run(collect(sim.clob_ws_url, {"type": "market", "assets_ids": []}, 5))
    assert close_code(closed) == 1006
    assert time.monotonic() - start < 3


def test_drop_every_s_keeps_its_rhythm_when_other_faults_change(reset_faults: SimHandle) -> None:
    """Setting other faults more often than the drop period must not postpone the drops."""
    sim = reset_faults

    async def scenario() -> tuple[float, float]:
        async with websockets.connect(sim.clob_ws_url) as ws, keepalive(ws):
            await ws.send(json.dumps({"type": "market", "assets_ids": []}))
            await asyncio.to_thread(sim.control, "POST", "/_sim/faults", {"drop_every_s": 1.0})

            async def closed_at() -> float:
                with contextlib.suppress(websockets.ConnectionClosed):
                    while True:
                        await ws.recv()
                return time.monotonic()

            closing = asyncio.create_task(closed_at())
            for rate in (0.01, 0.02, 0.03, 0.04, 0.05, 0.06):
                await asyncio.sleep(0.4)
                await asyncio.to_thread(sim.control, "POST", "/_sim/faults", {"malformed_rate": rate})
            last_set_at = time.monotonic()
            return await asyncio.wait_for(closing, 5), last_set_at

    closed, last_set = asyncio.run(scenario())
    assert closed < last_set


def test_429_carries_retry_after_and_5xx_and_latency(reset_faults: SimHandle) -> None:
    sim = reset_faults
    sim.control("POST", "/_sim/faults", {"http_429_rate": 1.0, "retry_after_s": 7})
    response = httpx.get(sim.gamma_url + "/events", timeout=10)
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "7"
    assert httpx.get(sim.clob_url + "/time", timeout=10).status_code == 429
    assert sim.state()["faults"]["http_429_rate"] == 1.0  # the control API is never faulted
    sim.control("POST", "/_sim/faults", {"http_429_rate": 0.0, "http_error_rate": 1.0})
    assert httpx.get(sim.gamma_url + "/sports", timeout=10).status_code in (500, 502, 503)
    sim.control("POST", "/_sim/faults", {"http_error_rate": 0.3})
    statuses = [httpx.get(sim.clob_url + "/time", timeout=10).status_code for _ in range(40)]
    assert 3 <= sum(s >= 500 for s in statuses) <= 25
    sim.control("POST", "/_sim/faults", {"http_error_rate": 0.0, "latency_ms": 300})
    start = time.monotonic()
    assert httpx.get(sim.gamma_url + "/sports", timeout=10).status_code == 200
    assert time.monotonic() - start >= 0.3
    with pytest.raises(httpx.HTTPStatusError):
        sim.control("POST", "/_sim/faults", {"malformed_rate": 2})
    with pytest.raises(httpx.HTTPStatusError):
        sim.control("POST", "/_sim/faults", {"no_such_fault": 1})


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def test_malformed_truncated_and_duplicate_frames_at_rate(reset_faults: SimHandle) -> None:
    sim = reset_faults
    tokens = flat(open_tokens(sim))
    sub = {"type": "market", "assets_ids": tokens}
    sim.control("POST", "/_sim/faults", {"malformed_rate": 0.3})
    frames, _ = asyncio.run(collect(sim.clob_ws_url, sub, 6, max_frames=400))
    bad = sum(not _is_json(f) for f in frames)
    assert len(frames) >= 200
    assert 0.15 <= bad / len(frames) <= 0.45, (bad, len(frames))

    sim.control("POST", "/_sim/faults", {"malformed_rate": 0.0, "truncated_rate": 0.2})
    frames, _ = asyncio.run(collect(sim.clob_ws_url, sub, 6, max_frames=400))
    truncated = [f for f in frames if not _is_json(f)]
    assert 0.08 <= len(truncated) / len(frames) <= 0.35
    assert all(t.startswith(("{", "[")) for t in truncated), "a truncated frame keeps its beginning"

    sim.control("POST", "/_sim/faults", {"truncated_rate": 0.0, "duplicate_rate": 0.3})
    frames, _ = asyncio.run(collect(sim.clob_ws_url, sub, 6, max_frames=400))
    repeats = sum(1 for a, b in itertools.pairwise(frames) if a == b)
    assert repeats >= 0.1 * len(frames)
    assert all(_is_json(f) for f in frames)


def test_out_of_order_frames(reset_faults: SimHandle) -> None:
    sim = reset_faults
    tokens = flat(open_tokens(sim))
    sim.control("POST", "/_sim/faults", {"out_of_order_rate": 0.3})
    frames, _ = asyncio.run(collect(sim.clob_ws_url, {"type": "market", "assets_ids": tokens}, 6, max_frames=400))
    stamps = [int(json.loads(f)["timestamp"]) for f in frames[1:] if '"price_change"' in f]
    inversions = sum(1 for a, b in itertools.pairwise(stamps) if b < a)
    assert inversions >= 10


# ---------------------------------------------------------------------- heartbeat
def test_ping_pong_and_idle_drop(reset_faults: SimHandle) -> None:
    sim = reset_faults

    async def pinging() -> tuple[list[str], Any]:
        frames: list[str] = []
        closed = None
        async with connect(sim.clob_ws_url) as ws:
            await ws.send(json.dumps({"type": "market", "assets_ids": []}))
            try:
                for _ in range(7):  # PING every 0.4 s keeps the socket alive past the 2 s timeout
                    await ws.send("PING")
                    deadline = time.monotonic() + 0.4
                    while time.monotonic() < deadline:
                        try:
                            frames.append(await asyncio.wait_for(ws.recv(), deadline - time.monotonic()))
                        except TimeoutError:
                            break
            except websockets.ConnectionClosed as exc:
                closed = exc
        return frames, closed

    frames, closed = asyncio.run(pinging())
    assert closed is None
    assert frames.count("PONG") >= 5

    start = time.monotonic()
    _, closed = asyncio.run(collect(sim.clob_ws_url, {"type": "market", "assets_ids": []}, 8, ping=False))
    assert close_code(closed) == 1006, "a socket that never PINGs is dropped without a close frame"
    waited = time.monotonic() - start
    assert waited >= 1.9 and waited <= 5

    sim.control("POST", "/_sim/faults", {"ignore_ping": True})

    async def ignored() -> list[str]:
        async with connect(sim.clob_ws_url) as ws:
            await ws.send(json.dumps({"type": "market", "assets_ids": []}))
            await ws.send("PING")
            got = []
            deadline = time.monotonic() + 0.6
            while time.monotonic() < deadline:
                try:
                    got.append(await asyncio.wait_for(ws.recv(), deadline - time.monotonic()))
                except TimeoutError:
                    break
            return got

    assert "PONG" not in asyncio.run(ignored())


# ---------------------------------------------------------------------- subscriptions
def test_first_frame_must_be_a_market_subscription(fsim: SimHandle) -> None:
    _, closed = asyncio.run(collect(fsim.clob_ws_url, {"operation": "subscribe", "assets_ids": ["1"]}, 3))
    assert close_code(closed) == 1008


def test_unknown_tokens_dump_an_empty_array(fsim: SimHandle) -> None:
    frames, _ = asyncio.run(collect(fsim.clob_ws_url, {"type": "market", "assets_ids": ["123456789"]}, 0.5))
    assert frames[0] == "[]"


def test_500_asset_cap_and_oversized_subscribe() -> None:
    with run_simulator(seed=8, rate=1500, extra_args=("--games", "14", "--leagues", "nba", "cbb")) as sim:
        pairs = open_tokens(sim)
        assert len(pairs) >= 300
        served, ignored = flat(pairs[:250]), flat(pairs[250:300])
        frames, closed = asyncio.run(collect(sim.clob_ws_url, {"type": "market", "assets_ids": served + ignored}, 2))
        assert closed is None
        dump = json.loads(frames[0])
        assert {b["asset_id"] for b in dump} <= set(served)
        mentioned = set()
        for raw in frames[1:]:
            frame = json.loads(raw)
            mentioned |= {e["asset_id"] for e in frame.get("price_changes", [])}
            if "asset_id" in frame:
                mentioned.add(frame["asset_id"])
        assert mentioned & set(served), "assets within the cap are updated"
        assert not mentioned & set(ignored), "assets beyond 500 silently get nothing"

        too_many = [str(10**70 + i) for i in range(2500)]
        start = time.monotonic()
        _, closed = asyncio.run(collect(sim.clob_ws_url, {"type": "market", "assets_ids": too_many}, 5))
        assert close_code(closed) == 1006
        assert time.monotonic() - start < 3


def test_unsubscribe_stops_updates(fsim: SimHandle) -> None:
    pairs = open_tokens(fsim)
    tokens = flat(pairs)
    gone = set(flat(pairs[: len(pairs) // 2]))

    async def scenario() -> tuple[set[str], set[str]]:
        async with connect(fsim.clob_ws_url) as a, \
                connect(fsim.clob_ws_url) as b:
            for ws in (a, b):
                await ws.send(json.dumps({"type": "market", "assets_ids": tokens}))
                await ws.recv()
            await a.send(json.dumps({"operation": "unsubscribe", "assets_ids": sorted(gone)}))
            await a.send("PING")
            while await asyncio.wait_for(a.recv(), 5) != "PONG":
                pass  # frames queued before the unsubscribe was processed
            seen: dict[Any, set[str]] = {a: set(), b: set()}

            async def read(ws: Any) -> None:
                deadline = time.monotonic() + 2
                while time.monotonic() < deadline:
                    try:
                        raw = await asyncio.wait_for(ws.recv(), 0.3)
                    except TimeoutError:
                        continue
                    if raw != "PONG":
                        seen[ws] |= {e["asset_id"] for e in json.loads(raw).get("price_changes", [])}

            async with keepalive(a), keepalive(b):
                await asyncio.gather(read(a), read(b))
            return seen[a], seen[b]

    seen_a, seen_b = asyncio.run(scenario())
    assert seen_b & gone, "the other socket proves those markets kept moving"
    assert not seen_a & gone
    assert seen_a - gone, "the remaining subscription still updates"


def test_dynamic_subscribe_sends_a_dump_for_new_assets(fsim: SimHandle) -> None:
    pairs = open_tokens(fsim)

    async def scenario() -> list[Any]:
        async with connect(fsim.clob_ws_url) as ws, keepalive(ws):
            await ws.send(json.dumps({"type": "market", "assets_ids": list(pairs[0])}))
            first = json.loads(await ws.recv())
            await ws.send(json.dumps({"operation": "subscribe", "assets_ids": list(pairs[1])}))
            while True:
                raw = await asyncio.wait_for(ws.recv(), 5)
                frame = None if raw == "PONG" else json.loads(raw)
                if isinstance(frame, list):
                    return [first, frame]

    first, second = asyncio.run(scenario())
    assert {b["asset_id"] for b in first} == set(pairs[0])
    assert {b["asset_id"] for b in second} == set(pairs[1])
