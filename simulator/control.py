"""Control and introspection API under ``/_sim/`` (JSON), used by other packages' tests.

Never subject to fault injection.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import orjson
from aiohttp import web

from .conn import Stats
from .engine import Engine
from .faults import Faults
from .leagues import LEAGUES
from .scenario import Scenario
from .wire import PRICE_STRINGS
from .ws_market import MarketHub
from .ws_sports import SportsHub, sports_frame


def json_response(data: object, status: int = 200) -> web.Response:
    return web.Response(body=orjson.dumps(data), status=status, content_type="application/json")


async def _body(request: web.Request) -> dict[str, Any]:
    raw = await request.read()
    if not raw.strip():
        return {}
    data = orjson.loads(raw)
    if not isinstance(data, dict):
        raise ValueError("body must be a JSON object")
    return data


class ControlApi:
    def __init__(self, scenario: Scenario, engine: Engine, faults: Faults, markets: MarketHub, sports: SportsHub,
                 stats: Stats, mode: str) -> None:
        self.scenario = scenario
        self.engine = engine
        self.faults = faults
        self.markets = markets
        self.sports = sports
        self.stats = stats
        self.mode = mode
        self._last_drop = time.monotonic()

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/_sim/state", self.state),
            web.post("/_sim/faults", self.set_faults),
            web.get("/_sim/faults", self.get_faults),
            web.post("/_sim/drop", self.drop),
            web.post("/_sim/pause", self.pause),
            web.post("/_sim/resume", self.resume),
            web.post("/_sim/rate", self.set_rate),
            web.get("/_sim/books", self.books),
            web.post("/_sim/games", self.add_games),
            web.post("/_sim/game/{event_id}", self.force_game),
            web.post("/_sim/book/{token_id}", self.move_book),
            web.get("/_sim/stats", self.get_stats),
        ]

    async def state(self, request: web.Request) -> web.Response:
        return json_response({
            "seed": self.scenario.seed,
            "counts": self.scenario.counts(),
            "leagues": self.scenario.league_codes(),
            "rate": self.engine.rate,
            "paused": self.engine.paused,
            "faults": self.faults.to_json(),
            "mode": self.mode,
            "game_speed": self.scenario.speed,
            "now_ms": self.engine.clock.now_ms(),
        })

    async def get_faults(self, request: web.Request) -> web.Response:
        return json_response(self.faults.to_json())

    async def set_faults(self, request: web.Request) -> web.Response:
        every = self.faults.drop_every_s
        try:
            self.faults.update(await _body(request))
        except (ValueError, orjson.JSONDecodeError) as exc:
            return json_response({"error": str(exc)}, status=400)
        if self.faults.drop_every_s != every:  # a new period counts from now; other faults keep its rhythm
            self._last_drop = time.monotonic()
        return json_response(self.faults.to_json())

    async def drop(self, request: web.Request) -> web.Response:
        try:
            which = str((await _body(request)).get("socket", "all"))
        except (ValueError, orjson.JSONDecodeError) as exc:
            return json_response({"error": str(exc)}, status=400)
        return json_response(self.drop_now(which))

    def drop_now(self, which: str = "all") -> dict[str, int]:
        out = {"market": 0, "sports": 0}
        if which in ("all", "market"):
            out["market"] = self.markets.drop_all()
        if which in ("all", "sports"):
            out["sports"] = self.sports.drop_all()
        return out

    async def pause(self, request: web.Request) -> web.Response:
        self.engine.pause()
        return json_response({"paused": True})

    async def resume(self, request: web.Request) -> web.Response:
        self.engine.resume()
        return json_response({"paused": False})

    async def set_rate(self, request: web.Request) -> web.Response:
        try:
            rate = float((await _body(request))["rate"])
        except (KeyError, ValueError, TypeError, orjson.JSONDecodeError):
            return json_response({"error": "body must be {\"rate\": number}"}, status=400)
        if rate < 0:
            return json_response({"error": "rate must not be negative"}, status=400)
        self.engine.rate = rate
        return json_response({"rate": rate})

    async def books(self, request: web.Request) -> web.Response:
        out: dict[str, dict[str, object]] = {}
        ps = PRICE_STRINGS
        for market in self.scenario.markets:
            book = market.book
            if book is None:
                continue  # resolved markets have no order book, as on the real CLOB
            for index, token in enumerate(market.tokens):
                bb, ba = book.best(index)
                out[token] = {
                    "best_bid": None if bb is None else ps[bb],
                    "best_ask": None if ba is None else ps[ba],
                    "last_trade_price": book.ltp_text(),
                    "hash": book.hash(index),
                }
        return json_response(out)

    async def add_games(self, request: web.Request) -> web.Response:
        try:
            body = await _body(request)
            league = body.get("league")
            count = int(body.get("count", 1))
            kickoff_in_s = body.get("kickoff_in_s")
            kickoff = None if kickoff_in_s is None else float(kickoff_in_s)
        except (ValueError, TypeError, orjson.JSONDecodeError) as exc:
            return json_response({"error": str(exc)}, status=400)
        if league is not None and league not in LEAGUES:
            return json_response({"error": f"unknown league {league!r}"}, status=400)
        if not 1 <= count <= 100:
            return json_response({"error": "count must be 1..100"}, status=400)
        games = self.engine.add_games(league, count, kickoff, self.engine.clock.now_ms())
        return json_response({
            "event_ids": [e.id for g in games for e in g.events],
            "token_ids": [t for g in games for m in g.markets() for t in m.tokens],
            "games": [{
                "game_id": g.game_id,
                "league": g.league.code,
                "slug": g.events[0].slug,
                "event_ids": [e.id for e in g.events],
                "token_ids": [t for m in g.markets() for t in m.tokens],
                "kickoff_ms": g.kickoff_ms,
            } for g in games],
        })

    async def force_game(self, request: web.Request) -> web.Response:
        event = self.scenario.events_by_id.get(request.match_info["event_id"])
        if event is None:
            return json_response({"error": "unknown event id"}, status=404)
        try:
            body = await _body(request)
        except (ValueError, orjson.JSONDecodeError) as exc:
            return json_response({"error": str(exc)}, status=400)
        allowed = {"score", "period", "elapsed", "live", "ended", "postponed"}
        unknown = set(body) - allowed
        if unknown:
            return json_response({"error": f"unknown fields {sorted(unknown)}"}, status=400)
        for key in ("live", "ended", "postponed"):
            if key in body and not isinstance(body[key], bool):
                return json_response({"error": f"{key} must be a boolean"}, status=400)
        now = self.engine.clock.now_ms()
        self.engine.force(event.game, body, now)
        return json_response({
            "game_id": event.game.game_id,
            "frame": sports_frame(event.game, event.game.state, now),
            "gamma_visible_at_ms": now + int(self.engine.cfg.gamma_lag_s * 1000),
        })

    async def move_book(self, request: web.Request) -> web.Response:
        found = self.scenario.tokens.get(request.match_info["token_id"])
        if found is None or found[0].book is None:
            return json_response({"error": "no order book for this token id"}, status=404)
        market, index = found
        try:
            body = await _body(request)
            bid, ask = float(body["best_bid"]), float(body["best_ask"])
        except (KeyError, ValueError, TypeError, orjson.JSONDecodeError) as exc:
            return json_response({"error": f"need numeric best_bid and best_ask: {exc}"}, status=400)
        tick = market.book.tick
        best_bid, best_ask = round(bid * 1000 / tick) * tick, round(ask * 1000 / tick) * tick
        if not 0 < best_bid < best_ask < 1000:
            return json_response({"error": "need 0 < best_bid < best_ask < 1 on the tick grid"}, status=400)
        now = self.engine.clock.now_ms()
        self.engine.move_book(market, index, best_bid, best_ask, now)
        bb, ba = market.book.best(index)
        return json_response({"token_id": market.tokens[index], "best_bid": PRICE_STRINGS[bb] if bb else None,
                              "best_ask": PRICE_STRINGS[ba] if ba else None, "timestamp": now})

    async def get_stats(self, request: web.Request) -> web.Response:
        stats = self.stats
        return json_response({
            "frames_sent": dict(stats.frames_by_type),
            "price_changes": stats.price_changes,
            "trades": stats.trades,
            "sports_updates": stats.sports_updates,
            "connected_sockets": {"market": len(self.markets.conns), "sports": len(self.sports.conns)},
            "dropped_sockets": stats.dropped_sockets,
            "uptime_s": round(time.monotonic() - stats.started, 3),
        })

    async def drop_loop(self) -> None:
        """``drop_every_s``: periodically drop every socket (1006, no close frame)."""
        while True:
            await asyncio.sleep(0.25)
            every = self.faults.drop_every_s
            if every > 0 and time.monotonic() - self._last_drop >= every:
                self._last_drop = time.monotonic()
                self.drop_now("all")
