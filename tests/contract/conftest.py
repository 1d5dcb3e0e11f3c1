"""The synced scenario both contract suites read: the simulator's catalog through the real sync."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from actions.sync import do_sync_catalog
from games.upstream import GammaClient
from readmodels.listing import listing_shutdown
from simulator.testing import SimHandle, run_simulator


@pytest.fixture
def synced(settings: Any) -> Iterator[SimHandle]:
    """Six fixtures per league mix, trading fast enough that the data API has fills to show."""
    settings.GAMES_SERIES_OVERRIDES = []
    with run_simulator(seed=7, rate=400, extra_args=("--games", "12", "--new-game-every-s", "0")) as sim:
        settings.CLOB_URL, settings.DATA_API_URL = sim.clob_url, sim.data_api_url
        with GammaClient(sim.gamma_url) as client:
            do_sync_catalog(client)
        yield sim
    asyncio.run(listing_shutdown())  # the listing builder thread's DB connection, before the DB is dropped
