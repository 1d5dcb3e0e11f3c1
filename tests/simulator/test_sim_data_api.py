"""The data API under /data: Polymarket's wire shapes, its parameter rules, and trades that are the engine's fills."""

from __future__ import annotations

import asyncio
import json

import httpx

from simulator.testing import SimHandle
from tests.conftest import wait_until
from tests.simulator.conftest import connect

TRADE_KEYS = {"proxyWallet", "side", "asset", "conditionId", "size", "price", "timestamp", "title", "slug", "icon",
              "eventSlug", "outcome", "outcomeIndex", "name", "pseudonym", "bio", "profileImage",
              "profileImageOptimized", "transactionHash"}
HOLDER_KEYS = {"proxyWallet", "bio", "asset", "pseudonym", "amount", "displayUsernamePublic", "outcomeIndex", "name",
               "profileImage", "profileImageOptimized", "verified"}


def _markets(sim: SimHandle) -> list[dict]:
    return [m for e in httpx.get(sim.gamma_url + "/events", timeout=10).json() for m in e["markets"]]


def test_holders_shape_and_limits(sim: SimHandle) -> None:
    market = _markets(sim)[0]
    tokens = json.loads(market["clobTokenIds"])
    body = httpx.get(sim.data_api_url + "/holders", params={"market": market["conditionId"], "limit": 3}).json()
    assert [entry["token"] for entry in body] == tokens
    for entry in body:
        assert 0 < len(entry["holders"]) <= 3
        amounts = [h["amount"] for h in entry["holders"]]
        assert amounts == sorted(amounts, reverse=True) and all(a >= 1 for a in amounts)
        for holder in entry["holders"]:
            assert set(holder) == HOLDER_KEYS and holder["asset"] == entry["token"]
            assert isinstance(holder["amount"], float) and isinstance(holder["outcomeIndex"], int)
    assert httpx.get(sim.data_api_url + "/holders", params={"market": market["conditionId"], "limit": 0}).json() is None
    unknown = httpx.get(sim.data_api_url + "/holders", params={"market": "0x" + "0" * 64})
    assert unknown.status_code == 200 and unknown.json() == []


def test_trades_are_the_socket_fills_newest_first(sim: SimHandle) -> None:
    markets = {m["conditionId"]: m for m in _markets(sim)}
    tokens = [t for m in markets.values() for t in json.loads(m["clobTokenIds"])]

    async def one_fill() -> dict:
        async with connect(sim.clob_ws_url) as ws:
            await ws.send(json.dumps({"type": "market", "assets_ids": tokens[:400]}))
            while True:
                frame = json.loads(await ws.recv())
                if isinstance(frame, dict) and frame.get("event_type") == "last_trade_price":
                    return frame

    fill = asyncio.run(asyncio.wait_for(one_fill(), 60))
    found = wait_until(lambda: next((t for t in httpx.get(sim.data_api_url + "/trades", params={
        "market": fill["market"], "limit": 500}).json() if t["transactionHash"] == fill["transaction_hash"]), None), 10)
    assert set(found) == TRADE_KEYS and found["asset"] == fill["asset_id"] and found["side"] == fill["side"]
    assert found["price"] == float(fill["price"]) and found["size"] == float(fill["size"])
    assert found["timestamp"] == int(fill["timestamp"]) // 1000
    market = markets[fill["market"]]
    assert found["outcome"] == json.loads(market["outcomes"])[found["outcomeIndex"]]
    page = httpx.get(sim.data_api_url + "/trades", params={"market": fill["market"]}).json()
    assert [t["timestamp"] for t in page] == sorted((t["timestamp"] for t in page), reverse=True)
    for bad in ({"limit": "10001"}, {"offset": "-1"}, {"limit": "abc"}):
        response = httpx.get(sim.data_api_url + "/trades", params={"market": fill["market"], **bad})
        assert response.status_code == 400 and "error" in response.json()
