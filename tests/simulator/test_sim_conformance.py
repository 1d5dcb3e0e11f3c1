"""Recordings and simulator output validate against the SAME schemas (simulator/schemas.py)."""

from __future__ import annotations

import ast
import asyncio
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from pydantic import BaseModel, RootModel, ValidationError

from simulator import schemas as S
from simulator.testing import SimHandle, run_simulator

from .conftest import FIXTURES, collect, flat, needs_shared, open_tokens

Model = type[BaseModel] | type[RootModel[Any]]


def _json(rel: str) -> Any:
    return json.loads((FIXTURES / rel).read_text())


def _lines(rel: str, pyrepr: bool = False) -> list[Any]:
    parse: Callable[[str], Any] = ast.literal_eval if pyrepr else json.loads
    return [parse(line) for line in (FIXTURES / rel).read_text().splitlines() if line.strip()]


def _ws_recordings() -> list[Any]:
    frames: list[Any] = []
    frames += _lines("clob_ws/polybot_market_ws_2025-12-23.txt")
    frames += _lines("clob_ws/test_order_book_py_market_ws_2026-05-08.txt")
    frames += _lines("clob_ws/polypy_market_ws_2024-12-05_converted_to_newformat_pyrepr.txt", pyrepr=True)
    # The old-format session still has current-shape book/last_trade_price/tick_size_change frames.
    frames += [f for f in _lines("clob_ws/polypy_market_ws_2024-12-05_oldformat_pyrepr.txt", pyrepr=True)
               if not (isinstance(f, dict) and f.get("event_type") == "price_change")]
    return frames


def _ws_by_kind(kind: str) -> list[Any]:
    frames = _ws_recordings()
    if kind == "book_dump":
        return [f for f in frames if isinstance(f, list)]
    return [f for f in frames if isinstance(f, dict) and f.get("event_type") == kind]


# kind -> (schema, loader of recorded payloads)
RECORDED: dict[str, tuple[Model, Callable[[], list[Any]]]] = {
    "gamma_sports": (S.SportsList, lambda: [_json("alfagov/gamma_sports.json")]),
    "gamma_market_types": (S.MarketTypes, lambda: [_json("alfagov/gamma_sports_market_types.json")]),
    "gamma_teams": (S.TeamList, lambda: [_json("alfagov/gamma_teams_league_nba_limit_1.json")]),
    "gamma_event": (S.Event, lambda: [_json("alfagov/gamma_event_2890.json")]),
    "gamma_market": (S.Market, lambda: [
        _json("alfagov/gamma_market_239826.json"),
        _json("alfagov/gamma_market_239826_by_slug.json"),
        _json("gamma/gamma_market_531492_nba_totals_2025-03.json"),
        _json("gamma/gamma_market_550834_mlb_moneyline_2025-06_sortedkeys.json"),
    ]),
    "gamma_series": (S.Series, lambda: [_json("alfagov/gamma_series_11286.json"),
                                        *_json("alfagov/gamma_series_list_slug_power_slap_limit_1.json")]),
    "clob_book": (S.Book, lambda: [_json("alfagov/clob_book.json")]),
    "clob_books": (S.BookList, lambda: [_json("alfagov/clob_books_post.json")]),
    "clob_price": (S.Price, lambda: [_json("alfagov/clob_price_side_buy.json")]),
    "clob_midpoint": (S.Midpoint, lambda: [_json("alfagov/clob_midpoint.json")]),
    "clob_spread": (S.SpreadResponse, lambda: [_json("alfagov/clob_spread.json")]),
    "clob_tick_size": (S.TickSize, lambda: [_json("alfagov/clob_tick_size.json")]),
    "clob_neg_risk": (S.NegRisk, lambda: [_json("alfagov/clob_neg_risk.json")]),
    "clob_last_trade_price": (S.LastTrade, lambda: [_json("alfagov/clob_last_trade_price.json")]),
    "clob_prices_history": (S.PricesHistory,
                            lambda: [_json("alfagov/clob_prices_history_interval_1h_fidelity_60.json")]),
    "clob_time": (S.ServerTime, lambda: [json.loads((FIXTURES / "alfagov/clob_time.txt").read_text())]),
    "ws_book_dump": (S.WsBookDump, lambda: _ws_by_kind("book_dump")),
    "ws_price_change": (S.PriceChange, lambda: _ws_by_kind("price_change")),
    "ws_book": (S.WsBook, lambda: _ws_by_kind("book")),
    "ws_last_trade_price": (S.LastTradePrice, lambda: _ws_by_kind("last_trade_price")),
    "ws_tick_size_change": (S.TickSizeChange, lambda: _ws_by_kind("tick_size_change")),
    "sports_frame": (S.SportsFrame, lambda: _lines("sports_ws/polyoxide_sports_ws_frames_2026.jsonl")),
}


@needs_shared
@pytest.mark.parametrize("kind", sorted(RECORDED))
def test_recording_conforms(kind: str) -> None:
    model, load = RECORDED[kind]
    payloads = load()
    assert payloads, f"no recording for {kind}"
    for payload in payloads:
        model.model_validate(payload)


# ---------------------------------------------------------------------- simulator side
def _get(sim: SimHandle, path: str, **params: Any) -> Any:
    response = httpx.get(sim.base + path, params=params, timeout=30)
    assert response.status_code == 200, (path, response.status_code, response.text[:300])
    return response.json()


def _sim_rest(sim: SimHandle) -> dict[str, list[Any]]:
    events = _get(sim, "/gamma/events", limit=500)
    event = events[0]
    market = next(m for e in events for m in e["markets"] if not m["closed"])
    token = json.loads(market["clobTokenIds"])[0]
    series_id = event["series"][0]["id"]
    return {
        "gamma_sports": [_get(sim, "/gamma/sports")],
        "gamma_market_types": [_get(sim, "/gamma/sports/market-types")],
        "gamma_teams": [_get(sim, "/gamma/teams", league="nba", limit=1), _get(sim, "/gamma/teams")],
        "gamma_event": [_get(sim, f"/gamma/events/{event['id']}"), *events],
        "gamma_market": [_get(sim, f"/gamma/markets/{market['id']}"), *_get(sim, "/gamma/markets", limit=50),
                         *[m for e in events for m in e["markets"]]],
        "gamma_series": [_get(sim, f"/gamma/series/{series_id}"), *_get(sim, "/gamma/series")],
        "clob_book": [_get(sim, "/clob/book", token_id=token)],
        "clob_books": [httpx.post(sim.clob_url + "/books", json=[{"token_id": token}], timeout=30).json()],
        "clob_price": [_get(sim, "/clob/price", token_id=token, side="BUY"),
                       _get(sim, "/clob/price", token_id=token, side="SELL")],
        "clob_midpoint": [_get(sim, "/clob/midpoint", token_id=token)],
        "clob_spread": [_get(sim, "/clob/spread", token_id=token)],
        "clob_tick_size": [_get(sim, "/clob/tick-size", token_id=token)],
        "clob_neg_risk": [_get(sim, "/clob/neg-risk", token_id=token)],
        "clob_last_trade_price": [_get(sim, "/clob/last-trade-price", token_id=token)],
        "clob_prices_history": [_get(sim, "/clob/prices-history", market=token, interval="1h", fidelity=60),
                                _get(sim, "/clob/prices-history", market=token, interval="1d", fidelity=5)],
        "clob_time": [_get(sim, "/clob/time")],
    }


REST_KINDS = [k for k in sorted(RECORDED) if k.startswith(("gamma_", "clob_"))]


@pytest.fixture(scope="module")
def sim_rest(sim: SimHandle) -> dict[str, list[Any]]:
    return _sim_rest(sim)


@pytest.mark.parametrize("kind", REST_KINDS)
def test_simulator_rest_conforms(kind: str, sim_rest: dict[str, list[Any]]) -> None:
    model, _ = RECORDED[kind]
    payloads = sim_rest[kind]
    assert payloads
    for payload in payloads:
        model.model_validate(payload)


def test_strict_schema_rejects_decoded_arrays_and_wrong_types() -> None:
    """The schemas are strict: the frontend's decoded arrays or numeric ids are not Gamma's wire format."""
    market = {"id": "1", "question": "q", "conditionId": "0x" + "ab" * 32, "slug": "s", "active": True,
              "closed": False, "outcomes": ["Yes", "No"], "outcomePrices": '["0.5", "0.5"]'}
    with pytest.raises(ValidationError):
        S.Market.model_validate(market)
    market["outcomes"] = '["Yes","No"]'  # compact separators are not what the server writes
    with pytest.raises(ValidationError):
        S.Market.model_validate(market)
    market["outcomes"] = '["Yes", "No"]'
    S.Market.model_validate(market)
    with pytest.raises(ValidationError):
        S.Market.model_validate({**market, "id": 1})
    with pytest.raises(ValidationError):
        S.SportsFrame.model_validate({"gameId": 1, "leagueAbbreviation": "nba", "score": "", "period": "Q1",
                                      "live": True, "ended": False, "type": "game"})
    with pytest.raises(ValidationError):
        S.ServerTime.model_validate("1777102280")


@pytest.fixture(scope="module")
def sim_ws_frames() -> dict[str, list[Any]]:
    """Frames of every market-socket type from a live simulator (a game is forced final to get
    prices across 0.96/0.04, which produces tick_size_change)."""
    with run_simulator(seed=3, rate=500, extra_args=("--games", "2", "--leagues", "nhl")) as sim:
        new = sim.control("POST", "/_sim/games", {"league": "nhl", "count": 1, "kickoff_in_s": 0})
        tokens = flat(open_tokens(sim))

        async def scenario() -> list[str]:
            async def force() -> None:
                await asyncio.sleep(0.5)
                async with httpx.AsyncClient() as client:
                    await client.post(f"{sim.base}/_sim/game/{new['event_ids'][0]}",
                                      json={"score": "6-0", "ended": True})

            task = asyncio.get_running_loop().create_task(force())
            frames, _ = await collect(sim.clob_ws_url, {"type": "market", "assets_ids": tokens}, 15,
                                      until=_SeenAll())
            await task
            return frames

        raw = asyncio.run(scenario())
    out: dict[str, list[Any]] = {"book_dump": [json.loads(raw[0])]}
    for text in raw[1:]:
        frame = json.loads(text)
        out.setdefault(frame["event_type"], []).append(frame)
    return out


class _SeenAll:
    """``until`` predicate: stop once every market-socket event type has arrived."""

    KINDS = ("price_change", "book", "last_trade_price", "tick_size_change")

    def __init__(self) -> None:
        self.seen: set[str] = set()

    def __call__(self, frames: list[str]) -> bool:
        last = frames[-1]
        for kind in self.KINDS:
            if f'"event_type":"{kind}"' in last and not last.startswith("["):
                self.seen.add(kind)
        return len(self.seen) == len(self.KINDS)


@pytest.mark.parametrize("kind", ["ws_book_dump", "ws_price_change", "ws_book", "ws_last_trade_price",
                                  "ws_tick_size_change"])
def test_simulator_ws_conforms(kind: str, sim_ws_frames: dict[str, list[Any]]) -> None:
    model, _ = RECORDED[kind]
    frames = sim_ws_frames.get(kind.removeprefix("ws_"), [])
    assert frames, f"the simulator sent no {kind} frame"
    for frame in frames:
        model.model_validate(frame)
    if kind == "ws_book_dump":
        assert isinstance(frames[0], list) and frames[0], "the initial dump is one non-empty JSON array"
        assert all("tick_size" in b and "last_trade_price" in b for b in frames[0])
    if kind == "ws_book":
        assert all("tick_size" not in b and "last_trade_price" not in b for b in frames)
    if kind == "ws_price_change":
        for frame in frames:
            a, b = frame["price_changes"][:2]
            assert a["side"] != b["side"], "the mirrored entry is on the opposite side"
            assert abs(float(a["price"]) + float(b["price"]) - 1) < 1e-9, "the mirrored entry is at 1-p"
            assert a["size"] == b["size"]


def test_simulator_sports_frames_conform() -> None:
    with run_simulator(seed=5, rate=10, extra_args=("--games", "2", "--leagues", "nfl", "epl", "--game-speed",
                                                    "1500", "--sports-heartbeat", "protocol")) as sim:
        sim.control("POST", "/_sim/games", {"league": "nfl", "count": 1, "kickoff_in_s": 0.3})
        sim.control("POST", "/_sim/games", {"league": "epl", "count": 1, "kickoff_in_s": 0.3})
        frames, _ = asyncio.run(collect(sim.sports_ws_url, None, 4, ping=False, until=lambda fr: len(fr) >= 40))
    decoded = [json.loads(f) for f in frames]
    assert len(decoded) >= 10
    for frame in decoded:
        assert isinstance(frame, dict)
        S.SportsFrame.model_validate(frame)
    leagues = {f["leagueAbbreviation"] for f in decoded}
    assert {"nfl", "epl"} <= leagues
    nfl = [f for f in decoded if f["leagueAbbreviation"] == "nfl"]
    assert all(f["homeTeam"].isupper() and f["awayTeam"].isupper() for f in nfl), "US leagues send abbreviations"
    assert any(f["period"].startswith("Q") for f in nfl)
    epl = [f for f in decoded if f["leagueAbbreviation"] == "epl"]
    assert all(f["eventState"]["type"] == "soccer" for f in epl)
