"""Sports WebSocket (``/sports/ws``): full-state game objects broadcast to every client.

No subscription; one camelCase JSON object per frame with no ``type`` field. Heartbeat as configured:
protocol pings every ``protocol_ping_s`` (observed live) and/or text ``ping`` every
``text_ping_s`` expecting ``pong`` within ``pong_timeout_s`` (documented); text ``PING`` from the
client is answered with ``PONG``.
"""

from __future__ import annotations

import asyncio
import contextlib
import time

import orjson
from aiohttp import web

from .conn import Conn, Stats, conn_serve
from .faults import Faults
from .gameplay import CANCELLED, FINAL, LIVE, POSTPONED, PRE, GameState
from .scenario import Game
from .wire import rfc3339_nanos


def sports_frame(game: Game, state: GameState, now_ms: int) -> dict[str, object]:
    """The socket's view of a game; ``score`` in slug order (away-home for US leagues)."""
    league = game.league
    model = game.model
    frame: dict[str, object] = {
        "gameId": game.game_id,
        "leagueAbbreviation": league.code,
        "homeTeam": game.home.socket_name,
        "awayTeam": game.away.socket_name,
        "status": model.status(state),
    }
    live = state.phase == LIVE
    ended = state.phase in (FINAL, CANCELLED)
    score = model.score_text(state) if state.phase not in (PRE, POSTPONED) else ""
    period = state.period or {PRE: "NS", POSTPONED: "POST", CANCELLED: "CAN"}.get(state.phase, "")
    if league.kind in ("soccer", "tennis"):
        stamp = rfc3339_nanos(now_ms, game.game_id)
        event_state: dict[str, object] = {"type": league.kind, "createdAt": rfc3339_nanos(game.kickoff_ms),
                                          "updatedAt": stamp, "score": score}
        if league.kind == "soccer" and state.elapsed:
            event_state["elapsed"] = state.elapsed
        event_state.update({"period": period, "live": live, "ended": ended})
        if league.kind == "tennis":
            event_state["tournamentName"] = f"{league.series_title} Tour Event"
            event_state["tennisRound"] = "Round of 32"
        frame["eventState"] = event_state
    frame["score"] = score
    if state.elapsed and live:
        frame["elapsed"] = state.elapsed
    frame["period"] = period
    frame["live"] = live
    frame["ended"] = ended
    if state.turn and live:
        team = game.team_a if state.turn == "a" else game.team_b
        frame["turn"] = team.abbreviation
    if state.phase == FINAL and state.finished_ms is not None:
        frame["finishedTimestamp"] = rfc3339_nanos(state.finished_ms, game.game_id * 7919)
    return frame


class SportsConn(Conn):
    pass


class SportsHub:
    def __init__(self, faults: Faults, stats: Stats, *, heartbeat: str = "both", protocol_ping_s: float = 15.0,
                 text_ping_s: float = 5.0, pong_timeout_s: float = 10.0) -> None:
        if heartbeat not in ("both", "protocol", "text", "none"):
            raise ValueError("sports heartbeat must be both|protocol|text|none")
        self.faults = faults
        self.stats = stats
        self.heartbeat = heartbeat
        self.protocol_ping_s = protocol_ping_s
        self.text_ping_s = text_ping_s
        self.pong_timeout_s = pong_timeout_s
        self.conns: set[SportsConn] = set()
        self._last_protocol_ping = time.monotonic()
        self._last_text_ping = time.monotonic()

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True, compress=False)
        await ws.prepare(request)
        conn = SportsConn(ws, request, self.faults, self.stats, "sports")
        self.conns.add(conn)
        await conn_serve(ws, conn, self.on_text, self.conns.discard)  # type: ignore[arg-type]
        return ws

    def on_text(self, conn: SportsConn, text: str) -> None:
        word = text.strip()
        if word in ("pong", "PONG"):
            conn.last_pong = time.monotonic()
        elif word in ("ping", "PING") and not self.faults.ignore_ping:
            conn.send_control(b"pong" if word == "ping" else b"PONG", "pong")
        # Anything else (e.g. a {"type":"subscribe"} some clients send) is harmless and ignored.

    def broadcast(self, frame: dict[str, object], duplicate: bool = False) -> None:
        data = orjson.dumps(frame)
        self.stats.sports_updates += 1
        for conn in self.conns:
            conn.send(data, "sports")
            if duplicate:
                conn.send(data, "sports")

    def heartbeat_tick(self) -> None:
        """Called four times a second by the engine's housekeeping loop."""
        now = time.monotonic()
        if self.heartbeat in ("both", "protocol") and now - self._last_protocol_ping >= self.protocol_ping_s:
            self._last_protocol_ping = now
            for conn in list(self.conns):
                if not conn.closed:
                    asyncio.get_running_loop().create_task(self._protocol_ping(conn))
        if self.heartbeat in ("both", "text"):
            if now - self._last_text_ping >= self.text_ping_s:
                self._last_text_ping = now
                for conn in self.conns:
                    conn.send_control(b"ping", "ping")
            for conn in list(self.conns):
                if not conn.closed and now - conn.last_pong > self.pong_timeout_s + self.text_ping_s:
                    conn.abort()
        for conn in self.conns:
            conn.flush_held()

    @staticmethod
    async def _protocol_ping(conn: SportsConn) -> None:
        with contextlib.suppress(Exception):
            await conn.ws.ping()

    def drop_all(self) -> int:
        conns = list(self.conns)
        for conn in conns:
            conn.abort()
        return len(conns)
