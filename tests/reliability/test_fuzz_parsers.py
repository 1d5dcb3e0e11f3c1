"""In-process fuzzing (hypothesis) of the upstream frame parsers: the CLOB market stream (BookStore.feed)
and the sports socket (LiveScores.frame_handle). Hostile frames never raise, and whatever state they
leave stays consistent and fits the database columns it is persisted to."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import math
import time
from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from games.live import GameLiveState
from stream.feed import BookStore, book_price
from stream.live_scores import LiveScores

INT32_MAX = 2**31 - 1
TOKENS = ["111", "222", "333"]
FUZZ = settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck), database=None)

json_scalars = (st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=True)
                | st.text(max_size=20))
json_values = st.recursive(json_scalars, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=12)
price_text = st.sampled_from(["0.5", "0.01", "0.99", "1", "0", "-0.3", "nan", "inf", "1e308", "", "abc", "0.5.5",
                              " 0.4 ", "١"]) | st.decimals(0, 1, places=3).map(str)
maybe = st.one_of


def _level() -> st.SearchStrategy[Any]:
    return maybe(st.fixed_dictionaries({"price": price_text, "size": price_text}), json_values)


def _market_event() -> st.SearchStrategy[dict[str, Any]]:
    token = maybe(st.sampled_from(TOKENS), json_values)
    ts = maybe(st.integers(0, 2**40), st.text(max_size=12), json_values)
    change = st.fixed_dictionaries({"asset_id": token, "price": price_text, "size": price_text,
                                    "side": maybe(st.sampled_from(["BUY", "SELL"]), json_values)},
                                   optional={"hash": st.text(max_size=8)})
    return st.one_of(
        st.fixed_dictionaries({"event_type": st.just("book"), "asset_id": token, "timestamp": ts,
                               "bids": st.lists(_level(), max_size=5), "asks": st.lists(_level(), max_size=5)},
                              optional={"last_trade_price": price_text, "market": st.text(max_size=6),
                                        "hash": st.text(max_size=8), "tick_size": json_values}),
        st.fixed_dictionaries({"event_type": st.just("price_change"), "timestamp": ts,
                               "price_changes": maybe(st.lists(change, max_size=5), json_values)},
                              optional={"market": st.text(max_size=6)}),
        st.fixed_dictionaries({"event_type": st.just("last_trade_price"), "asset_id": token, "price": price_text,
                               "timestamp": ts}, optional={"market": st.text(max_size=6)}),
        st.fixed_dictionaries({"event_type": st.just("tick_size_change"), "asset_id": token,
                               "new_tick_size": json_values}),
        st.dictionaries(st.text(max_size=10), json_values, max_size=5),
    )


def _encode(value: Any) -> bytes:
    """JSON as an upstream might send it: stdlib json keeps >64-bit integers and writes NaN/Infinity literals."""
    return json.dumps(value).encode()


market_frames = st.one_of(
    _market_event().map(_encode),
    st.lists(_market_event(), max_size=4).map(_encode),
    json_values.map(_encode),
    st.binary(max_size=200),
    st.text(max_size=200),
    _market_event().map(_encode).flatmap(lambda raw: st.integers(0, len(raw)).map(lambda n: raw[:n])),  # truncated
)


def _book_consistent(store: BookStore) -> None:
    for token, book in store.books.items():
        assert book.best_bid == (max(book.bids) if book.bids else None), token
        assert book.best_ask == (min(book.asks) if book.asks else None), token
        price = book_price(book)
        for field in ("bid", "ask", "mid", "last"):
            value = price[field]
            assert value is None or (isinstance(value, float) and math.isfinite(value)), (field, value)
        orjson.dumps(price)  # what the stream worker writes to the prices hash


@FUZZ
@given(st.lists(market_frames, min_size=1, max_size=12))
def test_market_stream_frames_never_crash_the_book_store(frames: list[bytes | str]) -> None:
    store = BookStore()
    store.track(TOKENS, {"111": "m1", "222": "m1"})
    for raw in frames:
        store.feed(raw)  # must not raise, whatever arrives
    assert store.counters.frames == len(frames)
    _book_consistent(store)
    # The books keep working for well-formed frames after the garbage.
    store.feed(orjson.dumps({"event_type": "book", "asset_id": "333", "timestamp": 2**41,
                             "bids": [{"price": "0.41", "size": "10"}], "asks": [{"price": "0.43", "size": "5"}]}))
    assert book_price(store.books["333"])["bid"] == 0.41 and book_price(store.books["333"])["ask"] == 0.43


def _live_game() -> GameLiveState:
    kickoff = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    return GameLiveState(pk=1, gamma_id="9001", ordering="away", kickoff=kickoff,
                    home_labels=frozenset({"bos", "celtics"}), away_labels=frozenset({"lal", "lakers"}),
                    score_raw="", home_score=None, away_score=None, period="", elapsed="", live=False, ended=False,
                    status="scheduled", period_scores={})


score_text = st.one_of(
    st.from_regex(r"\A\d{1,12}-\d{1,12}\Z"),
    st.from_regex(r"\A\d{1,3}-\d{1,3}(\(\d-\d\))?(, \d{1,3}-\d{1,3}){0,3}\Z"),
    st.from_regex(r"\A\d{3}-\d{3}\|\d{1,9}-\d{1,9}\|Bo\d{1,3}\Z"),
    st.text(max_size=100),
)
sports_frame = st.fixed_dictionaries(
    {"gameId": st.just(77), "score": maybe(score_text, json_values)},
    optional={"period": maybe(st.text(max_size=60), json_values), "elapsed": maybe(st.text(max_size=60), json_values),
              "live": maybe(st.booleans(), st.sampled_from(["true", "false", "yes"]), json_values),
              "ended": maybe(st.booleans(), json_values), "status": maybe(st.text(max_size=20), json_values),
              "homeTeam": json_values, "awayTeam": json_values},
)
sports_raw = st.one_of(sports_frame.map(_encode), sports_frame.map(_encode).flatmap(
    lambda raw: st.integers(0, len(raw)).map(lambda n: raw[:n])), json_values.map(_encode), st.text(max_size=100))


@FUZZ
@given(st.lists(sports_raw, min_size=1, max_size=10))
def test_sports_frames_never_crash_and_state_fits_the_database(frames: list[bytes | str]) -> None:
    state = LiveScores(fence=None)
    state.index = {77: _live_game()}
    state.loaded_at = time.monotonic()
    state.miss_refresh_at = math.inf  # never reload the index from the database in this in-process test

    async def feed() -> None:
        for raw in frames:
            await state.frame_handle(raw)

    asyncio.run(feed())
    assert state.frames == len(frames)
    game = state.index[77]
    for score in (game.home_score, game.away_score):
        assert score is None or 0 <= score <= INT32_MAX, score  # games.home_score/away_score are int4
    assert len(game.score_raw) <= 80 and len(game.period) <= 30 and len(game.elapsed) <= 30
    assert game.status in {"scheduled", "live", "final", "postponed", "canceled"}
    orjson.dumps(game.period_scores)  # stored as jsonb
