"""The whole sync against the simulator: counts equal its state, an idle re-sync writes nothing, faults are survived."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from actions.sync import do_sync_catalog
from games.models import Game, League, Team
from games.upstream import GammaClient
from markets.models import Market, Outcome
from markets.tokenset import token_set_read
from readmodels.gameviews import game_view_from_instance, game_views_load, game_views_queryset
from simulator.testing import run_simulator
from tests.games.factories import write_queries

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _sim_settings(settings: Any) -> None:
    settings.GAMES_SERIES_OVERRIDES = []


def _sibling_events(gamma_url: str) -> int:
    """"… - More Markets" events: the simulator counts them as games; we fold them into their fixture."""
    slugs: set[str] = set()
    offset = 0
    while True:
        page = httpx.get(gamma_url + "/events", params={"limit": 100, "offset": offset}, timeout=30).json()
        if not page:
            return sum(slug.endswith("-more-markets") for slug in slugs)
        slugs.update(e["slug"] for e in page)
        offset += len(page)


def _stored_counts() -> dict[str, int]:
    return {
        "leagues": League.objects.filter(followed=True).count(),
        "teams": Team.objects.count(),
        "games": Game.objects.count(),
        "markets": Market.objects.count(),
        "tokens": Outcome.objects.count(),
    }


def test_default_day_counts_bounded_queries_and_idle_resync_writes_nothing(parsed: list[str]) -> None:
    # The default scenario (~150 fixtures, ~12k tokens), paused so nothing moves between the two syncs.
    with run_simulator(seed=11, extra_args=("--paused", "--new-game-every-s", "0")) as sim:
        state = sim.state()["counts"]
        with GammaClient(sim.gamma_url) as client, CaptureQueriesContext(connection) as cold:
            reports = do_sync_catalog(client)
        expected = {**state, "games": state["games"] - _sibling_events(sim.gamma_url)}
        assert _stored_counts() == expected
        assert state["tokens"] > 10_000 and expected["games"] >= 140
        assert reports["games"].skipped == 0 and reports["teams"].skipped == 0
        # Bounded by leagues and batches, not by the ~18k rows written.
        assert len(cold.captured_queries) <= 200, len(cold.captured_queries)

        parsed.clear()
        with GammaClient(sim.gamma_url) as client, CaptureQueriesContext(connection) as idle:
            again = do_sync_catalog(client)
        assert write_queries(idle) == []
        assert parsed == []  # every event digests to its game's content hash: none is parsed
        assert again["games"].upserted == 0 and again["games"].unchanged == expected["games"]
        assert again["teams"].upserted == 0 and again["leagues"].upserted == 0
        # A handful per league (teams, stored hashes, vanished check), none per game.
        assert len(idle.captured_queries) <= 4 * state["leagues"] + 6, len(idle.captured_queries)

        # One order book moves: only that fixture's events are parsed again; its content hash is rewritten.
        game = Game.objects.filter(status="scheduled").order_by("kickoff").last()
        token = Outcome.objects.filter(market__game=game, market__closed=False).first().token_id
        sim.control("POST", f"/_sim/book/{token}", json={"best_bid": 0.2, "best_ask": 0.3})
        before = game.content_hash
        parsed.clear()
        with GammaClient(sim.gamma_url) as client, CaptureQueriesContext(connection) as moved:
            do_sync_catalog(client)
        sibling = httpx.get(f"{sim.gamma_url}/events/slug/{game.slug}-more-markets", timeout=30)
        fixture = {game.gamma_id} | ({str(sibling.json()["id"])} if sibling.status_code == 200 else set())
        assert sorted(parsed) == sorted(fixture)
        assert write_queries(moved)
        assert Game.objects.get(pk=game.pk).content_hash not in ("", before)

    # Every non-closed market's tokens of live games and games within 48 h are in the stream's token set
    # (postponed ones too: their markets stay open and trade).
    _, tokens = token_set_read()
    live_or_soon = Outcome.objects.filter(market__closed=False,
                                          market__game__status__in=["live", "scheduled", "postponed"])
    assert tokens and tokens <= set(live_or_soon.values_list("token_id", flat=True))
    assert Outcome.objects.filter(market__game__status="live", market__closed=False).exclude(
        token_id__in=tokens).count() == 0


def test_orientation_matches_the_simulated_teams() -> None:
    with run_simulator(seed=3, extra_args=("--games", "16", "--paused", "--new-game-every-s", "0")) as sim:
        with GammaClient(sim.gamma_url) as client:
            do_sync_catalog(client)
        for game in Game.objects.select_related("league", "home_team", "away_team"):
            a, b = game.slug.split("-")[1:3]
            home, away = (b, a) if game.league.ordering == "away" else (a, b)
            assert (game.home_team.abbreviation, game.away_team.abbreviation) == (home, away), game.slug
            moneyline = [m for m in game.markets.all() if m.type == "moneyline"]
            assert moneyline, game.slug
            team_ids = {o.team_id for m in moneyline for o in m.outcomes.all() if o.team_id}
            assert team_ids == {game.home_team_id, game.away_team_id}
    # The announcement's plain-values loader builds the same views as the model-instance path.
    from_instances = {g.gamma_id: game_view_from_instance(g) for g in game_views_queryset()}
    assert game_views_load() == from_instances
    assert list(game_views_load()) == list(from_instances)  # same (kickoff, id) order


def test_http_faults_and_timeouts_are_survived_and_last_good_data_kept() -> None:
    with run_simulator(seed=5, extra_args=("--games", "12", "--paused", "--new-game-every-s", "0")) as sim:
        with GammaClient(sim.gamma_url) as client:
            do_sync_catalog(client)
        clean_requests = client.requests
        good = _stored_counts()
        snapshot = list(Game.objects.order_by("pk").values("gamma_id", "status", "vanished_at"))

        # Every request times out: the sync reports errors, crashes nothing, changes nothing.
        sim.control("POST", "/_sim/faults", json={"latency_ms": 1500})
        with GammaClient(sim.gamma_url, timeout_s=0.2, max_retries=1, sleep=lambda _s: None) as client:
            reports = do_sync_catalog(client)
        assert reports["leagues"].errors and reports["games"].errors
        assert _stored_counts() == good
        assert list(Game.objects.order_by("pk").values("gamma_id", "status", "vanished_at")) == snapshot

        # A third of the requests fail with 5xx or 429 (Retry-After honoured): retries get everything through.
        sim.control("POST", "/_sim/faults", json={"latency_ms": 0, "http_error_rate": 0.2, "http_429_rate": 0.1,
                                                  "retry_after_s": 0})
        with GammaClient(sim.gamma_url, max_retries=10, sleep=lambda _s: None) as client:
            reports = do_sync_catalog(client)
        assert client.requests > clean_requests  # the failures were really there, and retried
        assert not reports["games"].errors and not reports["teams"].errors
        assert _stored_counts() == good
