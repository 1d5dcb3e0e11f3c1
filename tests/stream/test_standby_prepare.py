"""A stand-by loads the token set and its game index while it waits, and a takeover streams with them."""

from __future__ import annotations

import pytest

from core.lease import lease_acquire, lease_release
from simulator.testing import run_simulator
from tests.conftest import wait_until
from tests.stream.simhelpers import ProgramThread, games_ingest, program_config

pytestmark = [pytest.mark.timeout(120), pytest.mark.django_db(transaction=True)]


def test_a_standby_takes_over_with_the_index_it_loaded_while_waiting() -> None:
    with run_simulator(seed=12, rate=200, extra_args=("--games", "4")) as sim:
        tokens = games_ingest(sim)
        other = lease_acquire("stream", "holder:0", 60_000)
        assert other is not None
        with ProgramThread(program_config(sim)) as run:
            program = run.program
            assert program is not None
            prepared = wait_until(lambda: program.prepared, 30)
            version, prepared_tokens, index = prepared  # type: ignore[misc]
            assert prepared_tokens == tokens and set(index.tokens) == tokens and index.views
            assert program.holder.lease is None and not program.pool.sockets  # standing by: no upstream socket

            assert lease_release(other)
            wait_until(lambda: program.counters.published > 0, 30)
            assert program.window.index is index and program.token_version == version  # not loaded again
            assert program.prepared is None
