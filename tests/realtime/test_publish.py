"""core.publish: per-topic sequences, bounded history, atomic fence check, order under concurrency."""

from __future__ import annotations

import threading
import time

import orjson
import pytest

from core.lease import StaleFenceError
from core.publish import EPOCH_FIELD, fanout_channel, game_events_publish, history_key, seqs_key
from core.redis import redis_key, redis_sync
from tests.realtime.helpers import game


def _seqs() -> dict[str, int]:
    return {k.decode(): int(v) for k, v in redis_sync().hgetall(seqs_key()).items()}


def test_sequences_per_topic_and_history() -> None:
    game_events_publish([
        {"type": "game_added", "game": game("1", "nba")},
        {"type": "price_update", "game": game("2", "nba")},
        {"type": "price_update", "game": game("1", "nba"),
         "outcomes": [{"token_id": "t", "market_id": "m", "bid": 0.4, "ask": 0.5, "mid": 0.45, "last": None}]},
        {"type": "game_update", "game": game("9", "nhl")},
    ])
    seqs = _seqs()
    epoch = seqs.pop(EPOCH_FIELD)
    assert seqs == {"all": 4, "sport:nba": 3, "sport:nhl": 1, "game:1": 2, "game:2": 1, "game:9": 1}
    entries = redis_sync().xrange(history_key("all"))
    assert [e[0] for e in entries] == [b"1-0", b"2-0", b"3-0", b"4-0"]
    third = orjson.loads(entries[2][1][b"e"])
    assert third["outcomes"][0]["mid"] == 0.45 and entries[2][1][b"s"] == b"3" and entries[2][1][b"g"] == b"2"
    refs = redis_sync().xrange(history_key("game:1"))
    assert [(e[0], e[1][b"a"]) for e in refs] == [(b"1-0", b"1"), (b"2-0", b"3")]
    game_events_publish([{"type": "price_update", "game": game("1", "nba")}])
    assert _seqs()[EPOCH_FIELD] == epoch  # one numbering: its epoch stays until the hash is lost
    assert abs(epoch / 1e6 - time.time()) < 60  # born from the Redis clock (microseconds)


def test_history_is_trimmed_by_length_and_age(settings) -> None:
    settings.REALTIME_HISTORY_MAX = 10
    game_events_publish([{"type": "price_update", "game": game(str(i % 3))} for i in range(25)])
    assert redis_sync().xlen(history_key("all")) == 10
    assert redis_sync().xrange(history_key("all"))[0][0] == b"16-0"  # the newest 10 are kept
    settings.REALTIME_HISTORY_MAX = 1000
    settings.REALTIME_HISTORY_S = 1
    time.sleep(1.1)
    game_events_publish([{"type": "price_update", "game": game("0")}])
    game_events_publish([{"type": "price_update", "game": game("0")}])
    assert [e[0] for e in redis_sync().xrange(history_key("all"))] == [b"26-0", b"27-0"]
    assert redis_sync().pttl(history_key("all")) > 0  # idle topics expire


def test_stale_fence_publishes_nothing() -> None:
    client = redis_sync()
    pubsub = client.pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe(fanout_channel())
    try:
        event = {"type": "price_update", "game": game("1")}
        with pytest.raises(StaleFenceError):
            game_events_publish([event], fence=("stream", 1))  # no lease at all
        client.set(redis_key("lease", "stream", "fence"), "7")
        with pytest.raises(StaleFenceError):
            game_events_publish([event], fence=("stream", 6))
        assert _seqs() == {} and client.xlen(history_key("all")) == 0
        assert pubsub.get_message(timeout=0.3) is None
        game_events_publish([event], fence=("stream", 7))
        message = pubsub.get_message(timeout=2)
        assert message is not None and orjson.loads(message["data"])["events"][0]["a"] == 1
    finally:
        pubsub.close()


@pytest.mark.parametrize(
    "event",
    [
        {"type": "price_change", "game": game("1")},
        {"type": "price_update"},
        {"type": "price_update", "game": {"id": "1", "slug": "x"}},
        {"type": "price_update", "game": {"id": "1 2", "slug": "x", "sport": "nba"}},
    ],
)
def test_malformed_events_are_refused_before_anything_is_written(event: dict) -> None:
    with pytest.raises(ValueError):
        game_events_publish([{"type": "game_added", "game": game("ok")}, event])  # type: ignore[list-item]
    assert _seqs() == {}


def test_concurrent_publishers_fan_out_in_sequence_order() -> None:
    pubsub = redis_sync().pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe(fanout_channel())
    pubsub.get_message(timeout=0.2)

    def producer(name: str) -> None:
        for i in range(50):
            game_events_publish([{"type": "price_update", "game": game(f"{name}{i % 4}")}])

    threads = [threading.Thread(target=producer, args=(n,)) for n in ("a", "b", "c")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seen: list[int] = []
    while (message := pubsub.get_message(timeout=1)) is not None:
        seen += [item["a"] for item in orjson.loads(message["data"])["events"]]
    pubsub.close()
    assert seen == list(range(1, 151))  # every subscriber sees one global order, no gaps
