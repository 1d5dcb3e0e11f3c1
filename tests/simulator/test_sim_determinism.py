"""Same seed -> same ids and the same first N frames (two separate simulator processes)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest

from simulator.testing import SimHandle, run_simulator

from .conftest import SMALL, connect, flat, open_tokens

EPOCH_MS = 1_777_000_000_000
N_FRAMES = 150


def _ids(sim: SimHandle) -> dict[str, object]:
    events = httpx.get(sim.gamma_url + "/events", params={"limit": 500}, timeout=30).json()
    teams = httpx.get(sim.gamma_url + "/teams", params={"limit": 99}, timeout=30).json()
    return {
        "events": [(e["id"], e["slug"], e["gameId"]) for e in events],
        "markets": [(m["id"], m["conditionId"], m["clobTokenIds"], m["question"])
                    for e in events for m in e["markets"]],
        "teams": [(t["id"], t["abbreviation"]) for t in teams],
    }


async def _first_frames(sim: SimHandle, tokens: list[str]) -> list[str]:
    """Subscribe while paused, then resume: the frame sequence depends only on the seed."""
    async with connect(sim.clob_ws_url) as ws:
        await ws.send(json.dumps({"type": "market", "assets_ids": tokens}))
        frames = [await ws.recv()]
        async with httpx.AsyncClient() as client:
            await client.post(sim.base + "/_sim/resume")
        while len(frames) < N_FRAMES:
            frames.append(await asyncio.wait_for(ws.recv(), 10))
    return [f if isinstance(f, str) else f.decode() for f in frames]


def _run(seed: int) -> tuple[dict[str, object], list[str]]:
    args = (*SMALL, "--epoch-ms", str(EPOCH_MS), "--paused")
    with run_simulator(seed=seed, rate=400, extra_args=args) as sim:
        ids = _ids(sim)
        tokens = flat(open_tokens(sim))
        frames = asyncio.run(_first_frames(sim, tokens))
    return ids, frames


@pytest.fixture(scope="module")
def two_runs() -> tuple[tuple[dict[str, object], list[str]], tuple[dict[str, object], list[str]]]:
    return _run(seed=11), _run(seed=11)


def test_same_seed_same_ids_and_frames(two_runs: Any) -> None:
    (ids_a, frames_a), (ids_b, frames_b) = two_runs
    assert ids_a == ids_b
    assert len(frames_a) == len(frames_b) == N_FRAMES
    # Byte-identical, timestamps and hashes included (the pinned clock stands still while paused).
    for i, (a, b) in enumerate(zip(frames_a, frames_b, strict=True)):
        assert a == b, f"frame {i} differs:\n{a[:300]}\n{b[:300]}"
    kinds = {json.loads(f)["event_type"] for f in frames_a[1:]}
    assert "price_change" in kinds


def test_other_seed_other_ids(two_runs: Any, sim: SimHandle) -> None:
    ids_11 = two_runs[0][0]
    ids_7 = _ids(sim)  # the session simulator: same arguments, seed 7
    assert [e[0] for e in ids_11["events"]] != [e[0] for e in ids_7["events"]]
    assert {m[2] for m in ids_11["markets"]}.isdisjoint({m[2] for m in ids_7["markets"]})
