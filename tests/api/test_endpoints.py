"""Game, team, sport, market, live-stats and status endpoints on a real daphne process, with seeded rows."""

from __future__ import annotations

import sys
import time

import httpx
import orjson
import pytest

from core.heartbeats import heartbeat_write
from core.redis import redis_key, redis_sync
from games.models import Game
from tests.api.seed import price_write, seed
from tests.conftest import daphne_argv, free_port, wait_until


@pytest.fixture
def api(service_env, spawn):
    """(base URL, seeded rows) of one daphne instance."""
    seeded = seed()
    port = free_port()
    spawn("daphne-endpoints", daphne_argv(port), service_env)
    base = f"http://127.0.0.1:{port}"
    wait_until(lambda: httpx.get(f"{base}/health", timeout=2).status_code == 200, 40)
    return base, seeded


def get(base: str, path: str, expect: int = 200, **params: str) -> dict:
    response = httpx.get(f"{base}{path}", params=params, timeout=10)
    assert response.status_code == expect, (path, response.text)
    assert response.headers["content-type"].startswith("application/json")
    return response.json()


def test_games_list_detail_and_frontend_variants(api) -> None:
    base, s = api
    page = get(base, "/api/games", limit="2")
    assert (page["count"], page["total"], page["hasMore"], page["limit"]) == (2, 7, True, 2)
    assert page["games"][0]["id"] == s.live.gamma_id  # live first, then 24 h volume
    assert get(base, "/api/games", limit="1000")["limit"] == 100
    assert get(base, "/api/games", page="4", limit="2")["count"] == 1

    game = get(base, f"/api/games/{s.live.gamma_id}")["game"]
    assert game["slug"] == s.live.slug and game["status"] == "live" and game["homeTeam"]["abbreviation"] == "BOS"
    market = game["markets"][0]
    assert market["conditionId"] == s.condition_id and market["clobTokenIds"] == [s.away_token, s.home_token]
    assert [o["probability"] for o in market["structuredOutcomes"]] == [40, 60]
    assert get(base, f"/api/games/slug/{s.live.slug.upper()}")["game"]["id"] == s.live.gamma_id

    front = get(base, f"/api/games/{s.live.gamma_id}/frontend")["game"]
    assert front["homeTeam"]["probability"] == 60 and front["percentChange"] == 50.0
    assert front["chartData"][-1] == 60 and len(front["chartData"]) == 20 and len(set(front["chartData"])) > 2
    assert get(base, f"/api/games/slug/{s.live.slug}/frontend")["game"] == front

    for path in ("/api/games/nope", "/api/games/nope/frontend", "/api/games/slug/nope",
                 "/api/games/slug/nope/frontend", "/api/live-stats/nope"):
        assert get(base, path, 404) == {"success": False, "error": "Game not found"}


def test_invalid_input_is_400_with_field(api) -> None:
    base, _ = api
    for path, params, field in [
        ("/api/games/frontend", {"page": "x"}, "page"),
        ("/api/games/frontend", {"date": "2026-02-31"}, "date"),
        ("/api/games/frontend", {"status": "soon"}, "status"),
        ("/api/games", {"limit": "-3"}, "limit"),
        ("/api/price-history/123", {"interval": "2h"}, "interval"),
        ("/api/price-history/123", {"interval": "1h", "fidelity": "0"}, "fidelity"),
        ("/api/price-history/abc", {"interval": "1h"}, "tokenId"),
    ]:
        body = get(base, path, 400, **params)
        assert body["success"] is False and body["field"] == field and body["error"], (path, params)
    batch = httpx.post(f"{base}/api/price-history/batch", content=b"{not json", timeout=5)
    assert batch.status_code == 400 and batch.json()["success"] is False
    empty = httpx.post(f"{base}/api/price-history/batch", json={"clobTokenIds": [], "interval": "1h"}, timeout=5)
    assert empty.status_code == 400 and empty.json()["field"] == "clobTokenIds"


def test_teams_sports_markets_and_live_stats(api) -> None:
    base, s = api
    missing = get(base, "/api/teams", 400)
    assert missing["error"] == "League parameter is required" and missing["availableLeagues"] == ["epl", "lal", "nba"]
    teams = get(base, "/api/teams", league="NBA")
    assert teams["count"] == 4 and [t["name"] for t in teams["teams"]] == ["Celtics", "Heat", "Lakers", "Pelicans"]
    assert get(base, "/api/teams", league="curling")["teams"] == []
    assert get(base, "/api/teams/leagues")["leagues"] == ["epl", "lal", "nba"]
    team = get(base, "/api/teams/NBA/bos")["team"]
    assert (team["name"], team["abbreviation"], team["id"], team["league"]) == ("Celtics", "BOS", 2, "nba")
    assert get(base, "/api/teams/nba/xyz", 404)["error"] == "Team not found"

    sports = {x["code"]: x for x in get(base, "/api/sports")["sports"]}
    assert (sports["nba"]["liveGames"], sports["nba"]["upcomingGames"]) == (1, 1)
    assert sports["epl"]["soccer"] and sports["lal"]["soccer"] and not sports["nba"]["soccer"]

    price_write(s.home_token, 0.65, 0.67)
    market = get(base, f"/api/markets/{s.condition_id}")
    assert market["game"]["id"] == s.live.gamma_id
    home = market["market"]["structuredOutcomes"][1]
    quote = (home["clobTokenId"], home["probability"], home["buyPrice"], home["sellPrice"])
    assert quote == (s.home_token, 66, 67.0, 65.0)
    assert get(base, "/api/markets/0xunknown", 404)["error"] == "Market not found"

    live = get(base, f"/api/live-stats/{s.live.gamma_id}")["stats"]
    assert live["isLive"] and live["currentPeriod"] == "Q3" and live["finalScore"] == {"home": 50, "away": 48}
    assert live["periodScores"]["q1"] == {"home": 25, "away": 20}
    assert live["homeTeam"]["abbr"] == "BOS" and live["homeTeam"]["probability"] == 66
    upcoming = get(base, f"/api/live-stats/{s.upcoming.slug}")["stats"]  # by slug
    assert upcoming["periodScores"] is None and upcoming["finalScore"] is None and not upcoming["isLive"]
    assert upcoming["currentPeriod"] == "NS"  # the original's value before the start, never null
    final = get(base, f"/api/live-stats/{s.final.gamma_id}")["stats"]
    assert final["ended"] and final["finalScore"] == {"home": 101, "away": 99}


def test_status_is_cluster_wide(api) -> None:
    base, _ = api
    client = redis_sync()
    client.lpush(redis_key("q", "sports"), b"task-1", b"task-2")
    client.lpush(redis_key("q", "stream"), b"task-3")
    now_ms = int(time.time() * 1000)
    report = {"sockets": 2, "subscribed": 140, "last_frame_ts": now_ms - 1500}
    client.hset(redis_key("stream", "status"), mapping=report)
    client.set(redis_key("lease", "stream"), f"worker-a:{sys.platform}|7", px=10_000)
    client.set(redis_key("lease", "stream", "fence"), "7")
    heartbeat_write("worker", "w1", {"queues": ["sports"]})
    heartbeat_write("beat", "b1")
    get(base, "/api/games/frontend")

    status = get(base, "/api/games/status")["status"]
    assert status["queues"] == {"sports": 2, "stream": 1}
    stream = status["stream"]
    assert (stream["sockets"], stream["subscribed"]) == (2, 140) and 1.0 <= stream["lastFrameAgeS"] < 30
    assert stream["lease"]["held"] and stream["lease"]["token"] == 7
    assert [w["name"] for w in status["workers"]] == ["w1"] and len(status["beat"]) == 1
    assert status["listing"]["builds"] == 1 and status["games"]["live"] == 1
    assert Game.objects.count() == sum(status["games"].values())
    assert orjson.loads(orjson.dumps(status))  # plain JSON all the way down


def test_redis_outage_degrades_to_persisted_prices_not_errors(service_env, spawn) -> None:
    s = seed()
    port = free_port()
    dead = f"redis://127.0.0.1:{free_port()}/0"
    spawn("daphne-noredis-api", daphne_argv(port), {**service_env, "REDIS_URL": dead})
    base = f"http://127.0.0.1:{port}"
    wait_until(lambda: httpx.get(f"{base}/health", timeout=2).status_code == 200, 40)

    listing = get(base, "/api/games/frontend", live="true")
    assert listing["games"][0]["homeTeam"]["probability"] == 60  # the persisted price
    assert get(base, "/api/games/frontend", live="true") == listing
    assert get(base, f"/api/games/{s.live.gamma_id}")["game"]["markets"][0]["structuredOutcomes"][1]["price"] == "60.00"
    assert get(base, f"/api/markets/{s.condition_id}")["market"]["conditionId"] == s.condition_id
    assert get(base, f"/api/live-stats/{s.live.slug}")["stats"]["homeTeam"]["probability"] == 60
    history = get(base, f"/api/price-history/{s.home_token}", interval="1d")
    assert (history["source"], history["cached"]) == ("fallback", True)
    status = get(base, "/api/games/status", 503)
    assert status["success"] is False and "Redis unavailable" in status["error"]
