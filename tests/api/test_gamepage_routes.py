"""The original's game-page and maintenance routes on seeded rows: logos, refresh (auth, gate, queued sync),
the index and docs redirects, cross-origin headers, and holders/trades when the data API is down."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from readmodels.status import queue_depths
from tests.api.seed import seed
from tests.conftest import free_port

pytestmark = pytest.mark.django_db
TOKEN = "s3cret-refresh-token"


@pytest.fixture
def seeded(settings: Any) -> Any:
    settings.REFRESH_TOKEN = TOKEN
    return seed()


def test_logo_redirects_to_the_stored_logo(seeded: Any) -> None:
    client = Client()
    response = client.get("/api/logos/nba/bos.png")
    assert response.status_code == 302 and response["Location"] == "https://logos.example/BOS.png"
    assert response["Cache-Control"] == "public, max-age=86400"
    assert client.get("/api/logos/nba/BOS.gif").json()["error"].startswith("Invalid filename format")
    missing = client.get("/api/logos/nba/XYZ.png")
    assert missing.status_code == 404
    assert missing.json() == {"error": "Logo not found", "league": "nba", "abbreviation": "XYZ"}


def test_refresh_needs_a_token_or_staff_and_is_gated(seeded: Any) -> None:
    client = Client()
    assert client.post("/api/games/refresh").status_code == 401
    assert client.post("/api/games/refresh", headers={"Authorization": "Bearer wrong"}).status_code == 401
    before = queue_depths()["sports"]
    auth = {"Authorization": f"Bearer {TOKEN}"}
    first = client.post("/api/games/refresh?league=nba", headers=auth)
    assert first.status_code == 202 and first.json()["queued"] is True
    assert queue_depths()["sports"] == before + 1  # one sync task on the sports queue
    again = client.post("/api/games/refresh", headers=auth)
    assert again.status_code == 429 and again.json()["queued"] is False and 0 < again.json()["retryAfter"] <= 30
    assert queue_depths()["sports"] == before + 1
    unknown = client.post("/api/teams/refresh", headers={"Authorization": "Bearer wrong"})
    assert unknown.status_code == 401

    staff = get_user_model().objects.create_user("ops", password="pw-ops-123", is_staff=True)
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(staff)
    assert strict.post("/api/teams/refresh").status_code in (401, 403)  # a session POST needs its CSRF token
    relaxed = Client()
    relaxed.force_login(staff)
    assert relaxed.post("/api/teams/refresh").status_code == 202
    assert queue_depths()["sports"] == before + 2
    bad = client.post("/api/games/refresh?league=curling", headers=auth)
    assert bad.status_code == 400 and bad.json()["success"] is False


def test_index_docs_redirect_and_cors(seeded: Any, settings: Any) -> None:
    client = Client()
    assert client.get("/api").json()["message"] == "MEVU API v1.0.0"
    assert client.get("/api/").json() == client.get("/api").json()
    docs = client.get("/api-docs")
    assert docs.status_code == 302 and docs["Location"] == "/api/docs"
    foreign = {"Origin": "https://elsewhere.example"}
    public = client.get(f"/api/games/slug/{seeded.live.slug}", headers=foreign)
    assert public.status_code == 200 and public["Access-Control-Allow-Origin"] == "*"
    assert "Access-Control-Allow-Credentials" not in public
    preflight = client.options("/api/games/frontend", headers={**foreign, "Access-Control-Request-Method": "GET"})
    assert preflight["Access-Control-Allow-Origin"] == "*"
    assert "Access-Control-Allow-Origin" not in client.get("/admin/login/", headers=foreign)

    settings.CORS_ALLOWED_ORIGINS, settings.CORS_ALLOW_ALL_ORIGINS = ["https://app.example"], False
    assert "Access-Control-Allow-Origin" not in client.get("/api/teams?league=nba", headers=foreign)
    allowed = client.get("/api/teams?league=nba", headers={"Origin": "https://app.example"})
    assert allowed["Access-Control-Allow-Origin"] == "https://app.example"


def test_holders_and_trades_report_a_dead_data_api_and_bad_input(seeded: Any, settings: Any) -> None:
    settings.DATA_API_URL = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    client = Client()
    holders = client.get(f"/api/holders/{seeded.live.slug}")
    assert holders.status_code == 502 and holders.json()["error"].startswith("Polymarket data API unavailable")
    assert client.get(f"/api/trades/{seeded.live.gamma_id}").status_code == 502
    assert client.get(f"/api/trades/{seeded.live.gamma_id}?limit=0").status_code == 400
    assert client.get(f"/api/trades/{seeded.live.gamma_id}?limit=x").status_code == 400
    assert client.get("/api/holders/nope").json() == {"success": False, "error": "Game not found"}
    watcher = client.get(f"/api/activitywatcher/{seeded.live.slug}").json()["game"]
    assert watcher["id"] == seeded.live.gamma_id and all(m["negRisk"] is False for m in watcher["markets"])


def test_realtime_states_are_the_rest_game(seeded: Any) -> None:
    """The hub's snapshot state is the REST FrontendGame, history included (not a one-point chart); game
    events are built by the same readmodels.selectors.frontend_games_build."""
    from delivery.selectors import games_state_load

    rest = Client().get(f"/api/games/{seeded.live.gamma_id}/frontend").json()["game"]
    assert len(set(rest["chartData"])) > 2 and rest["percentChange"] != 0
    assert games_state_load()[seeded.live.gamma_id] == rest
