"""Fan-out across two daphne instances: one publish reaches every subscriber on both, once, in order."""

from __future__ import annotations

import asyncio

import pytest

from core.publish import game_events_publish_async
from tests.realtime.helpers import FeedClient, daphne_start, game

pytestmark = pytest.mark.timeout(90)


async def test_event_reaches_every_client_on_both_instances_exactly_once_in_order(spawn, service_env) -> None:
    ports = [daphne_start(spawn, service_env, f"daphne-fanout-{i}", REALTIME_WINDOW_MS=50)[0] for i in range(2)]
    clients: list[tuple[FeedClient, str]] = []
    for port in ports:
        implicit = FeedClient(port, f"implicit@{port}")  # says nothing: gets every game (original behaviour)
        await implicit.connect()
        clients.append((implicit, "all"))
        for topic in ("sport:nba", "sport:nhl", "game:g7"):
            client = FeedClient(port, f"{topic}@{port}")
            await client.connect()
            await client.send({"type": "subscribe", "topics": [topic]})
            snapshot = await client.next_frame("snapshot")
            assert snapshot["topic"] == topic and snapshot["seq"] == 0 and snapshot["games"] == []
            clients.append((client, topic))

    # 60 events, each for a different game (so coalescing cannot merge them), in 6 publish calls.
    sports = ["nba", "nhl", "nfl"]
    published = [game(f"g{i}", sports[i % 3], price=i) for i in range(60)]
    for start in range(0, 60, 10):
        await game_events_publish_async([{"type": "price_update", "game": g} for g in published[start:start + 10]])
        await asyncio.sleep(0.03)

    expected = {
        "all": [g["id"] for g in published],
        "sport:nba": [g["id"] for g in published if g["sport"] == "nba"],
        "sport:nhl": [g["id"] for g in published if g["sport"] == "nhl"],
        "game:g7": ["g7"],
    }
    for client, topic in clients:
        await client.wait_for(lambda c=client, t=topic: c.seq.get(t) == len(expected[t]))
    await asyncio.sleep(0.3)  # anything extra (a duplicate) would arrive now
    for client, topic in clients:
        seqs = client.received[topic]
        assert seqs == list(range(1, len(expected[topic]) + 1)), (client.name, seqs)  # once each, in order
        assert list(client.state[topic]) == expected[topic], client.name
        assert other_topics_silent(client, topic)

    # Later updates of the same games: every client ends with the latest state of each game.
    for round_ in range(5):
        await game_events_publish_async(
            [{"type": "price_update", "game": game(f"g{i}", sports[i % 3], price=1000 + round_)} for i in range(9)]
        )
    for client, topic in clients:
        want = {gid for gid in expected[topic] if gid in {f"g{i}" for i in range(9)}}
        await client.wait_for(
            lambda c=client, t=topic, w=want: all(c.state[t][g]["price"] == 1004 for g in w)
        )
        assert len(client.received[topic]) == len(set(client.received[topic])), client.name
        assert client.received[topic] == sorted(client.received[topic]), client.name
    for client, _ in clients:
        await client.close()


def other_topics_silent(client: FeedClient, topic: str) -> bool:
    return set(client.received) <= {topic}


async def test_events_published_while_a_process_lost_redis_are_repaired_from_history(spawn, service_env) -> None:
    from core.redis import redis_sync

    port, proc = daphne_start(spawn, service_env, "daphne-gap", REALTIME_WINDOW_MS=50)
    client = FeedClient(port, "gap")
    await client.connect()
    await game_events_publish_async([{"type": "game_added", "game": game("x0")}])
    await client.wait_for(lambda: client.seq.get("all") == 1)

    name = f"{service_env['REDIS_PREFIX']}:rt-hub:{proc.proc.pid}"
    hub_clients = [c for c in redis_sync().client_list() if c.get("name") == name]
    assert len(hub_clients) == 1
    redis_sync().client_kill_filter(_id=hub_clients[0]["id"])  # this process's one subscription drops
    for i in range(1, 21):  # published while it reconnects: only history has them
        await game_events_publish_async([{"type": "game_added", "game": game(f"x{i}")}])
    await client.wait_for(lambda: client.seq.get("all") == 21, 15)
    assert client.received["all"] == list(range(1, 22))
    assert set(client.state["all"]) == {f"x{i}" for i in range(21)}
    await client.close()
