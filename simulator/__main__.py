"""``python -m simulator --host 127.0.0.1 --port 8765 --seed 1 [--rate 50] [--leagues nba nfl] ...``"""

from __future__ import annotations

import argparse
import json
import logging
import sys

from .app import SimConfig, run
from .faults import parse_fault_args
from .leagues import LEAGUES
from .replay import parse_moment


def _moment(text: str) -> int:
    try:
        return parse_moment(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def parse_args(argv: list[str] | None = None) -> SimConfig:
    p = argparse.ArgumentParser(prog="python -m simulator", description="Polymarket simulator (Gamma, CLOB, sockets)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8765)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--rate", type=float, default=50.0, help="price changes per second over all books")
    p.add_argument("--leagues", nargs="+", metavar="CODE", help=f"league codes ({', '.join(sorted(LEAGUES))})")
    p.add_argument("--games", type=int, help="number of fixtures (default: a realistic day, ~150)")
    p.add_argument("--events-file", help="replay recorded Gamma events instead of a generated day")
    p.add_argument("--shift-to-now", action="store_true",
                   help="with --events-file: the recording's moment (newest updatedAt) moves to now")
    p.add_argument("--recorded-at", type=_moment, metavar="WHEN",
                   help="with --shift-to-now: the recording's moment (ISO time or epoch ms; default: newest updatedAt)")
    p.add_argument("--replay-play", action="store_true",
                   help="with --events-file: play replayed games on from their recorded state (default: hold it)")
    p.add_argument("--game-speed", type=float, default=1.0, help="compress game time (and the schedule) by this factor")
    p.add_argument("--gamma-lag-s", type=float, default=2.0, help="Gamma live fields lag the sports socket by this")
    p.add_argument("--resolve-delay-s", type=float, default=600.0, help="final whistle -> markets resolved")
    p.add_argument("--new-game-every-s", type=float, default=900.0, help="list a new game this often (0 = never)")
    p.add_argument("--trade-prob", type=float, default=0.03, help="share of book events that are trades")
    p.add_argument("--ping-timeout-s", type=float, default=20.0, help="drop market sockets silent for this long")
    p.add_argument("--max-assets", type=int, default=500, help="assets served per market socket")
    p.add_argument("--max-subscribe-ids", type=int, default=2000, help="larger subscribe frames drop the socket")
    p.add_argument("--sports-heartbeat", choices=("both", "protocol", "text", "none"), default="both")
    p.add_argument("--sports-protocol-ping-s", type=float, default=15.0)
    p.add_argument("--sports-text-ping-s", type=float, default=5.0)
    p.add_argument("--sports-pong-timeout-s", type=float, default=10.0)
    p.add_argument("--epoch-ms", type=int, help="pin the simulated clock's start (reproducible timestamps/hashes)")
    p.add_argument("--paused", action="store_true", help="start with price and game movement paused")
    p.add_argument("--faults", nargs="*", default=[], metavar="KEY=VALUE",
                   help="initial faults, e.g. malformed_rate=0.05 http_429_rate=0.1 ignore_ping=true, or a JSON object")
    p.add_argument("--log-level", default="INFO")
    a = p.parse_args(argv)
    faults: dict[str, object] = {}
    for item in a.faults:
        if item.strip().startswith("{"):
            faults.update(json.loads(item))
        else:
            faults.update(parse_fault_args([item]))
    logging.basicConfig(level=a.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s")
    if a.leagues:
        unknown = [x for x in a.leagues if x not in LEAGUES]
        if unknown:
            p.error(f"unknown leagues {unknown}; known: {sorted(LEAGUES)}")
    return SimConfig(
        host=a.host, port=a.port, seed=a.seed, rate=a.rate, leagues=a.leagues, games=a.games,
        events_file=a.events_file, shift_to_now=a.shift_to_now, recorded_at_ms=a.recorded_at,
        replay_play=a.replay_play, game_speed=a.game_speed, gamma_lag_s=a.gamma_lag_s,
        resolve_delay_s=a.resolve_delay_s, new_game_every_s=a.new_game_every_s, trade_prob=a.trade_prob,
        ping_timeout_s=a.ping_timeout_s, max_assets=a.max_assets, max_subscribe_ids=a.max_subscribe_ids,
        sports_heartbeat=a.sports_heartbeat, sports_protocol_ping_s=a.sports_protocol_ping_s,
        sports_text_ping_s=a.sports_text_ping_s, sports_pong_timeout_s=a.sports_pong_timeout_s,
        epoch_ms=a.epoch_ms, paused=a.paused, faults=faults,
    )


def main(argv: list[str] | None = None) -> int:
    cfg = parse_args(argv)
    run(cfg)
    return 0


if __name__ == "__main__":
    sys.exit(main())
