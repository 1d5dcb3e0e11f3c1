"""``book_hash`` reproduces the recorded hashes (README §3.7) and every hash the simulator sends."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx

from simulator.hashing import apply_price_change, book_hash
from simulator.testing import SimHandle

from .conftest import FIXTURES, LocalBooks, collect, flat, needs_shared, open_tokens


def _lines(rel: str) -> list[Any]:
    return [json.loads(line) for line in (FIXTURES / rel).read_text().splitlines() if line.strip()]


@needs_shared
def test_rest_book_captures_verify() -> None:
    book = json.loads((FIXTURES / "alfagov/clob_book.json").read_text())
    assert book_hash(book) == book["hash"]
    for book in json.loads((FIXTURES / "alfagov/clob_books_post.json").read_text()):
        assert book_hash(book) == book["hash"]


@needs_shared
def test_polybot_2025_12_session_verifies() -> None:
    dump, price_change, post_trade_book = _lines("clob_ws/polybot_market_ws_2025-12-23.txt")
    for book in dump:  # 2025-12 dump books carry no tick_size: the hash used "0.01"
        assert book_hash(book) == book["hash"]
    books = {b["asset_id"]: b for b in dump}
    for entry in price_change["price_changes"]:
        # A trade happened between the dump and this frame: the server's last_trade_price was 0.490.
        updated = apply_price_change(books[entry["asset_id"]], entry)
        updated.update(timestamp=price_change["timestamp"], last_trade_price="0.490")
        assert book_hash(updated) == entry["hash"]
    assert book_hash({**post_trade_book, "last_trade_price": "0.500"}) == post_trade_book["hash"]


@needs_shared
def test_order_book_2026_05_book_and_price_change_verify() -> None:
    dump, price_change = _lines("clob_ws/test_order_book_py_market_ws_2026-05-08.txt")
    (book,) = dump
    assert book_hash(book) == book["hash"]
    entry = next(e for e in price_change["price_changes"] if e["asset_id"] == book["asset_id"])
    updated = apply_price_change(book, entry)
    updated["timestamp"] = price_change["timestamp"]
    assert book_hash(updated) == entry["hash"]


def test_hash_key_order_and_defaults() -> None:
    book = {"market": "0x" + "1" * 64, "asset_id": "123", "timestamp": 1761179949036, "hash": "x",
            "bids": [{"price": "0.4", "size": "10"}], "asks": []}
    explicit = {**book, "timestamp": "1761179949036", "min_order_size": "5", "tick_size": "0.01",
                "neg_risk": False, "last_trade_price": ""}
    assert book_hash(book) == book_hash(explicit)
    assert book_hash(book) != book_hash({**explicit, "neg_risk": True})


def test_every_simulator_hash_verifies_over_a_real_socket(sim: SimHandle) -> None:
    tokens = flat(open_tokens(sim))[:400]
    frames, closed = asyncio.run(collect(sim.clob_ws_url, {"type": "market", "assets_ids": tokens}, 2.5))
    assert closed is None
    local = LocalBooks()
    kinds: set[str] = set()
    for raw in frames:
        frame = json.loads(raw)
        kinds.add("dump" if isinstance(frame, list) else frame["event_type"])
        local.on_frame(frame)
    assert {"dump", "price_change"} <= kinds
    assert local.checked > 200, local.checked
    # The REST book of each token is the socket state: same hash as the last frame for it.
    for token in tokens[:20]:
        rest = httpx.get(sim.clob_url + "/book", params={"token_id": token}, timeout=10).json()
        assert book_hash(rest) == rest["hash"]
