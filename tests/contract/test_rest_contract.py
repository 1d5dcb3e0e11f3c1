"""Every v1 REST payload kind against the original's types (tests/contract/original_schemas.py), on real data:
the simulator's Gamma, CLOB and data API synced through the real pipeline, then read over HTTP in-process.
"""

from __future__ import annotations

import copy
from typing import Any

import httpx
import pytest
from django.test import Client
from pydantic import BaseModel, ValidationError

from games.models import Game
from simulator.testing import SimHandle
from tests.conftest import wait_until
from tests.contract import original_schemas as o

pytestmark = pytest.mark.django_db(transaction=True)


def fetch(path: str, status: int = 200, **params: str) -> Any:
    response = Client().get(path, params)
    assert response.status_code == status, (path, response.content[:300])
    return response.json()


def conforms(model: type[BaseModel], payload: Any) -> Any:
    try:
        model.model_validate(payload)
    except ValidationError as exc:
        pytest.fail(f"{model.__name__}: {exc}")
    return payload


def _traded_game(sim: SimHandle) -> Game:
    """A game whose markets have fills on the data API (the simulator trades while it runs)."""
    def find() -> Game | None:
        for game in Game.objects.prefetch_related("markets").order_by("kickoff"):
            conditions = ",".join(m.condition_id for m in game.markets.all()[:20])
            if conditions and httpx.get(f"{sim.data_api_url}/trades", params={"market": conditions}).json():
                return game
        return None

    return wait_until(find, 60, interval_s=0.5)  # type: ignore[return-value]


def test_every_rest_payload_conforms_to_the_original_types(synced: SimHandle) -> None:
    listing = conforms(o.FrontendGamesResponse, fetch("/api/games/frontend", includeEnded="true", limit="100"))
    assert listing["games"], "the synced scenario lists games"
    assert all(len(g["chartData"]) == 20 for g in listing["games"])
    conforms(o.LiveGamesResponse, fetch("/api/games", limit="100"))
    game = Game.objects.select_related("league").filter(markets__isnull=False, home_team__isnull=False).first()
    assert game is not None
    for path in (f"/api/games/{game.gamma_id}", f"/api/games/slug/{game.slug}",
                 f"/api/games/slug/{game.ticker}", f"/api/games/slug/{game.gamma_id}"):
        assert conforms(o.LiveGameResponse, fetch(path))["game"]["id"] == game.gamma_id
    for path in (f"/api/games/{game.gamma_id}/frontend", f"/api/games/slug/{game.slug}/frontend"):
        conforms(o.FrontendGameResponse, fetch(path))
    teams = conforms(o.TeamsResponse, fetch("/api/teams", league=game.league.code))
    assert teams["count"] > 0
    one = teams["teams"][0]
    assert conforms(o.TeamResponse, fetch(f"/api/teams/{one['league']}/{one['abbreviation']}"))["team"] == one
    assert game.league.code in conforms(o.LeaguesResponse, fetch("/api/teams/leagues"))["leagues"]
    stats = conforms(o.LiveStatsResponse, fetch(f"/api/live-stats/{game.slug}"))
    assert stats["stats"]["currentPeriod"]
    watcher = conforms(o.ActivityWatcherResponse, fetch(f"/api/activitywatcher/{game.slug}"))
    assert len(watcher["game"]["markets"]) == game.markets.count()
    token = watcher["game"]["markets"][0]["outcomes"][0]["clobTokenId"]
    conforms(o.PriceHistoryResponse, fetch(f"/api/price-history/{token}", interval="1d"))
    batch = Client().post("/api/price-history/batch", {"clobTokenIds": [token], "interval": "1w"},
                          content_type="application/json")
    assert batch.status_code == 200 and token in conforms(o.PriceHistoryBatchResponse, batch.json())["histories"]
    assert conforms(o.IndexResponse, fetch("/api"))["message"] == "MEVU API v1.0.0"

    traded = _traded_game(synced)
    holders = conforms(o.HoldersResponse, fetch(f"/api/holders/{traded.slug}"))
    assert holders["count"] > 0 and [h["rank"] for h in holders["holders"]] == list(range(1, holders["count"] + 1))
    trades = conforms(o.TradesResponse, fetch(f"/api/trades/{traded.gamma_id}", limit="5"))
    assert 0 < trades["count"] <= 5
    times = [t["time"] for t in trades["trades"]]
    assert times == sorted(times, reverse=True)


def test_original_sport_codes_and_types(synced: SimHandle) -> None:
    tennis = fetch("/api/games/frontend", sport="tennis", includeEnded="true", limit="100")["games"]
    leagues = set(Game.objects.filter(league__code__in=["atp", "wta"]).values_list("league__code", flat=True))
    assert leagues, "the default league mix includes tennis"
    assert tennis and {g["league"] for g in tennis} == leagues and {g["sport"] for g in tennis} == {"tennis"}
    any_game = fetch("/api/games/frontend", includeEnded="true", limit="100")["games"][0]
    live_game = fetch(f"/api/games/{any_game['id']}")["game"]
    outcome = live_game["markets"][0]["structuredOutcomes"][0]
    assert isinstance(outcome["price"], str) and float(outcome["price"]) == pytest.approx(outcome["probability"], abs=1)
    assert "buyPrice" in outcome and "sellPrice" in outcome
    assert isinstance(live_game["rawData"]["startDate"], str) and live_game["rawData"]["slug"] == live_game["slug"]


def test_schemas_reject_a_missing_field_or_a_wrong_type(synced: SimHandle) -> None:
    """The contract can fail: the real payload conforms, and each mutation of it does not."""
    game = fetch("/api/games/frontend", includeEnded="true")["games"][0]
    o.FrontendGame.model_validate(game)
    mutations = [("drop", "record"), ("null", "endDate"), ("number", "time")]
    for kind, field in mutations:
        bad = copy.deepcopy(game)
        target = bad["homeTeam"] if field == "record" else bad
        if kind == "drop":
            del target[field]
        else:
            target[field] = None if kind == "null" else 1
        with pytest.raises(ValidationError):
            o.FrontendGame.model_validate(bad)
