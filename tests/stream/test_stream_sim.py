"""The stream program against the simulator: hostile sockets lose nothing; new games stream without
reconnecting the sockets that carry other games."""

from __future__ import annotations

import time

import orjson
import pytest
from django.db.models import Count

from core.publish import history_key
from core.redis import redis_sync
from games.models import GameProbability
from markets.models import PricePoint
from markets.prices import prices_read
from simulator.testing import run_simulator
from tests.conftest import wait_until
from tests.stream.simhelpers import ProgramThread, games_ingest, price_differences, program_config

pytestmark = [pytest.mark.timeout(150), pytest.mark.django_db(transaction=True)]


def test_socket_drops_and_bad_frames_lose_nothing() -> None:
    with run_simulator(seed=3, rate=400, extra_args=("--games", "20")) as sim:
        tokens = games_ingest(sim)
        assert len(tokens) >= 20
        faults = {"drop_every_s": 3, "malformed_rate": 0.02, "truncated_rate": 0.02, "duplicate_rate": 0.05,
                  "out_of_order_rate": 0.05}
        sim.control("POST", "/_sim/faults", json=faults)
        with ProgramThread(program_config(sim)) as run:
            program = run.program
            assert program is not None
            wait_until(lambda: program.counters.books >= len(tokens), 30)
            time.sleep(9)  # prices moving, sockets dropped every 3 s, frames damaged/duplicated/reordered
            sim.control("POST", "/_sim/pause")
            books = sim.control("GET", "/_sim/books")
            wait_until(lambda: not price_differences(books, tokens), 30, interval_s=0.5)
            counters = program.counters
            assert counters.connects >= 3 * len(program.pool.sockets)  # reconnected after drops
            assert counters.malformed > 0 and counters.duplicates > 0
            assert counters.hash_ok > 0 and counters.hash_mismatch > 0  # lost frames show up as mismatches...
            assert counters.resnapshots > 0  # ...and are repaired from REST
            assert counters.published > 0
        assert run.reason == "stopped"
    # Live games leave a compact per-minute history; at most one probability snapshot per game per minute.
    assert PricePoint.objects.filter(token_id__in=list(tokens)).exists()
    per_minute = GameProbability.objects.values("game_id", "recorded_at").annotate(n=Count("id"))
    assert per_minute and max(row["n"] for row in per_minute) == 1


def _price_update_game_ids() -> set[str]:
    ids = set()
    for _, fields in redis_sync().xrange(history_key("all")):
        event = orjson.loads(fields[b"e"])
        if event["type"] == "price_update":
            ids.add(event["game"]["id"])
    return ids


def test_new_games_stream_without_reconnecting_other_sockets() -> None:
    with run_simulator(seed=4, rate=300, extra_args=("--games", "10")) as sim:
        tokens = games_ingest(sim)
        with ProgramThread(program_config(sim, assets_per_socket=40)) as run:
            program = run.program
            assert program is not None
            wait_until(lambda: program.counters.books >= len(tokens), 30)
            sockets_before = {s.index: s.connects for s in program.pool.sockets}
            assert len(sockets_before) >= 2

            league = sim.control("GET", "/_sim/state")["leagues"][0]
            added = sim.control("POST", "/_sim/games", json={"league": league, "count": 2, "kickoff_in_s": 900})
            new_tokens, new_events = set(added["token_ids"]), set(added["event_ids"])
            tokens_now = games_ingest(sim)  # the games pipeline's next sync publishes the new token set
            assert new_tokens <= tokens_now
            synced = time.monotonic()
            wait_until(lambda: new_tokens <= set(prices_read(new_tokens)), 10)
            wait_until(lambda: new_events & _price_update_game_ids(), 10)
            latency = time.monotonic() - synced
            assert latency < 5, f"new games got prices {latency:.1f}s after the sync"

            sockets_after = {s.index: s.connects for s in program.pool.sockets}
            assert {i: sockets_after[i] for i in sockets_before} == sockets_before  # nobody reconnected
            assert sum(len(s.assets) for s in program.pool.sockets) == len(tokens_now)
            assert all(len(s.assets) <= 40 for s in program.pool.sockets)
            stats = sim.control("GET", "/_sim/stats")
            assert stats["connected_sockets"]["market"] == len(program.pool.sockets)


def test_silent_server_is_treated_as_stale_and_reconnected() -> None:
    """The server stops answering the text PING: after `stale_after_s` without PONG the socket is dropped
    and reopened (full resubscribe), and prices flow again."""
    with run_simulator(seed=6, rate=200, extra_args=("--games", "3")) as sim:
        tokens = games_ingest(sim)
        config = program_config(sim, ping_every_s=0.3, stale_after_s=1.5)
        with ProgramThread(config) as run:
            program = run.program
            assert program is not None
            wait_until(lambda: program.counters.books >= len(tokens), 20)
            connects = program.counters.connects
            sim.control("POST", "/_sim/faults", json={"ignore_ping": True})
            wait_until(lambda: program.counters.connects > connects, 10)
            sim.control("POST", "/_sim/faults", json={"ignore_ping": False})
            changes = program.counters.changes
            wait_until(lambda: program.counters.changes > changes and all(s.ws for s in program.pool.sockets), 10)
