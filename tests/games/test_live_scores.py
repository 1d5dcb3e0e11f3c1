"""Live scores: frames applied idempotently by gameId, persisted in batches, and the socket loop end to end."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext

from actions.sync import do_sync_catalog
from games import services
from games.live import live_frame_apply, live_games_persist, live_index_load, orientation_check
from games.models import Game, League, Team
from games.upstream import GammaClient
from stream.live_scores import LiveScores
from tests.games.factories import event_raw, gamma_transport, write_queries

NOW = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture
def nba_game(db: None) -> Game:
    league = League.objects.create(code="nba", series_ids=["10345"], ordering="away")
    Team.objects.create(gamma_id=1, league=league, name="Miami Heat", abbreviation="mia")
    Team.objects.create(gamma_id=2, league=league, name="New Orleans Pelicans", abbreviation="no")
    event = event_raw("nba", ("no", "New Orleans Pelicans"), ("mia", "Miami Heat"), NOW - timedelta(minutes=30),
                      gameId=69699)
    with GammaClient("http://gamma.test", transport=gamma_transport({"/events": [event]})) as client:
        services.games_sync(client, league, now=NOW)
    return Game.objects.get(game_id=69699)


def test_frame_apply_orients_scores_and_builds_period_scores(nba_game: Game) -> None:
    index = live_index_load()
    game = index[69699]
    assert game.status == "scheduled"  # Gamma still says NS: the socket is what moves it to live
    frame = {"gameId": 69699, "score": "61-72", "period": "Q3", "elapsed": "5:45", "live": True, "ended": False,
             "homeTeam": "MIA", "awayTeam": "NO", "status": "InProgress"}
    new = live_frame_apply(game, frame, NOW)
    assert new is not None
    assert (new.home_score, new.away_score, new.period, new.status) == (72, 61, "Q3", "live")
    assert new.period_scores == {"q3": {"home": 72, "away": 61}}
    assert live_frame_apply(new, frame, NOW) is None  # a duplicate frame changes nothing
    assert orientation_check(game, frame) == "same"
    assert orientation_check(game, {**frame, "homeTeam": "NO", "awayTeam": "MIA"}) == "swapped"
    final = live_frame_apply(new, {**frame, "score": "100-98", "period": "Final", "live": False, "ended": True}, NOW)
    assert final is not None and (final.status, final.live, final.ended) == ("final", False, True)
    assert final.period_scores["q3"] == {"home": 72, "away": 61} and "final" in final.period_scores


@pytest.mark.django_db(transaction=True)
async def test_bad_frames_are_skipped_and_good_ones_batched(nba_game: Game) -> None:
    state = LiveScores(fence=None)
    await state.index_refresh()
    for text in ("not json", "[1,2]", '{"score": "1-0"}', '{"gameId": 69699}', '{"gameId": "69699", "score": "1-0"}',
                 '{"gameId": 123456, "score": "1-0"}'):
        await state.frame_handle(text)
    assert state.skipped == 6 and not state.pending
    good = '{"gameId": 69699, "score": "10-12", "period": "Q1", "elapsed": "3:00", "live": true, "ended": false}'
    await state.frame_handle(good)
    await state.frame_handle(good)
    assert len(state.pending) == 1 and state.applied == 1
    assert await state.flush() == 1
    game = await sync_to_async(Game.objects.get)(game_id=69699)
    assert (game.home_score, game.away_score, game.period, game.elapsed, game.status) == (12, 10, "Q1", "3:00", "live")
    assert game.score_updated_at is not None
    await sync_to_async(connections.close_all)()  # the worker thread's connection, before the test DB is dropped


def test_persist_is_one_update_statement(nba_game: Game) -> None:
    game = live_index_load()[69699]
    changed = live_frame_apply(game, {"gameId": 69699, "score": "3-5", "period": "Q1", "live": True}, NOW)
    with CaptureQueriesContext(connection) as captured:
        assert live_games_persist([changed]) == 1  # type: ignore[list-item]
    assert len(write_queries(captured)) == 1


def test_gamma_sync_does_not_overwrite_fresher_socket_state(nba_game: Game) -> None:
    game = live_index_load()[69699]
    live_games_persist([live_frame_apply(game, {"gameId": 69699, "score": "50-60", "period": "Q3", "live": True},
                                         NOW)])  # type: ignore[list-item]
    league = League.objects.get(code="nba")
    stale = event_raw("nba", ("no", "New Orleans Pelicans"), ("mia", "Miami Heat"), NOW - timedelta(minutes=30),
                      gameId=69699, id=nba_game.gamma_id, slug=nba_game.slug, score="40-45", period="Q2", live=True)
    with GammaClient("http://gamma.test", transport=gamma_transport({"/events": [stale]})) as client:
        services.games_sync(client, league, now=datetime.now(UTC))
    game_row = Game.objects.get(pk=nba_game.pk)
    assert (game_row.home_score, game_row.away_score, game_row.period) == (60, 50, "Q3")


# --- Against the simulator ----------------------------------------------------------------------


def _sim() -> Any:
    from simulator.testing import run_simulator

    return run_simulator(seed=7, rate=20, extra_args=("--games", "6", "--leagues", "nba"))


async def _wait_for(predicate: Any, timeout_s: float) -> Any:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        value = await sync_to_async(predicate)()
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.1)


@pytest.mark.django_db(transaction=True)
async def test_socket_updates_game_rows_from_the_simulator(settings: Any) -> None:
    from stream.live_scores import sports_socket_run

    settings.GAMES_SERIES_OVERRIDES = []
    with _sim() as sim:
        def sync() -> None:
            with GammaClient(sim.gamma_url) as client:
                do_sync_catalog(client, league_code="nba")

        await sync_to_async(sync)()
        game = await sync_to_async(
            lambda: Game.objects.filter(game_id__isnull=False, status="scheduled").order_by("kickoff").first()
        )()
        assert game is not None
        stop = asyncio.Event()
        task = asyncio.create_task(sports_socket_run(sim.sports_ws_url, stop))
        try:
            # Indexed before it connects; the socket carries changes only, so change the score once it listens.
            await _wait_for(lambda: sim.control("GET", "/_sim/stats")["connected_sockets"]["sports"] >= 1, 10)
            forced = await sync_to_async(sim.control)(
                "POST", f"/_sim/game/{game.gamma_id}",
                json={"score": "21-17", "period": "Q2", "elapsed": "4:12", "live": True, "ended": False},
            )
            assert forced["game_id"] == game.game_id

            def updated() -> Game | None:
                row = Game.objects.get(pk=game.pk)
                return row if row.period == "Q2" and row.home_score == 17 else None

            row = await _wait_for(updated, 10)
            assert (row.away_score, row.home_score, row.status, row.live) == (21, 17, "live", True)
            assert row.period_scores.get("q2") == {"home": 17, "away": 21}
            await sync_to_async(sim.control)(
                "POST", f"/_sim/game/{game.gamma_id}",
                json={"score": "101-99", "period": "Final", "live": False, "ended": True},
            )
            row = await _wait_for(lambda: (r := Game.objects.get(pk=game.pk)).status == "final" and r, 10)
            assert (row.away_score, row.home_score, row.ended) == (101, 99, True)
        finally:
            stop.set()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(task, 10)
            await sync_to_async(connections.close_all)()


@pytest.mark.django_db(transaction=True)
async def test_a_stale_fence_writes_nothing(nba_game: Game) -> None:
    from core.errors import StaleFenceError
    from core.redis import redis_key, redis_sync
    from markets.fences import fence_pg_advance

    await sync_to_async(fence_pg_advance)(("stream", 5))  # a newer holder registered token 5
    redis_sync().set(redis_key("lease", "stream", "fence"), "5")
    frame = '{"gameId": 69699, "score": "2-0", "period": "Q1", "live": true, "ended": false}'
    stale = LiveScores(fence=("stream", 4))
    await stale.index_refresh()
    await stale.frame_handle(frame)
    with pytest.raises(StaleFenceError):
        await stale.flush()
    assert (await sync_to_async(Game.objects.get)(game_id=69699)).away_score is None
    current = LiveScores(fence=("stream", 5))
    await current.index_refresh()
    await current.frame_handle(frame)
    assert await current.flush() == 1
    assert (await sync_to_async(Game.objects.get)(game_id=69699)).away_score == 2
    await sync_to_async(connections.close_all)()
