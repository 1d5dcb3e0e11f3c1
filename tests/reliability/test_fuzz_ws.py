"""WebSocket fuzzing (hypothesis) against a real daphne: /ws/games and /ws/activity get random JSON, wrong
types, unknown message types, binary frames and huge frames. Each is answered (an error frame for bad
input) on a connection that stays usable, the daphne log shows no exception, and a bystander client
keeps receiving published events."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import threading
import time
from typing import Any

import orjson
import pytest
import websockets
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.publish import game_events_publish
from tests.realtime.helpers import daphne_start
from tests.reliability.helpers import WsRecorder

json_scalars = (st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False)
                | st.text(max_size=30))
json_values = st.recursive(json_scalars, lambda inner: st.lists(inner, max_size=5)
                           | st.dictionaries(st.text(max_size=10), inner, max_size=5), max_leaves=20)
type_field = (st.sampled_from(["ping", "refresh", "subscribe", "unsubscribe", "resume", "PING", "", "batch"])
              | json_values)
shaped = st.fixed_dictionaries(
    {"type": type_field},
    optional={"sports": json_values | st.lists(st.text(max_size=70), max_size=5),
              "games": json_values | st.lists(st.text(max_size=70), max_size=5),
              "topics": json_values | st.lists(st.sampled_from(["all", "sport:nba", "game:1", "game:", "x:y"])),
              "all": json_values, "slug": json_values | st.text(max_size=300),
              "seqs": json_values | st.dictionaries(st.sampled_from(["all", "sport:nba", "game:9", "bad"]),
                                                    st.integers(-5, 2**64) | json_values, max_size=4)},
)
messages = st.one_of(
    shaped.map(json.dumps),
    json_values.map(json.dumps),
    st.text(max_size=200),
    st.binary(min_size=1, max_size=200),
    st.sampled_from(["NaN", "[1,2", '{"type":"subscribe","topics":["all"]' + "," * 10, "\x00", "null"]),
)


class Conversation:
    """One WebSocket on a background loop; `exchange` sends a message and collects what comes back."""

    def __init__(self, url: str, *, hello: bool) -> None:
        self.url = url
        self.count = 0
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.ws: Any = self._call(self._connect())
        if hello:  # /ws/games greets; /ws/activity waits for a subscribe
            assert orjson.loads(self._call(self.ws.recv()))["type"] == "subscribed"

    async def _connect(self) -> Any:
        return await websockets.connect(self.url, max_size=None, open_timeout=10)

    def _call(self, coro: Any, timeout: float = 20) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    async def _exchange(self, message: str | bytes) -> list[dict[str, Any]]:
        self.count += 1
        marker = f"end-of-answer-{self.count}"
        await self.ws.send(message)
        # The error answering this unknown type (it echoes the type) marks the end of the answer to `message`.
        await self.ws.send(orjson.dumps({"type": marker}).decode())
        frames = []
        while True:
            frame = orjson.loads(await asyncio.wait_for(self.ws.recv(), 10))
            if frame.get("type") == "error" and marker in frame.get("message", ""):
                return frames
            if frame.get("type") != "heartbeat":  # periodic keep-alive frames are not answers
                frames.append(frame)

    def exchange(self, message: str | bytes) -> list[dict[str, Any]]:
        return self._call(self._exchange(message))

    def close(self) -> None:
        self._call(self.ws.close())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck), database=None)


def _fuzz(conversation: Conversation) -> dict[str, int]:
    seen = {"errors": 0, "messages": 0}

    @FUZZ
    @given(messages)
    def run(message: str | bytes) -> None:
        frames = conversation.exchange(message)  # raises if the server closed or stopped answering
        seen["messages"] += 1
        for frame in frames:
            assert isinstance(frame.get("type"), str)
            if frame["type"] == "error":
                assert isinstance(frame["message"], str) and frame["message"]
                seen["errors"] += 1
        if isinstance(message, bytes):
            assert frames and frames[0]["type"] == "error" and "binary" in frames[0]["message"]

    run()
    return seen


@pytest.mark.timeout(240)
def test_hostile_websocket_frames_get_error_frames_and_harm_no_one(service_env, spawn) -> None:
    port, daphne = daphne_start(spawn, service_env, "daphne-wsfuzz", REALTIME_WINDOW_MS=20)
    with WsRecorder(f"ws://127.0.0.1:{port}/ws/games?protocol=2") as bystander:
        games = Conversation(f"ws://127.0.0.1:{port}/ws/games?protocol=2", hello=True)
        activity = Conversation(f"ws://127.0.0.1:{port}/ws/activity", hello=False)
        try:
            games_seen = _fuzz(games)
            activity_seen = _fuzz(activity)

            # Frames over REALTIME_MAX_FRAME_BYTES (64 KiB; here 700 KB): an error frame, the connection stays usable.
            big = json.dumps({"type": "subscribe", "topics": ["all"] * 100_000})
            assert 65_536 < len(big) < 1_000_000
            for conversation in (games, activity):
                answer = conversation.exchange(big)
                assert answer and answer[0]["type"] == "error" and "too large" in answer[0]["message"]
            too_many = {"type": "subscribe", "games": [str(i) for i in range(1000)]}
            assert "too many subscriptions" in games.exchange(json.dumps(too_many))[0]["message"]
            assert games.exchange(json.dumps({"type": "subscribe", "sports": ["nba"]}))[0]["type"] == "subscribed"
        finally:
            games.close()
            activity.close()

        # A 20 MB frame: daphne's protocol layer drops that connection (its message-size bound), the server
        # and everyone else carry on; a new connection is served.
        huge = Conversation(f"ws://127.0.0.1:{port}/ws/games?protocol=2", hello=True)
        with pytest.raises(websockets.ConnectionClosed):
            huge.exchange(json.dumps({"type": "x", "pad": base64.b64encode(os.urandom(15_000_000)).decode()}))
        huge.loop.call_soon_threadsafe(huge.loop.stop)
        after = Conversation(f"ws://127.0.0.1:{port}/ws/games?protocol=2", hello=True)
        assert after.exchange("{}")[0]["type"] == "error"
        after.close()

        assert games_seen["messages"] >= 100 and games_seen["errors"] >= 50
        assert activity_seen["messages"] >= 100 and activity_seen["errors"] >= 50

        # The bystander still gets live events, and never saw an error.
        sent_at = time.time()
        game_events_publish([{"type": "game_update", "game": {"id": "777", "slug": "nba-777", "sport": "nba"}}])
        deadline = time.time() + 10
        while time.time() < deadline and not any(e["game"]["id"] == "777" for _, e in bystander.events(sent_at)):
            time.sleep(0.05)
        assert any(e["game"]["id"] == "777" for _, e in bystander.events(sent_at))
        assert "error" not in bystander.kinds() and bystander.connects == 1

    assert daphne.proc.poll() is None
    log = daphne.log()
    assert "Traceback" not in log and " ERROR " not in log, log[-3000:]
