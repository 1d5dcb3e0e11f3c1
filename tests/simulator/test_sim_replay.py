"""Replay of recorded Gamma events (``--events-file``), including the frontend-shaped CBB extract."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import httpx

from simulator import schemas as S
from simulator.replay import FRONTEND_ONLY_KEYS, kickoff_of, recorded_moment
from simulator.testing import SimHandle, run_simulator
from tests.conftest import wait_until

from .conftest import FIXTURES, collect, needs_shared

CBB = FIXTURES / "polymarket_web" / "cbb_initialState_extract_DERIVED.json"


def _served(sim: SimHandle) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    events = httpx.get(sim.gamma_url + "/events", timeout=10).json()
    sports = httpx.get(sim.gamma_url + "/sports", timeout=10).json()
    teams = httpx.get(sim.gamma_url + "/teams", timeout=10).json()
    return events, sports, teams


@needs_shared
def test_replay_cbb_extract(tmp_path: Path) -> None:
    recorded = json.loads(CBB.read_text())["data"]
    recorded_events = {v["event"]["id"]: v["event"] for v in recorded.values()}
    with run_simulator(seed=1, rate=0, extra_args=("--events-file", str(CBB), "--shift-to-now")) as sim:
        state = sim.state()
        events, sports, teams = _served(sim)
        S.EventList.model_validate(events)
        assert state["mode"] == "replay"
        assert {e["id"] for e in events} == set(recorded_events)
        markets = [m for e in events for m in e["markets"]]
        tokens = [t for m in markets for t in json.loads(m["clobTokenIds"])]
        assert state["counts"] == {"leagues": 1, "teams": len(teams), "games": 3, "markets": len(markets),
                                   "tokens": len(tokens)}

        # Served in the raw Gamma shape: JSON-string fields, no frontend-only keys.
        for market in markets:
            assert isinstance(market["outcomes"], str) and isinstance(market["clobTokenIds"], str)
            assert not FRONTEND_ONLY_KEYS & set(market), FRONTEND_ONLY_KEYS & set(market)
        assert [s["sport"] for s in sports] == ["cbb"]
        assert sports[0]["ordering"] == "away" and sports[0]["series"] == "10470"
        by_abbr = {t["abbreviation"]: t for t in teams}
        assert {"indst", "drake", "blkbn", "eill", "sc", "cabap"} == set(by_abbr)
        assert by_abbr["drake"]["record"] == "(11-10)" and by_abbr["drake"]["name"] == "Drake Bulldogs"

        # --shift-to-now: the recording's moment (its newest updatedAt) is now, and every timestamp keeps
        # its distance to it; dates in slugs follow the kickoff.
        moment = recorded_moment([(e, None) for e in recorded_events.values()])
        served_moment = recorded_moment([(e, None) for e in events])
        assert moment is not None and served_moment is not None
        assert abs(served_moment / 1000 - time.time()) < 60
        for event in events:
            before = recorded_events[event["id"]]
            assert kickoff_of(event) - served_moment == kickoff_of(before) - moment  # type: ignore[operator]
            assert event["slug"].endswith(event["eventDate"])

        # Recorded sports state is kept: final, postponed, cancelled (still active).
        periods = {e["id"]: (e["period"], e["active"], e["ended"]) for e in events}
        assert periods["131132"] == ("VFT", True, True)
        assert periods["90157"][0] == "POST"
        assert periods["68076"] == ("CAN", True, True)
        assert all(e["gameId"] == recorded_events[e["id"]]["gameId"] for e in events)

        # Open markets get books seeded from their recorded prices; resolved ones have none.
        open_markets = [m for m in markets if not m["closed"]]
        closed_markets = [m for m in markets if m["closed"]]
        assert open_markets and closed_markets
        frames, _ = asyncio.run(collect(sim.clob_ws_url, {"type": "market", "assets_ids": tokens}, 0.5))
        dump = json.loads(frames[0])
        assert len(dump) == 2 * len(open_markets)
        for market in open_markets:
            rec = next(m for m in recorded_events[_event_of(events, market)]["markets"] if m["id"] == market["id"])
            token0 = json.loads(market["clobTokenIds"])[0]
            book = httpx.get(sim.clob_url + "/book", params={"token_id": token0}, timeout=10).json()
            if "bestBid" in rec:
                assert market["bestBid"] == rec["bestBid"] == float(book["bids"][-1]["price"])
            if "bestAsk" in rec:
                assert market["bestAsk"] == rec["bestAsk"] == float(book["asks"][-1]["price"])
            assert book["tick_size"] == f"{rec['orderPriceMinTickSize']:g}"
        closed_token = json.loads(closed_markets[0]["clobTokenIds"])[0]
        assert httpx.get(sim.clob_url + "/book", params={"token_id": closed_token}, timeout=10).status_code == 404
        served_path = tmp_path / "events.json"
        served_path.write_text(json.dumps(events))

    # The served events (raw Gamma: a bare array with JSON-string fields) replay to the same world.
    with run_simulator(seed=2, rate=0, extra_args=("--events-file", str(served_path))) as again:
        events2, _, teams2 = _served(again)
    assert [e["id"] for e in events2] == [e["id"] for e in events]
    assert [m["clobTokenIds"] for e in events2 for m in e["markets"]] == \
        [m["clobTokenIds"] for e in events for m in e["markets"]]
    assert {t["abbreviation"] for t in teams2} == {t["abbreviation"] for t in teams}


def _event_of(events: list[dict[str, Any]], market: dict[str, Any]) -> str:
    for event in events:
        if any(m["id"] == market["id"] for m in event["markets"]):
            return str(event["id"])
    raise KeyError(market["id"])


def test_replay_derives_teams_from_slugs_and_outcomes(tmp_path: Path) -> None:
    """Without team lists, teams come from slug abbreviations and moneyline outcomes."""
    event = {
        "id": "9001", "slug": "nba-bos-lal-2026-01-04", "title": "Celtics vs. Lakers", "active": True,
        "closed": False, "startDate": "2025-12-29T15:07:07.333949Z", "startTime": "2026-01-04T20:00:00Z",
        "endDate": "2026-01-04T20:00:00Z", "gameId": 12345, "period": "NS",
        "markets": [{
            "id": "77", "question": "Celtics vs. Lakers", "conditionId": "0x" + "ab" * 32,
            "slug": "nba-bos-lal-2026-01-04", "outcomes": '["Celtics", "Lakers"]', "outcomePrices": '["0.6", "0.4"]',
            "clobTokenIds": json.dumps([str(10**76 + 1), str(10**76 + 2)]), "active": True, "closed": False,
            "sportsMarketType": "moneyline", "orderPriceMinTickSize": 0.01, "gameStartTime": "2026-01-04 20:00:00+00",
        }],
    }
    path = tmp_path / "one.json"
    path.write_text(json.dumps([event]))
    with run_simulator(seed=1, rate=0, extra_args=("--events-file", str(path), "--shift-to-now")) as sim:
        events, sports, teams = _served(sim)
        book = httpx.get(sim.clob_url + "/book", params={"token_id": str(10**76 + 1)}, timeout=10).json()
    assert sports[0]["sport"] == "nba" and sports[0]["ordering"] == "away"
    assert sorted((t["abbreviation"], t["name"]) for t in teams) == [("bos", "Celtics"), ("lal", "Lakers")]
    assert all(isinstance(t["id"], int) for t in teams)
    bid, ask = float(book["bids"][-1]["price"]), float(book["asks"][-1]["price"])
    assert bid <= 0.6 <= ask
    assert json.loads(events[0]["markets"][0]["outcomePrices"])[0] == f"{(bid + ask) / 2:g}"


def _recording(moment: str) -> list[dict[str, Any]]:
    """A live game (Q3, 50-48) and a game recorded before its start although its kickoff had passed."""
    def event(eid: str, slug: str, kickoff: str, extra: dict[str, Any], token_base: int) -> dict[str, Any]:
        return {
            "id": eid, "slug": slug, "title": f"{eid} A vs. {eid} B", "active": True, "closed": False,
            "startDate": "2026-01-20T10:00:00.000000Z", "startTime": kickoff, "endDate": kickoff,
            "updatedAt": moment, "gameId": int(eid), **extra,
            "markets": [{
                "id": f"{eid}1", "question": f"{eid} A vs. {eid} B", "conditionId": "0x" + eid * 16,
                "slug": slug, "outcomes": json.dumps([f"{eid} A", f"{eid} B"]), "outcomePrices": '["0.6", "0.4"]',
                "clobTokenIds": json.dumps([str(token_base + 1), str(token_base + 2)]), "active": True,
                "closed": False, "sportsMarketType": "moneyline", "orderPriceMinTickSize": 0.01,
                "updatedAt": "2026-01-27T10:00:00.000000Z",
            }],
        }
    return [
        event("7001", "nba-aaa-bbb-2026-01-27", "2026-01-27T11:00:00Z",
              {"score": "50-48", "period": "Q3", "elapsed": "05:12", "live": True, "ended": False}, 10**70),
        event("7002", "nba-ccc-ddd-2026-01-27", "2026-01-27T11:55:00Z",
              {"score": "", "period": "NS", "live": False, "ended": False}, 2 * 10**70),
    ]


def _live_fields(sim: SimHandle) -> dict[str, tuple[Any, ...]]:
    events = httpx.get(sim.gamma_url + "/events", timeout=10).json()
    return {e["id"]: (e.get("period"), e.get("score"), e.get("live"), e.get("ended")) for e in events}


def test_replay_holds_the_recorded_state_unless_asked_to_play(tmp_path: Path) -> None:
    path = tmp_path / "moment.json"
    path.write_text(json.dumps(_recording("2026-01-27T12:00:00.000000Z")))
    recorded = {"7001": ("Q3", "50-48", True, False), "7002": ("NS", "", False, False)}
    with run_simulator(seed=1, rate=200, extra_args=("--events-file", str(path), "--shift-to-now",
                                                       "--gamma-lag-s", "0")) as sim:
        assert _live_fields(sim) == recorded
        # Kickoff times keep their distance to the moment: 7002 was due 5 minutes before it, yet not started.
        kickoffs = {e["id"]: kickoff_of(e) for e in httpx.get(sim.gamma_url + "/events", timeout=10).json()}
        assert abs(kickoffs["7002"] / 1000 + 300 - time.time()) < 60  # type: ignore[operator]
        wait_until(lambda: sim.control("GET", "/_sim/stats")["price_changes"] > 200, 20)  # ticks have run
        assert _live_fields(sim) == recorded
        assert sim.control("GET", "/_sim/stats")["sports_updates"] == 0

    # --recorded-at names the moment explicitly: an hour later, 7002 lies 65 minutes in the past.
    with run_simulator(seed=1, rate=0, extra_args=("--events-file", str(path), "--shift-to-now",
                                                     "--recorded-at", "2026-01-27T13:00:00Z")) as sim:
        kickoffs = {e["id"]: kickoff_of(e) for e in httpx.get(sim.gamma_url + "/events", timeout=10).json()}
        assert abs(kickoffs["7002"] / 1000 + 3900 - time.time()) < 60  # type: ignore[operator]

    # --replay-play: the overdue game kicks off, the live one plays on from Q3 and its recorded score.
    with run_simulator(seed=1, rate=0, extra_args=("--events-file", str(path), "--shift-to-now", "--replay-play",
                                                     "--gamma-lag-s", "0", "--game-speed", "200")) as sim:
        def moved() -> bool:
            fields = _live_fields(sim)
            a, b = (int(x) for x in fields["7001"][1].split("-"))
            assert a >= 50 and b >= 48 and fields["7001"][0] in ("Q3", "Q4", "OT", "VFT")
            return a + b > 98 and fields["7002"][0] != "NS"  # kicked off (at this speed, maybe over)
        wait_until(moved, 30)
