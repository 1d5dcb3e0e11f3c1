"""A replayed real recording, through the simulator, the games sync and the public API, is served as recorded.

Recordings: ../shared/upstream/fixtures/polymarket_web/cbb_initialState_extract_DERIVED.json (three
college-basketball events from the polymarket.com games page of 2026-01-27: a final, a postponed and a
canceled game). Expectations are computed from the recording itself: status from its period/live/ended,
home/away from the slug's team order and the league's recorded `/sports` ordering, score, market types,
lines, closed flags and the recorded top of book of open markets.

Which events the pipeline keeps: the games sync keeps events kicking off within its window around now
(games.services.LOOKBACK before … LOOKAHEAD after) and live ones. Replayed at the recording's own moment
(its newest `updatedAt`, 2026-01-27 14:17 UTC) the extract's games kicked off 23, 56 and 84 days earlier,
so the window keeps none of them and the API must not serve them. Each event is also replayed at the
moment its own state was settled (its finish, else its kickoff, plus a minute — `--recorded-at`), where
the window keeps it, and the API must serve it as recorded.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.test import Client

from games import services
from simulator.replay import kickoff_of, load_events, recorded_moment
from simulator.testing import run_simulator
from tests.conftest import FIXTURES, needs_shared
from tests.stream.simhelpers import games_ingest

pytestmark = [needs_shared, pytest.mark.django_db(transaction=True), pytest.mark.timeout(120)]

RECORDING = FIXTURES / "polymarket_web" / "cbb_initialState_extract_DERIVED.json"
SPORTS = FIXTURES / "alfagov" / "gamma_sports.json"  # a recorded Gamma /sports: each league's team ordering
MINUTE_MS = 60_000


def _events() -> list[dict[str, Any]]:
    return [event for event, _ in load_events(RECORDING)] if RECORDING.exists() else []


def _moment(which: str | int) -> int:
    """The recording's own moment, or the moment recorded event `which` was settled."""
    if which == "recording":
        moment = recorded_moment([(e, None) for e in _events()])
        assert moment is not None
        return moment
    event = _events()[int(which)]
    finished = event.get("finishedTimestamp")
    settled = int(datetime.fromisoformat(finished).timestamp() * 1000) if finished else kickoff_of(event)
    assert settled is not None
    return settled + MINUTE_MS


def _kept(event: dict[str, Any], moment: int) -> bool:
    kickoff = kickoff_of(event)
    if event.get("live") is True or kickoff is None:
        return True
    return -services.LOOKBACK <= timedelta(milliseconds=kickoff - moment) <= services.LOOKAHEAD


def _status(event: dict[str, Any]) -> str:
    period = str(event.get("period") or "").upper()
    if period == "POST":
        return "postponed"
    if period == "CAN":
        return "canceled"
    if event.get("ended") is True or period in ("VFT", "FT"):
        return "final"
    return "live" if event.get("live") is True else "scheduled"


def _home_away(event: dict[str, Any]) -> tuple[tuple[str, int | None], tuple[str, int | None]]:
    """((home abbreviation, score), (away abbreviation, score)) from the slug's and the score's team order."""
    league, first, second = str(event["slug"]).split("-")[:3]
    ordering = next(s["ordering"] for s in json.loads(SPORTS.read_text()) if s["sport"] == league)
    a, _, b = str(event.get("score") or "").partition("-")
    scores = (int(a), int(b)) if a.strip().isdigit() and b.strip().isdigit() else (None, None)
    teams = ((first, scores[0]), (second, scores[1]))
    return (teams[1], teams[0]) if ordering == "away" else (teams[0], teams[1])


def _as_list(value: Any) -> list[Any]:
    return json.loads(value) if isinstance(value, str) else list(value)


@pytest.mark.parametrize("which", ["recording", *range(len(_events()))])
def test_replayed_recording_is_served_as_recorded(which: str | int) -> None:
    events = _events()
    moment = _moment(which)
    kept = {str(e["id"]): e for e in events if _kept(e, moment)}
    if which != "recording":
        assert str(events[int(which)]["id"]) in kept  # its own settled moment lies inside the window
    args = ("--events-file", str(RECORDING), "--shift-to-now")
    if which != "recording":
        args += ("--recorded-at", str(moment))
    with run_simulator(seed=1, rate=0, extra_args=args) as sim:
        games_ingest(sim)
    api = Client()
    for event in events:
        response = api.get(f"/api/games/{event['id']}")
        if str(event["id"]) not in kept:
            assert response.status_code == 404, (event["id"], response.content[:200])
            continue
        assert response.status_code == 200, response.content[:200]
        game = response.json()["game"]
        frontend = api.get(f"/api/games/{event['id']}/frontend").json()["game"]
        (home, home_score), (away, away_score) = _home_away(event)
        status = _status(event)
        assert (game["status"], frontend["status"]) == (status, status)
        assert game["teamIdentifiers"] == {"home": home, "away": away}
        assert (frontend["homeTeam"]["abbr"], frontend["awayTeam"]["abbr"]) == (home.upper(), away.upper())
        assert (game["homeScore"], game["awayScore"]) == (home_score, away_score)
        served = {m["id"]: m for m in game["markets"]}
        assert set(served) == {str(m["id"]) for m in event["markets"]}
        for market in event["markets"]:
            out = served[str(market["id"])]
            assert (out["type"], out["line"], out["closed"]) == (
                market["sportsMarketType"], market.get("line"), market["closed"])
            assert out["clobTokenIds"] == [str(t) for t in _as_list(market["clobTokenIds"])]
            if not market["closed"] and "bestBid" in market and "bestAsk" in market:
                first = out["structuredOutcomes"][0]
                assert (first["bestBid"], first["bestAsk"]) == (market["bestBid"], market["bestAsk"])
