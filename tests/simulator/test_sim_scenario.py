"""The generated world: default sizes, Gamma wire conventions, counts == what Gamma serves, query semantics."""

from __future__ import annotations

import json
import re
import time
from collections import Counter
from typing import Any

import httpx
import pytest

from simulator.gameplay import CANCELLED, PRE
from simulator.gamma import GammaView
from simulator.scenario import build_scenario
from simulator.testing import SimHandle


@pytest.fixture(scope="module")
def default_day() -> Any:
    return build_scenario(seed=1, now_ms=1_777_000_000_000)


def test_default_scenario_is_a_realistic_day(default_day: Any) -> None:
    scenario = default_day
    counts = scenario.counts()
    assert counts["leagues"] == 8
    assert set(scenario.league_codes()) == {"nba", "nfl", "nhl", "mlb", "cbb", "epl", "lal", "atp"}
    assert len(scenario.games) == 150
    assert 150 <= counts["games"] <= 200  # soccer fixtures add "-more-markets" sibling events
    assert 11_000 <= counts["tokens"] <= 13_000
    assert counts["markets"] * 2 == counts["tokens"]
    kinds = Counter(m.kind for m in scenario.markets)
    assert kinds["moneyline"] >= 150 and kinds["spreads"] > 1500 and kinds["totals"] > 1500
    phases = Counter(g.state.phase for g in scenario.games)
    assert phases["pre"] > 30 and phases["live"] > 10 and phases["final"] > 20
    per_game = Counter(m.event.game.game_id for m in scenario.markets if m.kind != "moneyline")
    assert sum(per_game.values()) / len(per_game) > 30, "many spread/total lines per game"


def test_generated_markets_follow_gamma_conventions(default_day: Any) -> None:
    view = GammaView(default_day)
    games = [g for g in default_day.games if g.league.code == "nba"]
    teams = {t.abbreviation for t in default_day.teams["nba"]}
    game = games[0]
    event = view.event_json(game.events[0])
    slug = event["slug"]
    league, a, b = slug.split("-")[:3]
    assert league == "nba" and {a, b} <= teams and a == a.lower()
    assert re.fullmatch(r"nba-[a-z]+-[a-z]+-\d{4}-\d{2}-\d{2}", slug)
    assert event["title"] == f"{game.team_a.name} vs. {game.team_b.name}"
    assert game.team_a is game.away, "US leagues list the away team first"
    assert isinstance(event["gameId"], int) and isinstance(event["id"], str)
    assert isinstance(event["volume"], float) and isinstance(event["liquidity"], float)
    kickoff = event["startTime"]
    assert event["endDate"] == kickoff and event["startDate"] < kickoff  # listed before kickoff
    spreads = [m for m in event["markets"] if m["sportsMarketType"] == "spreads"]
    totals = [m for m in event["markets"] if m["sportsMarketType"] == "totals"]
    (moneyline,) = [m for m in event["markets"] if m["sportsMarketType"] == "moneyline"]
    assert len(spreads) > 5 and len(totals) > 5
    assert "line" not in moneyline and json.loads(moneyline["outcomes"]) == [game.team_a.name, game.team_b.name]
    for market in spreads:
        fav = json.loads(market["outcomes"])[0]
        assert market["line"] < 0
        assert market["question"] == f"Spread: {fav} ({market['line']:g})"
        side = "home" if fav == game.home.name else "away"
        assert market["slug"] == f"{slug}-spread-{side}-{str(-market['line']).replace('.', 'pt')}"
    for market in totals:
        assert json.loads(market["outcomes"]) == ["Over", "Under"]
        assert market["question"] == f"{event['title']}: O/U {market['line']:g}"
        assert market["slug"] == f"{slug}-total-{str(market['line']).replace('.', 'pt')}"
    for market in event["markets"]:
        assert isinstance(market["volume"], str) and isinstance(market["liquidity"], str)
        assert market["clobTokenIds"].count('", "') == 1
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\+00", market["gameStartTime"])


def test_soccer_three_way_and_more_markets_sibling(default_day: Any) -> None:
    view = GammaView(default_day)
    game = next(g for g in default_day.games if g.league.code == "epl" and len(g.events) == 2)
    main, sibling = (view.event_json(e) for e in game.events)
    assert game.team_a is game.home, "soccer lists the home team first"
    questions = [m["question"] for m in main["markets"]]
    date = main["eventDate"]
    assert questions == [f"Will {game.team_a.name} win on {date}?", f"Will {main['title']} end in a draw?",
                         f"Will {game.team_b.name} win on {date}?"]
    assert all(json.loads(m["outcomes"]) == ["Yes", "No"] and m["sportsMarketType"] == "moneyline"
               for m in main["markets"])
    assert main["negRisk"] is True
    assert sibling["slug"] == main["slug"] + "-more-markets"
    assert sibling["title"] == main["title"] + " - More Markets"
    assert sibling["gameId"] == main["gameId"]
    assert {m["sportsMarketType"] for m in sibling["markets"]} == {"spreads", "totals"}


def test_omitted_keys_cancelled_games_and_not_started_fields(default_day: Any) -> None:
    view = GammaView(default_day)
    no_bids = next(m for m in default_day.markets if m.book is not None and not m.book.bid_px)
    market = view.market_json(no_bids)
    assert "bestBid" not in market and "bestAsk" in market  # omitted, not null
    cancelled = next(g for g in default_day.games if g.state.phase == CANCELLED)
    event = view.event_json(cancelled.events[0])
    assert (event["period"], event["active"], event["closed"], event["ended"]) == ("CAN", True, False, True)
    pre = [view.event_json(g.events[0]) for g in default_day.games if g.state.phase == PRE]
    assert all(e["period"] == "NS" for e in pre)
    assert any("score" not in e for e in pre) and any(e.get("score") == "" for e in pre)


def _pages(sim: SimHandle, path: str, limit: int) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    while True:
        page = httpx.get(sim.gamma_url + path, params={"limit": limit, "offset": len(rows)}, timeout=30).json()
        rows += page
        if len(page) < limit:
            return rows


def test_state_counts_equal_what_gamma_serves(sim: SimHandle) -> None:
    state = sim.state()
    events = _pages(sim, "/events", 7)
    teams = _pages(sim, "/teams", 99)
    sports = httpx.get(sim.gamma_url + "/sports", timeout=10).json()
    markets = [m for e in events for m in e["markets"]]
    tokens = {t for m in markets for t in json.loads(m["clobTokenIds"])}
    assert state["counts"] == {"leagues": len(sports), "teams": len(teams), "games": len(events),
                               "markets": len(markets), "tokens": len(tokens)}
    assert state["leagues"] == [s["sport"] for s in sports]
    assert {t["league"] for t in teams} == set(state["leagues"])


def test_query_semantics(sim: SimHandle) -> None:
    def get(path: str, **params: Any) -> Any:
        return httpx.get(sim.gamma_url + path, params=params, timeout=30).json()

    events = get("/events", limit=500)
    assert len(get("/teams", limit=1000)) == 99, "teams limit is clamped silently"
    total_markets = sum(len(e["markets"]) for e in events)
    assert len(get("/markets", limit=100_000)) == min(total_markets, 500)
    a, b = events[0]["id"], events[1]["id"]
    repeated = httpx.get(f"{sim.gamma_url}/events?id={a}&id={b}", timeout=10).json()
    comma = get("/events", id=f"{a},{b}")
    assert [e["id"] for e in repeated] == [e["id"] for e in comma] == [a, b]
    with_unknown = get("/events", limit=500, no_such_param="x", another="1")
    assert [e["id"] for e in with_unknown] == [e["id"] for e in events], "unknown parameters are ignored"
    # start_date_* filters the LISTING date; start_time_* filters kickoff.
    event = events[0]
    after_listing = event["endDate"]
    by_kickoff = {e["id"] for e in get("/events", start_time_min=after_listing, limit=500)}
    by_listing = {e["id"] for e in get("/events", start_date_min=after_listing, limit=500)}
    assert event["id"] in by_kickoff and event["id"] not in by_listing
    series = event["series"][0]["id"]
    assert all(e["series"][0]["id"] == series for e in get("/events", series_id=series))
    tag = event["tags"][-1]["id"]
    assert all(any(t["id"] == tag for t in e["tags"]) for e in get("/events", tag_id=tag))
    closed = get("/events", closed="true", limit=500)
    assert all(e["closed"] for e in closed)
    ordered = get("/events", order="startTime", ascending="false", limit=500)
    starts = [e["startTime"] for e in ordered]
    assert starts == sorted(starts, reverse=True)
    game_id = event["gameId"]
    assert {e["gameId"] for e in get("/events", game_id=game_id)} == {game_id}
    assert httpx.get(sim.gamma_url + "/events/1", timeout=10).status_code == 404
    token = json.loads(event["markets"][0]["clobTokenIds"])[0]
    (by_token,) = get("/markets", clob_token_ids=token)
    assert by_token["id"] == event["markets"][0]["id"] and by_token["events"][0]["id"] == event["id"]


def test_clob_rest_details(sim: SimHandle) -> None:
    events = httpx.get(sim.gamma_url + "/events", params={"limit": 500}, timeout=30).json()
    market = next(m for e in events for m in e["markets"] if not m["closed"] and "bestBid" in m)
    token = json.loads(market["clobTokenIds"])[0]
    sim.control("POST", "/_sim/pause")  # the book and the prices read below are of one moment
    try:
        book = httpx.get(sim.clob_url + "/book", params={"token_id": token}, timeout=10).json()
        best_bid, best_ask = book["bids"][-1]["price"], book["asks"][-1]["price"]
        buy = httpx.get(sim.clob_url + "/price", params={"token_id": token, "side": "BUY"}).json()
        sell = httpx.get(sim.clob_url + "/price", params={"token_id": token, "side": "SELL"}).json()
    finally:
        sim.control("POST", "/_sim/resume")
    assert buy == {"price": best_bid} and sell == {"price": best_ask}
    assert book["last_trade_price"] == "" or re.fullmatch(r"\d\.\d{3}", book["last_trade_price"])
    now = httpx.get(sim.clob_url + "/time", timeout=10).json()
    assert isinstance(now, int) and abs(now - time.time()) < 5
    history = httpx.get(sim.clob_url + "/prices-history", params={"market": token, "interval": "1d", "fidelity": 60}
                        ).json()["history"]
    assert 20 <= len(history) <= 26 and all(isinstance(p["t"], int) for p in history)
    closed = next((m for e in events for m in e["markets"] if m["closed"]), None)
    if closed is not None:
        closed_token = json.loads(closed["clobTokenIds"])[0]
        fine = httpx.get(sim.clob_url + "/prices-history", params={"market": closed_token, "interval": "max",
                                                                   "fidelity": 1}).json()
        assert fine == {"history": []}
        assert httpx.get(sim.clob_url + "/book", params={"token_id": closed_token}).status_code == 404
    assert httpx.get(sim.clob_url + "/book", params={"token_id": "42"}).status_code == 404
    assert httpx.get(sim.clob_url + "/price", params={"token_id": token}).status_code == 400
