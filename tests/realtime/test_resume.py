"""Reconnect with `resume`: exactly the missed events from history, or a resync snapshot when too old."""

from __future__ import annotations

import asyncio
import os
import time

import pytest

from core.publish import game_events_publish_async
from core.redis import redis_sync
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
    await back.send({"type": "resume", "seqs": {"sport:nba": last_seen}, "epoch": mover.epoch})
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
    # Until its `resume` arrives, a client that has said nothing gets every game (`all`), like the original's
    # clients: on a busy machine some of those frames come first. Its position in what it follows is what counts.
    assert back.seq["sport:nba"] == steady.seq["sport:nba"]
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


async def test_resume_across_a_redis_data_loss_never_leaves_a_silent_gap(spawn, service_env) -> None:
    """Redis loses its data while a client is away, and the new numbering passes the client's old position
    before it resumes: the epoch tells the two numberings apart, so the client gets a resync (never the new
    numbering's events replayed as if they continued the old one), and a connected client is resynced too."""
    port, _ = daphne_start(spawn, service_env, "daphne-epoch", REALTIME_WINDOW_MS=20)
    steady, away = FeedClient(port, "steady"), FeedClient(port, "away")
    for client in (steady, away):
        await client.connect()
        await client.send({"type": "subscribe", "sports": ["nba"]})
        await client.next_frame("snapshot")
    for price in range(5):
        await game_events_publish_async([{"type": "price_update", "game": game("e1", price=price)}])
    await away.wait_for(lambda: away.seq.get("sport:nba") == 5)
    old_epoch = away.epoch
    await away.close()

    client = redis_sync()
    client.delete(*client.scan_iter(match=os.environ["REDIS_PREFIX"] + ":rt:*"))  # Redis lost its data
    for price in range(100, 108):  # the new numbering: 1..8, past the client's 5
        await game_events_publish_async([{"type": "price_update", "game": game("e1", price=price)}])
    await steady.wait_for(lambda: steady.of_type("resync"))
    assert steady.of_type("resync")[0]["reason"] == "sequence_reset"
    # The hub reloaded from PostgreSQL (where these test games do not exist); the next event brings e1 back.
    await game_events_publish_async([{"type": "price_update", "game": game("e1", price=108)}])
    await steady.wait_for(lambda: steady.state["sport:nba"].get("e1", {}).get("price") == 108)

    back = FeedClient(port, "back")
    await back.connect()
    await back.send({"type": "resume", "seqs": {"sport:nba": 5}, "epoch": old_epoch})
    resync = await back.next_frame("resync")
    assert resync["reason"] == "sequence_reset" and resync["epoch"] == steady.epoch != old_epoch
    assert resync["seq"] == 9 and resync["games"] == [steady.state["sport:nba"]["e1"]]
    assert not [f for f in back.frames if f.get("type") == "batch" and f.get("replay")]
    for c in (steady, back):
        await c.close()
