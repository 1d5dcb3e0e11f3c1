"""Every open market has a fresh price: a postponed game is streamed; a game beyond the streamed window is
refreshed from Gamma by every games sync. The public API follows a move of their books in the simulator."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from simulator.testing import SimHandle, run_simulator
from tests.conftest import wait_until
from tests.stream.simhelpers import ProgramThread, games_ingest, program_config

pytestmark = [pytest.mark.timeout(150), pytest.mark.django_db(transaction=True)]


def _add_game(sim: SimHandle, kickoff_in_s: float) -> dict[str, Any]:
    added = sim.control("POST", "/_sim/games", json={"league": "nba", "count": 1, "kickoff_in_s": kickoff_in_s})
    return added["games"][0]


def _move(sim: SimHandle, token: str, bid: float, ask: float) -> int:
    moved = sim.control("POST", f"/_sim/book/{token}", json={"best_bid": bid, "best_ask": ask})
    assert (moved["best_bid"], moved["best_ask"]) == (f"{bid:g}", f"{ask:g}")
    return int(moved["timestamp"])


def _served(api: Client, event_id: str, token: str) -> tuple[float | None, float | None, int]:
    """(best bid, best ask) of `token` on the LiveGame, and the FrontendGame's updatedAt."""
    game = api.get(f"/api/games/{event_id}").json()["game"]
    outcome = next(o for m in game["markets"] for o in m["structuredOutcomes"] if o["clobTokenId"] == token)
    frontend = api.get(f"/api/games/{event_id}/frontend").json()["game"]
    return outcome["bestBid"], outcome["bestAsk"], frontend["updatedAt"]


def test_postponed_and_far_games_follow_their_books() -> None:
    args = ("--games", "4", "--new-game-every-s", "0", "--gamma-lag-s", "0")
    with run_simulator(seed=5, rate=0, extra_args=args) as sim:
        postponed, far = _add_game(sim, 3600), _add_game(sim, 4 * 86400)  # far: beyond the 48 h token horizon
        postponed_id, far_id = postponed["event_ids"][0], far["event_ids"][0]
        sim.control("POST", f"/_sim/game/{postponed_id}", json={"postponed": True})
        tokens = games_ingest(sim)
        api = Client()
        assert api.get(f"/api/games/{postponed_id}").json()["game"]["status"] == "postponed"
        assert set(postponed["token_ids"]) <= tokens and not set(far["token_ids"]) & tokens

        with ProgramThread(program_config(sim)) as run:
            program = run.program
            assert program is not None
            wait_until(lambda: program.counters.books >= len(tokens), 30)
            # The postponed game's markets keep trading: the stream carries the move to the API.
            token = postponed["token_ids"][0]
            moved_at = _move(sim, token, 0.81, 0.83)
            wait_until(lambda: _served(api, postponed_id, token)[:2] == (0.81, 0.83), 10)
            assert _served(api, postponed_id, token)[2] >= moved_at

        # The far game's price is refreshed from Gamma by the next games sync (SYNC_GAMES_EVERY_S).
        token = far["token_ids"][0]
        moved_at = _move(sim, token, 0.22, 0.24)
        assert _served(api, far_id, token)[:2] != (0.22, 0.24)
        games_ingest(sim)
        bid, ask, updated_at = _served(api, far_id, token)
        assert (bid, ask) == (0.22, 0.24) and updated_at >= moved_at
