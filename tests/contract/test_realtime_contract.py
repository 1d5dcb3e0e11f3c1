"""Every v1 WebSocket/SSE frame kind against the original's types (tests/contract/original_schemas.py), read from
real daphne processes fed by real publishes: the simulator's catalog synced, prices built by the stream's own
GameIndex and scores applied by the live-scores action, all through core.publish and Redis.

And the original's kind of client (tests/contract/original_client.py, a `match msg["type"]` dispatch) against two
daphne instances sharing one Redis: it ends with every game's final published state.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from django.utils import timezone
from pydantic import BaseModel, ValidationError
from websockets.sync.client import ClientConnection, connect

from actions.scores import do_apply_live_scores
from core.publish import game_events_publish
from core.redis import redis_sync
from games.live import live_frame_apply, live_index_load
from games.models import Game
from markets.models import Outcome
from markets.prices import prices_read
from simulator.testing import SimHandle
from stream.gameindex import game_index_load
from tests.api.seed import price_write
from tests.conftest import wait_until
from tests.contract import original_schemas as o
from tests.realtime.helpers import daphne_start

pytestmark = pytest.mark.timeout(240)
CLIENT = Path(__file__).with_name("original_client.py")


def conforms(model: type[BaseModel], frame: dict[str, Any]) -> dict[str, Any]:
    try:
        model.model_validate(frame)
    except ValidationError as exc:
        pytest.fail(f"{model.__name__}: {exc}\n{str(frame)[:300]}")
    return frame


def price_change(game_id: str, bid: float) -> dict[str, Any]:
    """New quotes for every token of the game, published as the stream worker does; returns the game's state."""
    tokens = list(Outcome.objects.filter(market__game__gamma_id=game_id).values_list("token_id", flat=True))
    for token in tokens:
        price_write(token, bid, round(bid + 0.02, 4), ts_ms=int(time.time() * 1000))
    events = game_index_load(tokens).events_for(tokens, prices_read(tokens))
    assert [e["game"]["id"] for e in events] == [game_id]
    game_events_publish(events)
    return events[0]["game"]


def score_change(game_id: str, score: str) -> None:
    """A sports-socket frame for the game, applied by the live-scores action (which publishes `game_update`)."""
    state = next(s for s in live_index_load().values() if s.gamma_id == game_id)
    new = live_frame_apply(state, {"score": score, "period": "Q2", "elapsed": "5:00", "live": True}, timezone.now())
    assert new is not None
    do_apply_live_scores([new], None)


def recv(ws: ClientConnection, kind: str, model: type[BaseModel], timeout_s: float = 10) -> dict[str, Any]:
    """The next frame of `kind`, checked against `model`; every frame passed over is checked too."""
    deadline = time.monotonic() + timeout_s
    while True:
        frame = orjson.loads(ws.recv(timeout=max(0.1, deadline - time.monotonic())))
        if frame["type"] == kind:
            return conforms(model, frame)
        assert frame["type"] in o.GAMES_FRAMES or frame["type"] in o.ACTIVITY_FRAMES, frame["type"]


def sse_frames(url: str, until: Callable[[list[dict[str, Any]]], bool], act: Callable[[], None]) -> list[str]:
    """The raw lines of an SSE stream until `until(frames)`; `act` runs once the first frame arrived."""
    lines: list[str] = []
    frames: list[dict[str, Any]] = []
    with httpx.Client(timeout=10) as http, http.stream("GET", url) as response:
        assert response.status_code == 200 and response.headers["content-type"].startswith("text/event-stream")
        for line in response.iter_lines():
            lines.append(line)
            if line.startswith("data: "):
                frames.append(orjson.loads(line[6:]))
                if len(frames) == 1:
                    act()
                if until(frames):
                    return lines
    raise AssertionError("stream ended")


@pytest.fixture
def live_game(service_env: dict[str, str], synced: SimHandle) -> Game:
    """A synced game the sports socket can report on (it has a sports gameId) and with priced markets."""
    game = Game.objects.filter(game_id__isnull=False, markets__isnull=False, ended=False).first()
    assert game is not None, "the simulator's scenario has games with a sports gameId"
    return game


def test_every_v1_frame_kind_conforms(spawn, service_env, live_game: Game) -> None:
    port, _ = daphne_start(spawn, service_env, "daphne-contract", REALTIME_WINDOW_MS=50, REALTIME_HEARTBEAT_S=1)
    gid, slug = live_game.gamma_id, live_game.slug
    with connect(f"ws://127.0.0.1:{port}/ws/games", origin="https://any-site.example") as games, \
            connect(f"ws://127.0.0.1:{port}/ws/activity") as activity:
        hello = recv(games, "subscribed", o.GamesSubscribedMessage)
        assert hello["message"] == "Connected to games WebSocket" and hello["clientCount"] == 1
        games.send('{"type":"ping"}')
        recv(games, "heartbeat", o.HeartbeatMessage)
        games.send('{"type":"refresh"}')
        initial = recv(games, "initial", o.GamesInitialMessage)
        assert gid in {g["id"] for g in initial["games"]}
        games.send('{"type":"subscribe","all":true}')  # protocol 2 only
        assert "protocol=2" in recv(games, "error", o.ErrorMessage)["message"]

        activity.send(orjson.dumps({"type": "subscribe", "slug": slug.upper()}).decode())
        assert recv(activity, "subscribed", o.ActivitySubscribedMessage)["slug"] == slug
        assert recv(activity, "initial", o.ActivityInitialMessage)["game"]["id"] == gid

        published = price_change(gid, 0.41)
        update = recv(games, "price_update", o.GamesPriceUpdateMessage)
        assert update["game"] == published
        assert recv(activity, "price_update", o.ActivityPriceUpdateMessage)["game"]["id"] == gid

        score_change(gid, "3-1")
        scored = recv(games, "game_update", o.GamesGameUpdateMessage)["game"]
        assert scored["id"] == gid and scored["isLive"] is True
        assert recv(activity, "game_update", o.ActivityGameUpdateMessage)["game"]["id"] == gid
        recv(activity, "heartbeat", o.HeartbeatMessage)  # the server's own, every REALTIME_HEARTBEAT_S

        # Redis lost the feed's numbering: every v1 client gets the whole list again, as `games_update`.
        client = redis_sync()
        client.delete(*client.scan_iter(match=os.environ["REDIS_PREFIX"] + ":rt:*"))
        price_change(gid, 0.43)
        listed = recv(games, "games_update", o.GamesUpdateMessage)
        assert gid in {g["id"] for g in listed["games"]}

        activity.send('{"type":"subscribe","slug":"no-such-game"}')
        assert recv(activity, "error", o.ErrorMessage)["message"] == "Game not found: no-such-game"

    # SSE, both streams: the same v1 frames, no `id:` lines (EventSource clients of the original).
    base = f"http://127.0.0.1:{port}"
    lines = sse_frames(f"{base}/api/games/stream", lambda fs: any(f["type"] == "heartbeat" for f in fs)
                       and any(f["type"] == "price_update" for f in fs), lambda: price_change(gid, 0.45))
    frames = [orjson.loads(line[6:]) for line in lines if line.startswith("data: ")]
    conforms(o.GamesInitialMessage, frames[0])
    for frame in frames[1:]:
        conforms(o.GAMES_FRAMES[frame["type"]], frame)
    assert not [line for line in lines if line.startswith(("id:", "retry:"))]
    lines = sse_frames(f"{base}/api/activitywatcher/{slug}/stream",
                       lambda fs: any(f["type"] == "price_update" for f in fs), lambda: price_change(gid, 0.47))
    frames = [orjson.loads(line[6:]) for line in lines if line.startswith("data: ")]
    conforms(o.ActivityInitialMessage, frames[0])
    for frame in frames[1:]:
        conforms(o.ACTIVITY_FRAMES[frame["type"]], frame)
    missing = httpx.get(f"{base}/api/activitywatcher/no-such-game/stream", timeout=10)
    assert missing.status_code == 404 and missing.json()["error"] == "Game not found"


def test_protocol_2_is_chosen_explicitly(spawn, service_env) -> None:
    port, _ = daphne_start(spawn, service_env, "daphne-protocols")
    with connect(f"ws://127.0.0.1:{port}/ws/games?protocol=2") as v2:
        hello = orjson.loads(v2.recv(timeout=10))
        assert hello["protocol"] == 2 and isinstance(hello["epoch"], int) and isinstance(hello["timestamp"], int)
    with connect(f"ws://127.0.0.1:{port}/ws/games?protocol=1") as v1:
        conforms(o.GamesSubscribedMessage, orjson.loads(v1.recv(timeout=10)))
    with connect(f"ws://127.0.0.1:{port}/ws/games?protocol=3") as bad:
        error = orjson.loads(bad.recv(timeout=10))
        assert error["type"] == "error" and "unknown protocol" in error["message"]
        with pytest.raises(Exception, match="1008"):
            bad.recv(timeout=10)
    refused = httpx.get(f"http://127.0.0.1:{port}/api/games/stream?protocol=9", timeout=10)
    assert refused.status_code == 400 and refused.json()["error"] == "invalid protocol"


def test_frame_schemas_reject_a_missing_field_or_a_wrong_type() -> None:
    """The frame contract can fail: epoch-ms timestamps (the v2 style), a missing field, a wrong type."""
    ok = {"type": "heartbeat", "timestamp": "2026-01-04T01:00:00.000Z"}
    o.HeartbeatMessage.model_validate(ok)
    for bad in ({"type": "heartbeat", "timestamp": 1767488400000}, {"type": "heartbeat"},
                {"type": "heartbeat", "timestamp": "2026-01-04 01:00:00"}, {**ok, "type": "batch"}):
        with pytest.raises(ValidationError):
            o.HeartbeatMessage.model_validate(bad)
    hello = {"type": "subscribed", "message": "x", "timestamp": ok["timestamp"], "clientCount": "1"}
    with pytest.raises(ValidationError):
        o.GamesSubscribedMessage.model_validate(hello)


@pytest.fixture
def original_clients() -> Iterator[Callable[[str], subprocess.Popen[str]]]:
    clients: list[subprocess.Popen[str]] = []

    def start(url: str) -> subprocess.Popen[str]:
        client = subprocess.Popen([sys.executable, str(CLIENT), url], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  text=True)
        clients.append(client)
        return client

    yield start
    for client in clients:
        if client.stdin:
            client.stdin.close()
        try:
            client.wait(10)
        except subprocess.TimeoutExpired:
            client.kill()
            client.wait()


def dump(client: subprocess.Popen[str]) -> dict[str, Any]:
    assert client.stdin is not None and client.stdout is not None
    client.stdin.write("dump\n")
    client.stdin.flush()
    return orjson.loads(client.stdout.readline())


def test_an_original_client_on_two_instances_sees_every_final_price(
    spawn, service_env, synced: SimHandle, original_clients
) -> None:
    ports = [daphne_start(spawn, service_env, f"daphne-original-{i}", REALTIME_WINDOW_MS=100)[0] for i in (0, 1)]
    clients = [original_clients(f"ws://127.0.0.1:{port}/ws/games") for port in ports]
    wait_until(lambda: all(dump(c)["counts"].get("initial") for c in clients), 30, 0.2)

    game_ids = list(Game.objects.filter(markets__isnull=False, ended=False).values_list("gamma_id", flat=True)[:8])
    assert len(game_ids) >= 5
    final: dict[str, dict[str, Any]] = {}
    for round_ in range(6):  # bursts: several changes per game inside one coalescing window
        for n, gid in enumerate(game_ids):
            final[gid] = price_change(gid, round(0.2 + 0.01 * round_ + 0.05 * n, 4))

    def caught_up() -> bool:
        states = [dump(c)["games"] for c in clients]
        return all(state.get(gid) == game for state in states for gid, game in final.items())

    wait_until(caught_up, 20, 0.2)
    for client in clients:
        counts = dump(client)["counts"]
        assert counts["price_update"] >= len(game_ids) and "batch" not in counts and "error" not in counts
