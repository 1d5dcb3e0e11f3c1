"""The admin renders with 150 games in a bounded number of queries, and its re-sync action enqueues the task."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from core.redis import redis_sync
from games import services
from games.models import Game, League, Team
from games.upstream import GammaClient
from markets.models import Market
from tests.games.factories import event_raw, gamma_transport

NOW = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture
def admin_client_150(db: None) -> Client:
    league = League.objects.create(code="nba", series_ids=["10345"], ordering="away")
    teams = [Team.objects.create(gamma_id=i, league=league, name=f"Team {i}", abbreviation=f"t{i}") for i in range(30)]
    events = []
    for i in range(150):
        a, b = teams[i % 30], teams[(i + 7) % 30]
        events.append(event_raw("nba", (a.abbreviation, a.name), (b.abbreviation, b.name),
                                NOW + timedelta(hours=i), extra_markets=3))
    with GammaClient("http://gamma.test", transport=gamma_transport({"/events": events})) as client:
        report = services.games_sync(client, league, now=NOW)
    assert report.upserted == 150
    user = User.objects.create_superuser("admin", "admin@example.com", "pw")
    client = Client()
    client.force_login(user)
    return client


def _get(client: Client, url: str) -> tuple[Any, int]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    return response, len(captured.captured_queries)


def test_changelists_and_change_pages_render_with_bounded_queries(admin_client_150: Client) -> None:
    client = admin_client_150
    for url in ("/admin/games/game/", "/admin/games/game/?status__exact=scheduled&league__id__exact=1",
                "/admin/games/game/?q=Team+3", "/admin/games/league/", "/admin/games/team/",
                "/admin/markets/market/", "/admin/markets/outcome/"):
        response, queries = _get(client, url)
        assert response.status_code == 200, url
        assert queries <= 15, (url, queries)
    response, _ = _get(client, "/admin/games/game/")
    body = response.content.decode()
    assert "0.400 / 0.600" in body or "0.600 / 0.400" in body  # moneyline prices (home / away) listed
    game = Game.objects.order_by("kickoff").first()
    response, queries = _get(client, f"/admin/games/game/{game.pk}/change/")
    assert response.status_code == 200 and queries <= 20
    assert game.slug in response.content.decode()
    market = Market.objects.filter(game=game, type="totals").first()
    response, queries = _get(client, f"/admin/markets/market/{market.pk}/change/")
    assert response.status_code == 200 and queries <= 15
    assert "Over" in response.content.decode() and "Under" in response.content.decode()


def test_resync_action_enqueues_the_league_task(admin_client_150: Client) -> None:
    from django.conf import settings

    league = League.objects.get(code="nba")
    response = admin_client_150.post(
        "/admin/games/league/", {"action": "resync_now", "_selected_action": [league.pk]}, follow=True
    )
    assert response.status_code == 200
    assert "Re-sync queued for: nba" in response.content.decode()
    # The task message sits in the `sports` queue of the Redis broker under this run's prefix.
    queue_key = f"{settings.REDIS_PREFIX}:q:sports"
    messages = redis_sync().lrange(queue_key, 0, -1)
    assert any(b"games.tasks.sync_league_now" in m for m in messages)
