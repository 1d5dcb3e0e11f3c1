"""Order books from socket frames: snapshots, absolute-size changes, hashes, and hostile input."""

from __future__ import annotations

import json

import orjson
import pytest

from stream.feed import BookStore, book_price
from tests.conftest import FIXTURES, needs_shared

T = "tok-a"


def _book_frame(ts: int, bids: list[tuple[str, str]], asks: list[tuple[str, str]], **extra: str) -> dict:
    return {
        "event_type": "book", "market": "0xm", "asset_id": T, "timestamp": str(ts), "hash": "",
        "bids": [{"price": p, "size": s} for p, s in bids], "asks": [{"price": p, "size": s} for p, s in asks],
        **extra,
    }


def _change(ts: int, price: str, size: str, side: str, token: str = T) -> bytes:
    entry = {"asset_id": token, "price": price, "size": size, "side": side, "hash": ""}
    return orjson.dumps({"event_type": "price_change", "market": "0xm", "timestamp": str(ts), "price_changes": [entry]})


def _store() -> BookStore:
    store = BookStore()
    store.track([T])
    store.feed(orjson.dumps([_book_frame(1000, [("0.40", "10"), ("0.45", "5")], [("0.55", "7"), ("0.60", "3")],
                                         last_trade_price="0.500")]))
    return store


def test_snapshot_then_absolute_changes_give_best_prices() -> None:
    store = _store()
    book = store.books[T]
    assert (book.best_bid, book.best_ask, book.last) == (0.45, 0.55, 0.5)
    store.feed(_change(1001, "0.47", "12", "BUY"))  # new best bid
    store.feed(_change(1002, "0.55", "0", "SELL"))  # best ask removed -> next level
    store.feed(_change(1003, "0.40", "99", "BUY"))  # absolute size, not a delta
    assert (book.best_bid, book.best_ask) == (0.47, 0.60)
    assert book.bids[0.40][1] == "99"
    price = book_price(book)
    assert price["mid"] == 0.535 and price["ts"] == 1003


def test_out_of_order_and_duplicate_frames_never_overwrite_newer_state() -> None:
    store = _store()
    book = store.books[T]
    newer, older = _change(1010, "0.45", "0", "BUY"), _change(1005, "0.45", "50", "BUY")
    store.feed(newer)
    store.feed(older)  # arrives late: the level stays removed
    store.feed(newer)  # exact duplicate frame
    assert 0.45 not in book.bids and book.best_bid == 0.40
    assert store.counters.duplicates == 1 and store.counters.stale == 1
    store.feed(_change(999, "0.70", "1", "SELL"))  # older than the snapshot itself
    assert 0.70 not in book.asks
    # A late snapshot keeps levels that changed after it was taken.
    store.feed(orjson.dumps(_book_frame(1007, [("0.45", "5"), ("0.30", "1")], [("0.60", "3")])))
    assert 0.45 not in book.bids and 0.30 in book.bids and book.best_ask == 0.60


def test_hostile_frames_are_counted_and_skipped() -> None:
    store = _store()
    good = _change(1020, "0.46", "1", "BUY")
    for raw in (b"PONG", b"INVALID OPERATION", good[: len(good) // 2], b"{]", b"42", b"[1, 2]",
                orjson.dumps({"event_type": "price_change", "timestamp": "x", "price_changes": []}),
                orjson.dumps({"event_type": "price_change", "timestamp": "5", "price_changes": [{"asset_id": T}]}),
                orjson.dumps({"event_type": "book", "asset_id": T})):
        store.feed(raw)
    counters = store.counters
    assert counters.non_json == 2 and counters.malformed == 8  # "[1, 2]" holds two bad items
    store.feed(orjson.dumps([orjson.loads(good)]))  # array-wrapped later frame still applies
    assert store.books[T].best_bid == 0.46


def _stamped(stamp: str) -> bytes:
    """A price_change frame with `stamp` written into its JSON as it is (a number past 64 bits, a string...)."""
    return (b'{"event_type": "price_change", "market": "0xm", "timestamp": ' + stamp.encode()
            + b', "price_changes": [{"asset_id": "tok-a", "price": "0.49", "size": "3", "side": "BUY"}]}')


def test_timestamps_beyond_any_clock_are_malformed_and_block_nothing() -> None:
    """A frame or REST book stamped past 2**53 ms, below 0 or with a boolean is skipped: kept, it would hold back
    every later frame of its book, and the book's price would no longer encode (the fuzz test met 2**64)."""
    store = _store()
    for stamp in (str(2**64), '"99999999999999999999999"', str(2**53), "-5", "true"):
        store.feed(_stamped(stamp))
    book = store.books[T]
    assert store.counters.malformed == 5
    assert 0.49 not in book.bids and book.ts == 1000
    assert orjson.loads(orjson.dumps(book_price(book)))["ts"] == 1000
    store.feed(_stamped('"1001"'))  # the next real frame still applies
    assert book.best_bid == 0.49
    with pytest.raises(ValueError, match="out of range"):
        store.apply_rest_book({"asset_id": T, "timestamp": str(2**60), "bids": [], "asks": []})


def test_dump_after_reconnect_replaces_what_was_missed_but_keeps_newer_levels() -> None:
    store = _store()
    store.feed(_change(5000, "0.49", "4", "BUY"))
    store.feed(_change(5001, "0.41", "6", "BUY"))
    # Reconnect: while we were away 0.49 was cancelled and 0.41 changed; the dump (taken at 5100) says so.
    # A change at 5200 arrived first through the sibling token's socket: the older dump must not undo it.
    store.feed(_change(5200, "0.42", "9", "BUY"))
    store.expect_dump([T])
    store.feed(orjson.dumps([_book_frame(5100, [("0.40", "10"), ("0.41", "8")], [("0.70", "2")],
                                         last_trade_price="0.310")]))
    book = store.books[T]
    assert {p: lv[1] for p, lv in book.bids.items()} == {0.40: "10", 0.41: "8", 0.42: "9"}
    assert (book.best_bid, book.best_ask, book.last) == (0.42, 0.70, 0.31)
    assert not store.awaiting_dump


def test_last_trade_moves_for_both_tokens_of_the_market() -> None:
    store = BookStore()
    store.track(["yes", "no"], {"yes": "0xm", "no": "0xm"})
    trade = {"event_type": "last_trade_price", "asset_id": "yes", "market": "0xm", "price": "0.43",
             "side": "BUY", "size": "5", "timestamp": "10"}
    store.feed(orjson.dumps(trade))
    assert store.books["yes"].last_str == store.books["no"].last_str == "0.430"  # the books' 3-decimal form
    assert store.dirty == {"yes", "no"}


@needs_shared
def test_hashes_verify_against_recorded_frames() -> None:
    lines = (FIXTURES / "clob_ws" / "test_order_book_py_market_ws_2026-05-08.txt").read_text().splitlines()
    dump = json.loads(lines[0])
    token = dump[0]["asset_id"]
    store = BookStore()
    store.track([token])
    store.feed(lines[0].encode())
    assert store.books[token].verify_pending() is True  # the dump's own hash
    store.feed(lines[1].encode())
    assert store.books[token].verify_pending() is True  # the price_change entry's hash after applying it


@needs_shared
def test_unverifiable_hash_is_a_mismatch_but_next_book_verifies() -> None:
    # 2025-12 session: the price_change hashes use a last trade the client never saw (README §3.7).
    lines = (FIXTURES / "clob_ws" / "polybot_market_ws_2025-12-23.txt").read_text().splitlines()
    tokens = [b["asset_id"] for b in json.loads(lines[0])]
    store = BookStore()
    store.track(tokens)
    store.feed(lines[0].encode())
    assert all(store.books[t].verify_pending() for t in tokens)
    store.feed(lines[1].encode())
    assert store.books[tokens[0]].verify_pending() is False
    store.feed(lines[2].encode())
    post_trade = json.loads(lines[2])["asset_id"]
    assert store.books[post_trade].verify_pending() is True


@needs_shared
def test_rest_book_hash_recomputes() -> None:
    body = json.loads((FIXTURES / "alfagov" / "clob_book.json").read_text())
    store = BookStore()
    store.track([body["asset_id"]])
    assert store.apply_rest_book(body)
    book = store.books[body["asset_id"]]
    assert book.hash_with(body["last_trade_price"], int(body["timestamp"])) == body["hash"]
    assert book.best_bid == max(float(b["price"]) for b in body["bids"])
