"""An unchanged Gamma event costs neither a parse nor a write; a change anywhere in it (or in its "More
Markets" sibling, its league's teams, or the time phase of its kickoff) is parsed and written."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from games import digest, eventpages, services
from games.live import live_games_persist, live_index_load
from games.models import Game, League, Team
from games.rules import TeamRef
from games.upstream import GammaClient
from markets.models import Market, Outcome
from tests.games.factories import event_raw, gamma_transport, market_raw, write_queries

NOW = datetime(2026, 3, 1, 18, 0, tzinfo=UTC)
LAL, BOS, NYK = ("lal", "Los Angeles Lakers"), ("bos", "Boston Celtics"), ("nyk", "New York Knicks")
FAR = NOW + timedelta(hours=100)  # beyond the token horizon: Gamma's prices are written, not the stream's


@pytest.fixture
def nba(db: None) -> League:
    league = League.objects.create(code="nba", series_ids=["10345"], ordering="away")
    for gid, (abbr, name) in enumerate((LAL, BOS, NYK), start=1):
        Team.objects.create(gamma_id=gid, league=league, name=name, abbreviation=abbr)
    return league


def _sync(league: League, events: list[dict[str, Any]], now: datetime = NOW) -> services.SyncReport:
    client = GammaClient("http://gamma.test", transport=gamma_transport({"/events": events}), sleep=lambda _s: None)
    with client:
        return services.games_sync(client, league, now=now)


def _fixtures(raws: list[dict[str, Any]], context: bytes) -> dict[str, tuple[str, bytes]]:
    return digest.fixture_digests([d for raw in raws if (d := digest.event_digest(raw))], context)


def _events() -> list[dict[str, Any]]:
    return [event_raw("nba", LAL, BOS, FAR), event_raw("nba", NYK, BOS, FAR + timedelta(hours=3))]


def test_an_unchanged_event_is_neither_parsed_nor_written(nba: League, parsed: list[str]) -> None:
    events = _events()
    _sync(nba, events)
    assert sorted(parsed) == sorted(e["id"] for e in events)
    assert all(Game.objects.values_list("content_hash", flat=True))
    parsed.clear()
    with CaptureQueriesContext(connection) as captured:
        report = _sync(nba, copy.deepcopy(events))
    assert parsed == []
    assert write_queries(captured) == []
    assert (report.upserted, report.unchanged, report.vanished) == (0, 2, 0)
    assert len(captured.captured_queries) <= 4  # teams, stored hashes, vanished check: not per game


def test_a_changed_nested_market_is_parsed_and_written(nba: League, parsed: list[str]) -> None:
    events = _events()
    _sync(nba, events)
    parsed.clear()
    changed = copy.deepcopy(events)
    totals = changed[1]["markets"][1]
    totals["outcomePrices"] = json.dumps(["0.61", "0.39"])
    totals["line"] = 199.5
    report = _sync(nba, changed)
    assert parsed == [changed[1]["id"]]
    assert report.changed_game_ids == {changed[1]["id"]}
    market = Market.objects.get(condition_id=totals["conditionId"])
    assert market.line == 199.5
    over = Outcome.objects.get(market=market, index=0)
    assert str(over.price) == "0.6100"
    # The same payload again: back to no parse at all.
    parsed.clear()
    _sync(nba, changed)
    assert parsed == []


@pytest.fixture
def decoded(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Lengths of the /events pages the sync decodes (the real decoder, counted)."""
    seen: list[int] = []
    real = eventpages.rows_of

    def counting(payload: Any) -> list[Any]:
        rows = real(payload)
        seen.append(len(rows))
        return rows

    monkeypatch.setattr(eventpages, "rows_of", counting)
    return seen


def test_a_byte_identical_page_is_not_decoded_again(nba: League, parsed: list[str], decoded: list[int]) -> None:
    events = [*_events(), event_raw("nba", LAL, NYK, FAR + timedelta(days=1))]
    _sync(nba, events)
    assert decoded == [3]
    decoded.clear()
    parsed.clear()
    _sync(nba, copy.deepcopy(events))
    assert (decoded, parsed) == ([], [])
    # One game's stored hash cleared (as a live-score write does): the page is decoded, that game alone parsed.
    Game.objects.filter(gamma_id=events[1]["id"]).update(content_hash="")
    _sync(nba, copy.deepcopy(events))
    assert (decoded, parsed) == ([3], [events[1]["id"]])
    # New bytes: decoded and digested; only the changed event is parsed.
    decoded.clear()
    parsed.clear()
    changed = copy.deepcopy(events)
    changed[2]["markets"][0]["outcomePrices"] = json.dumps(["0.42", "0.58"])
    _sync(nba, changed)
    assert (decoded, parsed) == ([3], [changed[2]["id"]])


@pytest.mark.parametrize("change", ["market closed", "score", "title", "token ids", "new market"])
def test_any_change_in_an_event_changes_its_digest(change: str) -> None:
    event = event_raw("nba", LAL, BOS, FAR)
    other = copy.deepcopy(event)
    if change == "market closed":
        other["markets"][0]["closed"] = True
    elif change == "score":
        other.update(score="10-8", period="Q1", live=True)
    elif change == "title":
        other["title"] = "Los Angeles Lakers vs. Boston Celtics (rescheduled)"
    elif change == "token ids":
        other["markets"][2]["clobTokenIds"] = json.dumps(["1", "2"])
    else:
        other["markets"].append(market_raw("Lakers vs. Celtics: O/U 230.5", ["Over", "Under"], ["0.5", "0.5"],
                                           smt="totals", line=230.5))
    context = digest.context_digest("nba", "away", [])
    assert _fixtures([event], context) != _fixtures([other], context)
    assert _fixtures([event], context) == _fixtures([copy.deepcopy(event)], context)


def test_the_digest_covers_siblings_and_the_league_context() -> None:
    main = event_raw("nba", LAL, BOS, FAR)
    sibling = event_raw("nba", LAL, BOS, FAR, slug=main["slug"] + "-more-markets")
    context = digest.context_digest("nba", "away", [])
    both = _fixtures([main, sibling], context)
    assert list(both) == [main["slug"]] and both[main["slug"]][0] == main["id"]
    assert _fixtures([sibling, main], context) == both  # page order does not matter
    assert _fixtures([main], context) != both
    moved = copy.deepcopy(sibling)
    moved["markets"][1]["line"] = 210.5
    assert _fixtures([main, moved], context) != both
    renamed = [TeamRef(1, 1, "Los Angeles Lakers", "lal", "LA")]
    assert _fixtures([main, sibling], digest.context_digest("nba", "away", renamed)) != both
    assert _fixtures([main, sibling], digest.context_digest("nba", "home", [])) != both


def test_a_changed_sibling_reparses_its_fixture(nba: League, parsed: list[str]) -> None:
    main = event_raw("nba", LAL, BOS, FAR)
    sibling = event_raw("nba", LAL, BOS, FAR, slug=main["slug"] + "-more-markets", extra_markets=1)
    _sync(nba, [main, sibling])
    assert Market.objects.filter(game__gamma_id=main["id"]).count() == 5
    parsed.clear()
    moved = copy.deepcopy(sibling)
    moved["markets"][1]["line"] = 188.5
    _sync(nba, [main, moved])
    assert sorted(parsed) == sorted([main["id"], sibling["id"]])
    assert Market.objects.get(condition_id=moved["markets"][1]["conditionId"]).line == 188.5


def test_time_alone_can_change_the_parse(nba: League, parsed: list[str]) -> None:
    # An in-play period code with a lagging `live` flag: scheduled before kickoff, live after it, although
    # Gamma's event is the same bytes.
    event = event_raw("nba", LAL, BOS, NOW + timedelta(hours=1), period="Q1")
    _sync(nba, [event])
    assert Game.objects.get(gamma_id=event["id"]).status == "scheduled"
    parsed.clear()
    _sync(nba, [event], now=NOW + timedelta(minutes=30))
    assert parsed == []
    _sync(nba, [event], now=NOW + timedelta(hours=2))
    assert parsed == [event["id"]]
    assert Game.objects.get(gamma_id=event["id"]).status == "live"


def test_a_socket_write_makes_the_next_sync_parse_the_game(nba: League, parsed: list[str]) -> None:
    event = event_raw("nba", LAL, BOS, NOW - timedelta(minutes=30), live=True, period="Q1", score="10-8")
    _sync(nba, [event])
    state = live_index_load(NOW)[event["gameId"]]
    state.period, state.score_raw = "Q2", "30-28"
    live_games_persist([state])
    assert Game.objects.get(gamma_id=event["id"]).content_hash == ""
    written = Game.objects.get(gamma_id=event["id"]).score_updated_at
    # While the socket owns the live state the row differs from Gamma's event: parsed at every sync.
    for _ in range(2):
        parsed.clear()
        _sync(nba, [event], now=written + timedelta(minutes=1))
        assert parsed == [event["id"]]
        game = Game.objects.get(gamma_id=event["id"])
        assert (game.period, game.content_hash) == ("Q2", "")
    parsed.clear()
    _sync(nba, [event], now=written + services.SOCKET_PRIORITY)  # Gamma's state is written again
    assert parsed == [event["id"]]
    game = Game.objects.get(gamma_id=event["id"])
    assert (game.period, game.content_hash != "") == ("Q1", True)
