"""The management command, the Celery tasks (run in-process) and the beat schedule."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.core.management import call_command

from games.models import Game, League
from jobs import sync as tasks
from jobs.schedule import beat_schedule
from simulator.testing import run_simulator


def test_beat_schedule_uses_the_configured_intervals(settings: Any) -> None:
    settings.SYNC_GAMES_EVERY_S = 42
    schedule = beat_schedule()
    assert schedule["games-sync-games"]["task"] == "games.tasks.sync_games"
    assert schedule["games-sync-games"]["schedule"] == 42.0
    assert schedule["games-sync-leagues"]["schedule"] == float(settings.SYNC_LEAGUES_EVERY_S)
    assert schedule["games-sync-teams"]["schedule"] == float(settings.SYNC_TEAMS_EVERY_S)
    assert schedule["games-sync-live-games"]["schedule"] == float(settings.SYNC_LIVE_GAMES_EVERY_S)
    from mevu.celery import app

    assert {"games-sync-games", "games-sync-live-games"} <= set(app.conf.beat_schedule)
    assert app.amqp.router.route({}, "games.tasks.sync_games")["queue"].name == "sports"


@pytest.mark.django_db
def test_command_and_tasks_against_the_simulator(settings: Any) -> None:
    settings.GAMES_SERIES_OVERRIDES = []
    extra = ("--games", "10", "--leagues", "nba", "nhl", "--paused", "--new-game-every-s", "0")
    with run_simulator(seed=21, extra_args=extra) as sim:
        out = io.StringIO()
        call_command("sync_upstream", "--league", "nba", "--gamma-url", sim.gamma_url, stdout=out, stderr=io.StringIO())
        text = out.getvalue()
        assert "leagues: upserted=2" in text and "skipped=0" in text
        assert set(Game.objects.values_list("league__code", flat=True)) == {"nba"}
        nba_games = Game.objects.count()
        assert f"games: upserted={nba_games} " in text

        settings.GAMMA_URL = sim.gamma_url
        summary = tasks.sync_games()  # nhl is new: its teams are fetched before its games
        assert summary["skipped"] == 0
        assert set(Game.objects.values_list("league__code", flat=True)) == {"nba", "nhl"}
        assert not Game.objects.filter(home_team__isnull=True).exists()
        assert tasks.sync_teams()["upserted"] == 0
        live_leagues = set(Game.objects.filter(status="live").values_list("league__code", flat=True))
        summary = tasks.sync_live_games()
        assert summary["upserted"] + summary["unchanged"] == Game.objects.filter(league__code__in=live_leagues).count()
        assert League.objects.filter(followed=True).count() == 2


@pytest.mark.django_db
def test_start_up_bootstrap_fills_an_empty_catalog_once(settings: Any) -> None:
    from core.redis import redis_key, redis_sync
    from markets.tokenset import token_set_read

    settings.GAMES_SERIES_OVERRIDES = []
    extra = ("--games", "8", "--leagues", "nba", "epl", "--paused", "--new-game-every-s", "0")
    with run_simulator(seed=22, extra_args=extra) as sim:
        settings.GAMMA_URL = sim.gamma_url
        assert tasks.sync_bootstrap() is not None  # empty database: leagues, teams, games, token set
        games = Game.objects.count()
        assert games > 0 and set(Game.objects.values_list("league__code", flat=True)) == {"nba", "epl"}
        version, tokens = token_set_read()
        assert version >= 1 and tokens

        assert tasks.sync_bootstrap() is None  # a restart with data present syncs nothing
        assert Game.objects.count() == games and token_set_read() == (version, tokens)

        redis_sync().delete(redis_key("tokens", "set"), redis_key("tokens", "version"))
        assert tasks.sync_bootstrap() is None  # Redis emptied: only the token set is republished
        assert token_set_read()[1] == tokens

        Game.objects.all().delete()
        lock = redis_sync().lock(redis_key("lock", "catalog-bootstrap"), timeout=30)
        assert lock.acquire(blocking=False)
        try:
            assert tasks.sync_bootstrap() is None  # another instance is bootstrapping: this one skips
            assert not Game.objects.exists()
        finally:
            lock.release()
