"""The recorded upstream payloads, parsed and ingested: orientation, market types, lines, status."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from games import parse, rules, services
from games.models import Game, League, Team
from games.rules import TeamIndex
from games.upstream import GammaClient
from markets.models import Market, Outcome
from tests.conftest import FIXTURES, needs_shared

pytestmark = needs_shared

CBB = FIXTURES / "polymarket_web" / "cbb_initialState_extract_DERIVED.json"
NBA_TOTALS = FIXTURES / "gamma" / "gamma_market_531492_nba_totals_2025-03.json"
MLB_MONEYLINE = FIXTURES / "gamma" / "gamma_market_550834_mlb_moneyline_2025-06_sortedkeys.json"
SPORTS = FIXTURES / "alfagov" / "gamma_sports.json"
TEAMS_NBA = FIXTURES / "alfagov" / "gamma_teams_league_nba_limit_1.json"
EVENT_2890 = FIXTURES / "alfagov" / "gamma_event_2890.json"
SPORTS_WS = FIXTURES / "sports_ws" / "polyoxide_sports_ws_frames_2026.jsonl"


def _load(path: Any) -> Any:
    return json.loads(path.read_text())


def _cbb() -> dict[str, Any]:
    return _load(CBB)["data"]


def _as_raw_gamma(event: dict[str, Any]) -> dict[str, Any]:
    """The web extract has decoded arrays; raw Gamma sends JSON-encoded strings. Serve the raw shape."""
    raw = dict(event)
    raw["markets"] = [
        {**m, **{k: json.dumps(m[k]) for k in ("outcomes", "outcomePrices", "clobTokenIds") if k in m}}
        for m in event["markets"]
    ]
    return raw


def _gamma_transport(routes: dict[str, Any]) -> httpx.MockTransport:
    """A Gamma stand-in at the network edge: path → JSON body (first page only; later pages empty)."""

    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.params.get("offset", "0") not in ("0", ""):
            return httpx.Response(200, json=[])
        return httpx.Response(200, json=routes.get(request.url.path, []))

    return httpx.MockTransport(handle)


@pytest.mark.django_db
def test_sports_fixture_gives_series_and_ordering(settings: Any) -> None:
    settings.GAMES_LEAGUES = ["nba", "cbb", "epl", "atp", "mlb"]
    settings.GAMES_SERIES_OVERRIDES = []
    with GammaClient("http://gamma.test", transport=_gamma_transport({"/sports": _load(SPORTS)})) as client:
        report = services.leagues_sync(client)
    assert report.upserted == 5 and report.skipped == 0
    leagues = {lg.code: lg for lg in League.objects.all()}
    assert leagues["nba"].series_ids == ["10345"] and leagues["nba"].ordering == "away"
    assert leagues["cbb"].series_ids == ["10470"] and leagues["cbb"].ordering == "away"
    assert leagues["mlb"].series_ids == ["3"] and leagues["mlb"].ordering == "away"
    assert leagues["epl"].ordering == "home" and leagues["atp"].ordering == "home"
    assert leagues["epl"].tag_ids == ["1", "82", "306", "100639", "100350"]


@pytest.mark.django_db
def test_teams_fixture() -> None:
    league = League.objects.create(code="nba", series_ids=["10345"], ordering="away")
    with GammaClient("http://gamma.test", transport=_gamma_transport({"/teams": _load(TEAMS_NBA)})) as client:
        report = services.teams_sync(client, league)
    assert report.upserted == 1
    team = Team.objects.get(gamma_id=114168)
    assert (team.name, team.abbreviation, team.color, team.record) == ("Candace's Rising Stars", "crs", "#E0A020", "")


@pytest.mark.django_db
def test_cbb_events_ingested_with_right_orientation_types_lines_and_status() -> None:
    data = _cbb()
    league = League.objects.create(code="cbb", series_ids=["10470"], ordering="away")
    for entry in data.values():
        for team in entry["teams"].values():
            Team.objects.create(gamma_id=team["id"], league=league, name=team["name"],
                                abbreviation=team["abbreviation"])
    events = [_as_raw_gamma(entry["event"]) for entry in data.values()]
    # Each sync sees one fixture inside its kickoff window (last day … next 7 days); the others are outside.
    moments = [datetime(2025, 11, 4, 6, tzinfo=UTC), datetime(2025, 12, 1, 12, tzinfo=UTC),
               datetime(2026, 1, 4, 23, tzinfo=UTC)]
    with GammaClient("http://gamma.test", transport=_gamma_transport({"/events": events})) as client:
        reports = [services.games_sync(client, league, now=now) for now in moments]
    assert [(r.upserted, r.skipped) for r in reports] == [(1, 0), (1, 0), (1, 0)]

    finished = Game.objects.select_related("home_team", "away_team").get(slug="cbb-indst-drake-2026-01-04")
    # CBB ordering is "away": "Indiana State Sycamores vs. Drake Bulldogs" → Drake at home; score "72-74" is A-B.
    assert finished.home_team.abbreviation == "drake" and finished.away_team.abbreviation == "indst"
    assert (finished.home_score, finished.away_score) == (74, 72)
    assert finished.status == "final" and finished.ended and finished.game_id == 72385
    assert finished.kickoff == datetime(2026, 1, 4, 20, tzinfo=UTC)
    markets = {m.gamma_id: m for m in Market.objects.filter(game=finished)}
    assert len(markets) == 8
    assert sorted(m.line for m in markets.values() if m.type == "totals") == [144.5, 145.5, 147.5, 148.5, 149.5]
    assert sorted(m.line for m in markets.values() if m.type == "spreads") == [-6.5, -5.5]
    assert markets["1057811"].type == "moneyline" and markets["1057811"].line is None
    # The spread's first outcome is the team laying the points (Drake, the home team per the slug).
    spread = Outcome.objects.filter(market=markets["1099932"]).order_by("index")
    assert [o.label for o in spread] == ["Drake Bulldogs", "Indiana State Sycamores"]
    assert [o.team_id for o in spread] == [finished.home_team_id, finished.away_team_id]
    assert markets["1099932"].slug.endswith("spread-home-5pt5")
    moneyline = Outcome.objects.filter(market=markets["1057811"]).order_by("index")
    assert [o.team_id for o in moneyline] == [finished.away_team_id, finished.home_team_id]
    assert [str(o.price) for o in moneyline] == ["0.0000", "1.0000"]  # Drake (home) won 74-72

    postponed = Game.objects.get(slug="cbb-blkbn-eill-2025-12-01")
    assert postponed.status == "postponed" and postponed.home_score is None
    assert postponed.home_team.abbreviation == "eill" and postponed.away_team.abbreviation == "blkbn"
    canceled = Game.objects.get(slug="cbb-sc-cabap-2025-11-03")
    assert canceled.status == "canceled"  # period CAN although active=true, closed=false
    assert canceled.active and not canceled.closed


def test_nba_totals_market_fixture() -> None:
    raw = _load(NBA_TOTALS)
    market = parse.market_parse(raw, home=None, away=None, home_name="Oklahoma City Thunder",
                                away_name="Memphis Grizzlies")
    assert market.type == "totals" and market.line == 239.5 and market.sports_market_type == "totals"
    assert [o.label for o in market.outcomes] == ["Over", "Under"]
    assert [o.token_id[:6] for o in market.outcomes] == ["111921", "639001"]
    assert [str(o.price) for o in market.outcomes] == ["0.0000", "1.0000"]
    assert market.closed and market.outcomes[0].best_ask is not None and float(market.outcomes[0].best_ask) == 0.99
    # Without sportsMarketType the question text still says totals, and the line comes from the title.
    text_only = parse.market_parse({**raw, "sportsMarketType": None, "line": None}, home=None, away=None,
                                   home_name="", away_name="")
    assert (text_only.type, text_only.line) == ("totals", 239.5)


def test_mlb_moneyline_fixture_by_text_detection() -> None:
    raw = _load(MLB_MONEYLINE)
    assert "sportsMarketType" not in raw
    event = {**raw["events"][0], "markets": [raw]}
    teams = TeamIndex([rules.TeamRef(1, 11, "Washington Nationals", "wsh", ""),
                       rules.TeamRef(2, 22, "New York Mets", "nym", "")])
    row, problems = parse.event_parse(event, league_code="mlb", ordering="away", teams=teams,
                                      now=datetime(2025, 6, 9, 12, tzinfo=UTC))
    assert problems == []
    # "Nationals vs. Mets", slug mlb-wsh-nym: MLB lists the away team first → Mets at home.
    assert (row.home_team_pk, row.away_team_pk) == (2, 1)
    assert (row.home_name, row.away_name) == ("Mets", "Nationals")
    assert row.status == "scheduled" and row.kickoff == datetime(2025, 6, 10, 23, 10, tzinfo=UTC)
    (market,) = row.markets
    assert market.type == "moneyline" and market.line is None
    assert [(o.label, o.team_pk) for o in market.outcomes] == [("Nationals", 1), ("Mets", 2)]
    assert parse.moneyline_prices(row) == (0.5, 0.5, None)


def test_old_event_without_two_teams_is_not_a_game() -> None:
    event = _load(EVENT_2890)
    with pytest.raises(parse.NotAGame):
        parse.event_parse(event, league_code="nba", ordering="away", teams=TeamIndex([]),
                          now=datetime(2021, 12, 4, tzinfo=UTC))
    market = parse.market_parse(event["markets"][0], home=None, away=None, home_name="", away_name="")
    assert market.type == "other"  # "beat … by more than 5.5 points" is a prop, not a moneyline


def test_sports_socket_frames_parse() -> None:
    frames = [json.loads(line) for line in SPORTS_WS.read_text().splitlines() if line.strip()]
    usable = [f for f in frames if "gameId" in f and "score" in f]
    assert len(usable) == 6  # cricket frames carry metadataGameId only
    by_id = {f["gameId"]: f for f in usable}
    soccer = by_id[90106111]
    assert rules.score_parse(soccer["score"]) == rules.Score(2, 1)
    assert rules.period_normalize(soccer["period"]) == "2h"
    tennis = by_id[5968822]
    assert rules.score_parse(tennis["score"]).sets == ((4, 6), (1, 2))  # type: ignore[union-attr]
    assert rules.period_normalize(tennis["period"]) == "s2"
    esports = by_id[1590176]
    assert rules.score_parse(esports["score"]) == rules.Score(0, 0, best_of=1)
    finished = by_id[6352662]
    assert rules.score_parse(finished["score"]) == rules.Score(1, 2, sets=((7, 5), (5, 7), (2, 6)))
    now = datetime(2026, 10, 1, 7, tzinfo=UTC)
    assert rules.game_status(period=finished["period"], live=finished["live"], ended=finished["ended"],
                             kickoff=None, now=now, feed_status=finished["status"]) == "final"
    assert rules.game_status(period=soccer["period"], live=soccer["live"], ended=soccer["ended"],
                             kickoff=None, now=now, feed_status=soccer["status"]) == "live"
