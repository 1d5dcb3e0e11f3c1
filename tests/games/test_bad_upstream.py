"""Bad upstream data and failures: skip only what is bad, log it with its id, count it, keep the last good data."""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from games import services
from games import upstream as upstream_module
from games.models import Game, League, Team
from games.upstream import GammaClient, UpstreamError, retry_after_seconds, rows_of
from markets.models import Market, Outcome
from tests.games.factories import event_raw, gamma_transport, market_raw, write_queries

NOW = datetime(2026, 3, 1, 18, 0, tzinfo=UTC)
LAL, BOS, NYK = ("lal", "Los Angeles Lakers"), ("bos", "Boston Celtics"), ("nyk", "New York Knicks")


@pytest.fixture
def nba(db: None) -> League:
    league = League.objects.create(code="nba", series_ids=["10345"], ordering="away")
    for gid, (abbr, name) in enumerate((LAL, BOS, NYK), start=1):
        Team.objects.create(gamma_id=gid, league=league, name=name, abbreviation=abbr)
    return league


def _client(routes: Any, **kwargs: Any) -> GammaClient:
    return GammaClient("http://gamma.test", transport=gamma_transport(routes), sleep=lambda _s: None, **kwargs)


def test_one_malformed_event_among_good_ones(nba: League, caplog: pytest.LogCaptureFixture) -> None:
    good = event_raw("nba", LAL, BOS, NOW + timedelta(hours=3))
    bad_market_event = event_raw("nba", NYK, BOS, NOW + timedelta(hours=5))
    broken = market_raw("x", ["A", "B"], ["0.5", "0.5"], smt="moneyline")
    broken["clobTokenIds"] = '["123"'  # truncated JSON string
    mismatched = market_raw("y", ["A", "B"], ["0.5", "0.5"], smt="spreads", line=-3.5)
    mismatched["clobTokenIds"] = '["1"]'
    bad_market_event["markets"] += [broken, mismatched, "not an object"]
    events = [
        {"slug": "nba-no-id", "title": "A vs. B"},  # missing id
        good,
        {"id": "777", "slug": "nba-lal-nyk-2026-03-01", "title": "Lakers vs. Knicks", "markets": "oops"},
        ["not", "an", "object"],
        {"id": "778", "slug": "nba-x-y-2026-03-01", "title": "X vs. Y", "startTime": 12345, "volume": "abc",
         "liquidity": {"no": 1}, "live": "maybe", "score": 7},  # wrong types everywhere: tolerated
        bad_market_event,
    ]
    with caplog.at_level(logging.WARNING), _client({"/events": events}) as client:
        report = services.games_sync(client, nba, now=NOW)
    # Bad: the id-less event, the event whose markets is a string, the non-object, three bad markets
    # (their game is kept).
    assert report.skipped == 6
    assert report.upserted == 3
    assert set(Game.objects.values_list("gamma_id", flat=True)) == {good["id"], bad_market_event["id"], "778"}
    assert Market.objects.filter(game__gamma_id=bad_market_event["id"]).count() == 3
    odd = Game.objects.get(gamma_id="778")
    assert (odd.volume, odd.liquidity, odd.live, odd.score_raw, odd.kickoff) == (0.0, 0.0, False, "", None)
    logged = " ".join(str(getattr(r, "item_id", "")) + " " + r.getMessage() for r in caplog.records)
    assert "777" in logged and bad_market_event["id"] in logged
    assert any("truncated" in e or "JSON" in e for e in report.errors)


def test_server_errors_and_timeouts_keep_the_last_good_data(nba: League) -> None:
    events = [event_raw("nba", LAL, BOS, NOW + timedelta(hours=3)),
              event_raw("nba", NYK, BOS, NOW + timedelta(hours=6))]
    with _client({"/events": events}) as client:
        first = services.games_sync(client, nba, now=NOW)
    assert first.upserted == 2
    before = list(Game.objects.order_by("pk").values())

    calls = {"n": 0}

    def failing(request: httpx.Request) -> httpx.Response:
        calls["n"] += 1
        if calls["n"] % 2:
            raise httpx.ReadTimeout("read timed out", request=request)
        return httpx.Response(503, text="upstream down")

    with GammaClient("http://gamma.test", transport=httpx.MockTransport(failing), max_retries=3,
                     sleep=lambda _s: None) as client:
        report = services.games_sync(client, nba, now=NOW + timedelta(minutes=1))
    assert calls["n"] == 4  # one try + three retries
    assert report.errors and "503" in report.errors[0]
    assert report.vanished == 0  # an incomplete fetch never marks games as gone
    assert list(Game.objects.order_by("pk").values()) == before


def test_retries_honour_retry_after_then_succeed(nba: League) -> None:
    sleeps: list[float] = []
    calls = {"n": 0}
    event = event_raw("nba", LAL, BOS, NOW + timedelta(hours=3))

    def flaky(request: httpx.Request) -> httpx.Response:
        calls["n"] += 1
        if calls["n"] == 1:
            return httpx.Response(429, headers={"Retry-After": "2"})
        if calls["n"] == 2:
            return httpx.Response(502)
        if request.url.params.get("offset") != "0":
            return httpx.Response(200, json={"data": []})
        return httpx.Response(200, json={"events": [event]})  # wrapped lists are accepted too

    with GammaClient("http://gamma.test", transport=httpx.MockTransport(flaky), max_retries=3,
                     sleep=sleeps.append) as client:
        report = services.games_sync(client, nba, now=NOW)
    assert report.upserted == 1 and not report.errors
    assert sleeps[0] == 2.0 and 0 < sleeps[1] <= 2.0


def test_retry_after_binds_every_thread_of_the_client() -> None:
    """A 429's Retry-After holds back the other threads fetching ahead on the same client, not only the one
    that got it (which waits it out once, through its own retry)."""
    sleeps: list[tuple[str, float]] = []
    answered = {"n": 0}

    def upstream(request: httpx.Request) -> httpx.Response:
        answered["n"] += 1
        if answered["n"] == 1:
            return httpx.Response(429, headers={"Retry-After": "5"})
        return httpx.Response(200, json=[])

    def sleep(seconds: float) -> None:
        name = threading.current_thread().name
        sleeps.append((name, seconds))
        if name == "first":  # while the first thread waits out its 429, another one asks
            other = threading.Thread(target=client.get_json, args=("/teams",), name="second")
            other.start()
            other.join()

    with GammaClient("http://gamma.test", transport=httpx.MockTransport(upstream), sleep=sleep) as client:
        first = threading.Thread(target=client.get_json, args=("/events",), name="first")
        first.start()
        first.join()
    assert [name for name, _ in sleeps] == ["first", "second"]
    assert sleeps[0][1] == 5.0 and 4.0 < sleeps[1][1] <= 5.0
    assert answered["n"] == 3


def test_retry_after_binds_the_other_processes(settings: Any) -> None:
    """A 429's Retry-After holds back the clients of the other processes too (the sports workers and the other
    instances share one egress to Gamma), and the other calls of this one; the call that got it waits it out
    once, through its retry."""
    answers = iter([httpx.Response(429, headers={"Retry-After": "5"})])

    def upstream(request: httpx.Request) -> httpx.Response:
        return next(answers, httpx.Response(200, json=[]))

    def client(sleeps: list[float]) -> GammaClient:
        return GammaClient("http://gamma.test", transport=httpx.MockTransport(upstream), sleep=sleeps.append)

    settings.INSTANCE_ID = "host-a:101"
    first: list[float] = []
    with client(first) as gamma:
        gamma.get_json("/sports")  # the retry's wait is recorded, not slept: the pause is still running below
    assert first == [5.0]
    for instance in ("host-b:202", "host-a:101"):
        settings.INSTANCE_ID = instance
        sleeps: list[float] = []
        with client(sleeps) as gamma:
            gamma.get_json("/events")
        assert len(sleeps) == 1 and 4.0 < sleeps[0] <= 5.0, (instance, sleeps)


def test_a_call_that_gave_up_on_429s_holds_back_the_next_call_of_its_thread() -> None:
    """A fetch thread whose call used up its retries on 429s moves on to the next league: that next call waits
    out the last Retry-After too (the fault test under load saw one sent 0.02 s after it)."""
    answers = iter([httpx.Response(429, headers={"Retry-After": "5"})] * 2)

    def upstream(request: httpx.Request) -> httpx.Response:
        return next(answers, httpx.Response(200, json=[]))

    sleeps: list[float] = []
    with GammaClient("http://gamma.test", transport=httpx.MockTransport(upstream), max_retries=1,
                     sleep=sleeps.append) as client:
        with pytest.raises(UpstreamError, match="429 after 2 attempts"):
            client.get_json("/teams")
        assert sleeps == [5.0]  # its own retry waited it out once
        client.get_json("/events")
    assert len(sleeps) == 2 and 4.0 < sleeps[1] <= 5.0, sleeps


def test_retry_after_binds_the_sibling_pool_processes(settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Celery's prefork children share the INSTANCE_ID their parent computed: a 429 one child got holds back
    its siblings too (the live sync of one sports process asked Gamma 0.02 s after the other's 429)."""
    answers = iter([httpx.Response(429, headers={"Retry-After": "5"})])

    def upstream(request: httpx.Request) -> httpx.Response:
        return next(answers, httpx.Response(200, json=[]))

    def fetch_in_child(pid: int) -> list[float]:
        monkeypatch.setattr(upstream_module.os, "getpid", lambda: pid)
        sleeps: list[float] = []
        with GammaClient("http://gamma.test", transport=httpx.MockTransport(upstream), sleep=sleeps.append) as gamma:
            gamma.get_json("/events")
        return sleeps

    settings.INSTANCE_ID = "host-a:1"  # the parent's, in every child
    assert fetch_in_child(101) == [5.0]  # got the 429, waits it out through its retry
    waited = fetch_in_child(102)
    assert len(waited) == 1 and 4.0 < waited[0] <= 5.0, waited


def test_retry_after_formats() -> None:
    now = datetime(2026, 3, 1, 18, 0, 0, tzinfo=UTC)
    assert retry_after_seconds("7") == 7.0
    assert retry_after_seconds("Sun, 01 Mar 2026 18:00:05 GMT", now=now) == 5.0
    assert retry_after_seconds("Sun, 01 Mar 2026 17:00:00 GMT", now=now) == 0.0
    assert retry_after_seconds("soon") is None
    assert retry_after_seconds(None) is None


def test_list_shapes_and_garbage_bodies() -> None:
    assert rows_of([{"a": 1}, 5, "x"]) == [{"a": 1}, 5, "x"]  # the sync skips and counts the non-objects
    assert rows_of({"data": [{"a": 1}]}) == [{"a": 1}]
    assert rows_of({"events": [{"b": 2}]}) == [{"b": 2}]
    with pytest.raises(UpstreamError):
        rows_of({"error": "nope"})
    with pytest.raises(UpstreamError):
        rows_of("hello")

    def html(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, text="<html>maintenance</html>")

    html_client = GammaClient("http://gamma.test", transport=httpx.MockTransport(html), sleep=lambda _s: None)
    with html_client as client, pytest.raises(UpstreamError):
        client.get_list("/events")
    with GammaClient("http://gamma.test", transport=httpx.MockTransport(lambda r: httpx.Response(404)),
                     sleep=lambda _s: None) as client, pytest.raises(UpstreamError):  # 4xx other than 429: no retry
        client.get_json("/sports")


def test_bad_sports_and_teams_entries_are_skipped(nba: League, settings: Any) -> None:
    settings.GAMES_LEAGUES = ["nba", "nfl"]
    settings.GAMES_SERIES_OVERRIDES = []
    sports = [{"id": 34, "sport": "nba", "series": "10345", "ordering": "away", "tags": "1,745"},
              {"id": 10, "series": "10187"}, {"id": 11, "sport": "nfl", "series": "TBD"}, {"sport": "crypto"}]
    teams = [{"id": 1, "name": "Los Angeles Lakers", "abbreviation": "LAL", "league": "nba"},
             {"id": "x", "name": "Bad Id"}, {"id": 55, "name": None},
             {"id": 56, "name": "New Team", "abbreviation": "nt"}]
    with _client({"/sports": sports, "/teams": teams}) as client:
        leagues = services.leagues_sync(client)
        team_report = services.teams_sync(client, nba)
    assert (leagues.skipped, leagues.ignored) == (2, 1)
    assert League.objects.get(code="nba").tag_ids == ["1", "745"]
    assert (team_report.skipped, team_report.upserted, team_report.unchanged) == (2, 1, 1)
    assert Team.objects.get(gamma_id=56).abbreviation == "nt"


def test_vanished_games_are_marked_not_deleted_and_come_back(nba: League) -> None:
    a = event_raw("nba", LAL, BOS, NOW + timedelta(hours=3))
    b = event_raw("nba", NYK, BOS, NOW + timedelta(hours=6))
    with _client({"/events": [a, b]}) as client:
        services.games_sync(client, nba, now=NOW)
    with _client({"/events": [a]}) as client:
        report = services.games_sync(client, nba, now=NOW)
    assert report.vanished == 1
    assert Game.objects.get(gamma_id=b["id"]).vanished_at == NOW
    assert Outcome.objects.filter(market__game__gamma_id=b["id"]).count() == 6
    with _client({"/events": [a, b]}) as client:
        services.games_sync(client, nba, now=NOW)
    assert Game.objects.get(gamma_id=b["id"]).vanished_at is None


def test_second_identical_sync_writes_nothing(nba: League) -> None:
    events = [event_raw("nba", LAL, BOS, NOW + timedelta(hours=h), extra_markets=5) for h in (2, 30, 100)]
    events[0].update(live=True, period="Q2", score="40-38", elapsed="5:00")
    with _client({"/events": events}) as client:
        services.games_sync(client, nba, now=NOW)
        with CaptureQueriesContext(connection) as captured:
            report = services.games_sync(client, nba, now=NOW)
    assert write_queries(captured) == []
    assert (report.upserted, report.unchanged) == (0, 3)
    assert len(captured.captured_queries) <= 8
    live = Game.objects.get(gamma_id=events[0]["id"])
    assert (live.status, live.home_score, live.away_score) == ("live", 38, 40)  # "40-38" is away-home for NBA
    assert live.period_scores == {"q2": {"home": 38, "away": 40}}
