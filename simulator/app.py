"""Wires the scenario, engine, sockets and REST apps into one aiohttp application on one port."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field

from aiohttp import web

from .clob import ClobApi
from .conn import Stats
from .control import ControlApi
from .data_api import DataApi
from .engine import Clock, Engine, EngineConfig
from .faults import Faults, http_fault_middleware
from .gamma import GammaApi
from .replay import build_replay, load_events, shift_to_now
from .scenario import Scenario, build_scenario
from .ws_market import MarketHub
from .ws_sports import SportsHub

log = logging.getLogger("simulator")


@dataclass
class SimConfig:
    host: str = "127.0.0.1"
    port: int = 8765
    seed: int = 1
    rate: float = 50.0
    leagues: list[str] | None = None
    games: int | None = None
    events_file: str | None = None
    shift_to_now: bool = False
    recorded_at_ms: int | None = None  # the recording's moment (default: its newest updatedAt)
    replay_play: bool = False  # replayed games play on instead of holding their recorded state
    game_speed: float = 1.0
    gamma_lag_s: float = 2.0
    resolve_delay_s: float = 600.0
    new_game_every_s: float = 900.0
    trade_prob: float = 0.03
    ping_timeout_s: float = 20.0
    max_assets: int = 500
    max_subscribe_ids: int = 2000
    sports_heartbeat: str = "both"
    sports_protocol_ping_s: float = 15.0
    sports_text_ping_s: float = 5.0
    sports_pong_timeout_s: float = 10.0
    epoch_ms: int | None = None
    paused: bool = False
    faults: dict[str, object] = field(default_factory=dict)


@dataclass
class Runtime:
    """Everything a running simulator holds (handy for in-process use)."""

    scenario: Scenario
    engine: Engine
    markets: MarketHub
    sports: SportsHub
    faults: Faults
    stats: Stats
    control: ControlApi
    clock: Clock


def build_runtime(cfg: SimConfig) -> Runtime:
    clock = Clock(cfg.epoch_ms, paused=cfg.paused)
    now = clock.start_ms
    if cfg.events_file:
        items = load_events(cfg.events_file)
        if cfg.shift_to_now:
            items = shift_to_now(items, now, cfg.recorded_at_ms)
        scenario = build_replay(cfg.seed, now, items, cfg.game_speed, cfg.resolve_delay_s, cfg.replay_play)
        mode = "replay"
    else:
        scenario = build_scenario(cfg.seed, now, cfg.leagues, cfg.games, cfg.game_speed, cfg.resolve_delay_s)
        mode = "generated"
    faults = Faults()
    faults.update(cfg.faults)
    stats = Stats()
    markets = MarketHub(scenario, faults, stats, ping_timeout_s=cfg.ping_timeout_s, max_assets=cfg.max_assets,
                        max_subscribe_ids=cfg.max_subscribe_ids)
    sports = SportsHub(faults, stats, heartbeat=cfg.sports_heartbeat, protocol_ping_s=cfg.sports_protocol_ping_s,
                       text_ping_s=cfg.sports_text_ping_s, pong_timeout_s=cfg.sports_pong_timeout_s)
    engine = Engine(scenario, markets, sports, stats, clock, EngineConfig(
        rate=cfg.rate, gamma_lag_s=cfg.gamma_lag_s, trade_prob=cfg.trade_prob,
        new_game_every_s=0.0 if cfg.events_file else cfg.new_game_every_s, paused=cfg.paused,
    ))
    control = ControlApi(scenario, engine, faults, markets, sports, stats, mode)
    return Runtime(scenario, engine, markets, sports, faults, stats, control, clock)


RUNTIME = web.AppKey("runtime", Runtime)


def build_app(cfg: SimConfig) -> web.Application:
    rt = build_runtime(cfg)
    app = web.Application(middlewares=[http_fault_middleware(rt.faults)], client_max_size=64 * 1024 * 1024)
    app.add_routes(GammaApi(rt.scenario).routes())
    app.add_routes(ClobApi(rt.scenario, rt.clock.now_ms).routes())
    app.add_routes(DataApi(rt.scenario).routes())
    app.add_routes(rt.control.routes())
    app.add_routes([web.get("/clob/ws/market", rt.markets.handle), web.get("/ws/market", rt.markets.handle),
                    web.get("/sports/ws", rt.sports.handle)])
    app[RUNTIME] = rt
    tasks: list[asyncio.Task[None]] = []

    async def on_startup(_: web.Application) -> None:
        rt.engine.start()
        tasks.append(asyncio.get_running_loop().create_task(rt.control.drop_loop()))

    async def on_shutdown(_: web.Application) -> None:
        # Close sockets first so aiohttp does not wait for them during cleanup.
        rt.markets.drop_all()
        rt.sports.drop_all()

    async def on_cleanup(_: web.Application) -> None:
        await rt.engine.stop()
        for task in tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    app.on_startup.append(on_startup)
    app.on_shutdown.append(on_shutdown)
    app.on_cleanup.append(on_cleanup)
    return app


def run(cfg: SimConfig) -> None:
    app = build_app(cfg)
    counts = app[RUNTIME].scenario.counts()
    log.info("simulator on http://%s:%d seed=%d counts=%s", cfg.host, cfg.port, cfg.seed, counts)
    web.run_app(app, host=cfg.host, port=cfg.port, print=None, access_log=None, shutdown_timeout=2.0)
