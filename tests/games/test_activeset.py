"""The live/upcoming set: token set for the stream worker, game_added / game_removed / game_update events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson
import pytest

from actions.activeset import changes_announce
from core.publish import history_key
from core.redis import redis_sync
from games import services
from games.models import League, Team
from games.upstream import GammaClient
from markets.models import Outcome
from markets.tokenset import token_set_read
from tests.games.factories import event_raw, gamma_transport, market_raw

NOW = datetime.now(UTC).replace(microsecond=0)


def _published() -> list[tuple[str, str]]:
    entries = redis_sync().xrange(history_key("all"))
    events = [orjson.loads(fields[b"e"]) for _, fields in entries]
    return [(e["type"], e["game"]["id"]) for e in events]


LAL, BOS = ("lal", "Los Angeles Lakers"), ("bos", "Boston Celtics")


def _nba() -> League:
    league = League.objects.create(code="nba", series_ids=["10345"], ordering="away")
    for gid, (abbr, name) in enumerate((LAL, BOS), start=1):
        Team.objects.create(gamma_id=gid, league=league, name=name, abbreviation=abbr)
    return league


def _sync(league: League, events: list[dict], now: datetime) -> int:
    with GammaClient("http://gamma.test", transport=gamma_transport({"/events": events})) as client:
        report = services.games_sync(client, league, now=now)
    return changes_announce(now=now, changed=report.changed_game_ids)


@pytest.mark.django_db
def test_token_set_and_set_change_events() -> None:
    league = _nba()
    live = event_raw("nba", LAL, BOS, NOW - timedelta(hours=1), live=True, period="Q3", score="60-58")
    live["markets"].append(market_raw("Lakers vs. Celtics: O/U 230.5", ["Over", "Under"], ["1", "0"], smt="totals",
                                      line=230.5, closed=True))
    soon = event_raw("nba", BOS, LAL, NOW + timedelta(hours=10))
    later = event_raw("nba", LAL, BOS, NOW + timedelta(days=5))

    version = _sync(league, [live, soon, later], NOW)
    _, tokens = token_set_read()
    open_tokens = {
        gid: set(Outcome.objects.filter(market__game__gamma_id=gid, market__closed=False)
                 .values_list("token_id", flat=True))
        for gid in (live["id"], soon["id"], later["id"])
    }
    assert tokens == open_tokens[live["id"]] | open_tokens[soon["id"]]  # not the closed market, not day 5
    assert len(tokens) == 2 * 3 + 2 * 3
    assert sorted(_published()) == sorted([("game_added", live["id"]), ("game_added", soon["id"])])

    # Idle: same set, same version, nothing published.
    assert _sync(league, [live, soon, later], NOW) == version
    assert len(_published()) == 2

    # The live game ends: it leaves the set, its tokens are dropped, clients are told.
    ended = {**live, "live": False, "ended": True, "period": "VFT", "score": "101-99"}
    new_version = _sync(league, [ended, soon, later], NOW)
    _, tokens = token_set_read()
    assert new_version > version and tokens == open_tokens[soon["id"]]
    assert _published()[-1] == ("game_removed", live["id"])

    # A market added to an upcoming game: its tokens join the set and the game is republished.
    soon["markets"].append(market_raw("Celtics vs. Lakers: O/U 221.5", ["Over", "Under"], ["0.5", "0.5"],
                                      smt="totals", line=221.5))
    _sync(league, [ended, soon, later], NOW)
    _, tokens = token_set_read()
    assert len(tokens) == 8
    assert _published()[-1] == ("game_update", soon["id"])


@pytest.mark.django_db
def test_postponed_games_stream_while_the_sync_keeps_them() -> None:
    """A postponed game's markets stay open and trade: streamed until its kickoff leaves the sync's lookback."""
    league = _nba()
    # Past STALE_AFTER, where a scheduled game would count as over, but within the sync's lookback.
    postponed = event_raw("nba", LAL, BOS, NOW - timedelta(hours=8), period="POST")
    _sync(league, [postponed], NOW)
    postponed_tokens = set(Outcome.objects.filter(market__game__gamma_id=postponed["id"])
                           .values_list("token_id", flat=True))
    assert token_set_read()[1] == postponed_tokens and len(postponed_tokens) == 6
    assert _published() == [("game_added", postponed["id"])]

    # The stream now owns its prices: a re-sync with other Gamma prices leaves them alone.
    Outcome.objects.filter(token_id__in=postponed_tokens).update(best_bid="0.31")
    moved = {**postponed, "markets": [{**m, "bestBid": 0.2} for m in postponed["markets"]]}
    _sync(league, [moved], NOW)
    assert {str(b) for b in Outcome.objects.filter(token_id__in=postponed_tokens)
            .values_list("best_bid", flat=True)} == {"0.3100"}

    # A day and more after its kickoff the sync no longer keeps it, and the stream lets it go.
    _sync(league, [], NOW + timedelta(hours=17))
    assert token_set_read()[1] == set()
    assert _published()[-1] == ("game_removed", postponed["id"])
