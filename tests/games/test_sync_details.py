"""Sync details: three-way soccer moneylines, probability snapshots, teams pagination under a clamped limit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from games import services
from games.models import Game, GameProbability, League, Team
from games.upstream import GammaClient
from markets.models import Market, Outcome
from tests.games.factories import event_raw, gamma_transport, market_raw

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
ARS, CHE = ("ars", "Arsenal FC"), ("che", "Chelsea FC")


@pytest.fixture
def epl(db: None) -> League:
    league = League.objects.create(code="epl", series_ids=["10188"], ordering="home")
    Team.objects.create(gamma_id=1, league=league, name="Arsenal FC", abbreviation="ars")
    Team.objects.create(gamma_id=2, league=league, name="Chelsea FC", abbreviation="che")
    return league


def _soccer_event(kickoff: datetime, prices: tuple[str, str, str]) -> dict:
    event = event_raw("epl", ARS, CHE, kickoff, extra_markets=0, markets=[
        market_raw("Will Arsenal FC win on 2026-03-05?", ["Yes", "No"], [prices[0], "0.5"], smt="moneyline"),
        market_raw("Will Arsenal FC vs. Chelsea FC end in a draw?", ["Yes", "No"], [prices[1], "0.5"],
                   smt="moneyline"),
        market_raw("Will Chelsea FC win on 2026-03-05?", ["Yes", "No"], [prices[2], "0.5"], smt="moneyline"),
    ])
    event["score"], event["period"] = "2-1", "FT"
    return event


def _sync(league: League, events: list[dict], now: datetime = NOW) -> services.SyncReport:
    with GammaClient("http://gamma.test", transport=gamma_transport({"/events": events})) as client:
        return services.games_sync(client, league, now=now)


def test_three_way_moneyline_maps_home_away_draw_and_records_probabilities(epl: League) -> None:
    event = _soccer_event(NOW + timedelta(days=4), ("0.50", "0.25", "0.30"))
    _sync(epl, [event])
    game = Game.objects.get(gamma_id=event["id"])
    # Soccer lists the home team first: "Arsenal FC vs. Chelsea FC" is played at Arsenal.
    assert (game.home_team.abbreviation, game.away_team.abbreviation) == ("ars", "che")
    assert (game.home_score, game.away_score, game.status) == (2, 1, "final")
    yes = {o.market.question: o.team_id for o in Outcome.objects.select_related("market").filter(label="Yes")}
    assert yes == {"Will Arsenal FC win on 2026-03-05?": game.home_team_id,
                   "Will Arsenal FC vs. Chelsea FC end in a draw?": None,
                   "Will Chelsea FC win on 2026-03-05?": game.away_team_id}
    assert set(Market.objects.values_list("type", flat=True)) == {"moneyline"}
    (snapshot,) = GameProbability.objects.filter(game=game)
    assert (snapshot.home, snapshot.away, snapshot.draw) == (47.62, 28.57, 23.81)

    _sync(epl, [event])  # unchanged prices: no new snapshot
    assert GameProbability.objects.filter(game=game).count() == 1
    _sync(epl, [_soccer_event(NOW + timedelta(days=4), ("0.60", "0.20", "0.20")) | {"id": event["id"],
                                                                                     "slug": event["slug"]}])
    assert GameProbability.objects.filter(game=game).count() == 2


def test_teams_pagination_survives_a_clamped_limit(epl: League) -> None:
    teams = [{"id": 100 + i, "name": f"Club {i}", "abbreviation": f"c{i}", "league": "epl"} for i in range(250)]
    offsets: list[int] = []

    def clamped(request: httpx.Request) -> httpx.Response:
        offset = int(request.url.params["offset"])
        offsets.append(offset)
        limit = min(int(request.url.params["limit"]), 99)  # Gamma caps /teams pages at 99 silently
        return httpx.Response(200, json=teams[offset : offset + limit])

    with GammaClient("http://gamma.test", transport=httpx.MockTransport(clamped)) as client:
        report = services.teams_sync(client, epl)
    assert report.upserted == 250 and offsets == [0, 99, 198]
    assert Team.objects.filter(league=epl).count() == 252
