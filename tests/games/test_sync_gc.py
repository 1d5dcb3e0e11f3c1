"""Syncs run with the cyclic garbage collector paused (their millions of decoded JSON objects would be walked
by every full collection) and give it back when the last one ends."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from actions.sync import do_sync_catalog
from core.gcpause import cyclic_gc_paused
from games import services
from games.models import Game
from games.services import SyncReport
from games.upstream import GammaClient
from simulator.testing import run_simulator


@pytest.fixture
def collections_seen() -> Iterator[list[int]]:
    """The generation of every cyclic collection that starts while the test runs."""
    seen: list[int] = []

    def callback(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            seen.append(info["generation"])

    gc.callbacks.append(callback)
    try:
        yield seen
    finally:
        gc.callbacks.remove(callback)
        gc.enable()


def test_overlapping_pauses_give_the_collector_back_when_the_last_ends() -> None:
    assert gc.isenabled()
    inside, release = threading.Event(), threading.Event()

    def other() -> None:
        with cyclic_gc_paused():
            inside.set()
            release.wait(10)

    thread = threading.Thread(target=other)
    with cyclic_gc_paused():
        thread.start()
        inside.wait(10)
        with cyclic_gc_paused():
            assert not gc.isenabled()
    assert not gc.isenabled()  # the other thread's pause still runs
    release.set()
    thread.join(10)
    assert gc.isenabled()


def test_a_collector_off_before_stays_off() -> None:
    gc.disable()
    try:
        with cyclic_gc_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_no_cyclic_collection_runs_while_leagues_are_parsed_and_written(
    db: None, settings: Any, monkeypatch: pytest.MonkeyPatch, collections_seen: list[int]
) -> None:
    settings.GAMES_SERIES_OVERRIDES = []
    during: list[int] = []
    games_sync = services.games_sync

    def watched(*args: Any, **kwargs: Any) -> SyncReport:
        start = len(collections_seen)
        try:
            return games_sync(*args, **kwargs)
        finally:
            during.extend(collections_seen[start:])

    monkeypatch.setattr(services, "games_sync", watched)
    with (
        run_simulator(seed=5, extra_args=("--paused", "--new-game-every-s", "0", "--games", "40")) as sim,
        GammaClient(sim.gamma_url) as client,
    ):
        reports = do_sync_catalog(client)
    assert reports["games"].upserted == Game.objects.count() > 0
    assert during == []
    assert gc.isenabled()
