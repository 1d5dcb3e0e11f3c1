"""Reconnect with `resume`: exactly the missed events from history, or a resync snapshot when too old."""

from __future__ import annotations

import asyncio
import time

import pytest

from realtime.publish import game_events_publish_async
from tests.realtime.helpers import FeedClient, daphne_start, game

pytestmark = pytest.mark.timeout(120)


class Publisher:
    """Steady price updates on 5 NBA games (and NHL noise), recording what each NBA seq carried."""

    def __init__(self) -> None:
        self.nba: list[dict] = []  # nba[k - 1] is the game published with sport:nba seq k
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    async def _run(self) -> None:
        i = 0
        while not self._stopping:  # never cancelled mid-publish: the record must match what Redis stamped
            nba = game(f"n{i % 5}", "nba", price=i, sentAt=time.time())
            await game_events_publish_async([
                {"type": "price_update", "game": nba},
                {"type": "price_update", "game": game(f"h{i % 3}", "nhl", price=i)},
            ])
            self.nba.append(nba)
            i += 1
            await asyncio.sleep(0.05)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        assert self._task is not None
        self._stopping = True
        await self._task


async def _cut_and_resume(ports: list[int], cut_s: float) -> tuple[FeedClient, FeedClient, FeedClient, int, list]:
    steady, mover = FeedClient(ports[0], "steady"), FeedClient(ports[0], "mover")
    for client in (steady, mover):
        await client.connect()
        await client.send({"type": "subscribe", "sports": ["nba"]})
        await client.next_frame("snapshot")
    publisher = Publisher()
    publisher.start()
    await mover.wait_for(lambda: mover.seq.get("sport:nba", 0) >= 20)
    await mover.close()
    last_seen = mover.seq["sport:nba"]
    await asyncio.sleep(cut_s)

    # Reconnect to the OTHER instance, carrying the app state over, and resume.
    back = FeedClient(ports[1], "back")
    back.state["sport:nba"] = dict(mover.state["sport:nba"])
    back.seq["sport:nba"] = last_seen
    await back.connect()
    await back.send({"type": "resume", "seqs": {"sport:nba": last_seen}})
    await asyncio.sleep(1.0)
    await publisher.stop()
    final = len(publisher.nba)
    for client in (steady, back):
        await client.wait_for(lambda c=client: c.seq.get("sport:nba") == final)
    return steady, back, mover, last_seen, publisher.nba


async def test_resume_replays_exactly_the_missed_events(spawn, service_env) -> None:
    ports = [daphne_start(spawn, service_env, f"daphne-resume-{i}")[0] for i in range(2)]
    steady, back, mover, last_seen, published = await _cut_and_resume(ports, cut_s=10)

    replays = [f for f in back.frames if f.get("type") == "batch" and f.get("replay")]
    assert replays and not back.of_type("resync")
    replayed = [e for frame in replays for e in frame["events"]]
    seqs = [e["seq"] for e in replayed]
    assert seqs[0] == last_seen + 1 and seqs == list(range(last_seen + 1, seqs[-1] + 1))
    assert len(seqs) >= 150  # ~10 s at 20 events/s were missed
    assert [e["game"] for e in replayed] == published[last_seen:seqs[-1]]  # exactly what was published
    assert set(mover.received["sport:nba"]).isdisjoint(back.received["sport:nba"])  # nothing twice
    assert len(back.received["sport:nba"]) == len(set(back.received["sport:nba"]))
    assert back.state["sport:nba"] == steady.state["sport:nba"]
    assert back.seq == steady.seq
    for client in (steady, back):
        await client.close()


async def test_resume_beyond_history_gets_a_resync_snapshot(spawn, service_env, settings) -> None:
    settings.REALTIME_HISTORY_MAX = 20  # the publisher (this process) trims history to 20 per topic
    ports = [daphne_start(spawn, service_env, f"daphne-resync-{i}")[0] for i in range(2)]
    steady, back, _mover, last_seen, published = await _cut_and_resume(ports, cut_s=3)

    resync = back.of_type("resync")
    assert len(resync) == 1 and resync[0]["reason"] == "history_exceeded"
    assert resync[0]["seq"] > last_seen + 20
    assert not [f for f in back.frames if f.get("replay")]
    assert back.state["sport:nba"] == steady.state["sport:nba"]
    assert {g["id"]: g for g in published[-5:]} == back.state["sport:nba"]
    for client in (steady, back):
        await client.close()
