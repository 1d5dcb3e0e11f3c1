"""The listing itself, in process: parameters, filters, totals, FrontendGame values, invalidation."""

from __future__ import annotations

import time

import orjson
import pytest

from core.redis import redis_key, redis_sync
from readmodels.listing import (
    ListingParamError,
    etag_matches,
    gzip_accepted,
    listing_invalidate,
    listing_params_parse,
    listing_render,
)
from tests.api.seed import price_write, seed


def render(**params: str) -> dict:
    return orjson.loads(listing_render(listing_params_parse(params)))


def slugs(body: dict) -> list[str]:
    return [g["slug"] for g in body["games"]]


def test_params_are_validated_and_clamped() -> None:
    params = listing_params_parse({"limit": "1000", "page": "0", "sport": "NBA", "live": "true"})
    assert (params.limit, params.page, params.filter.sport, params.filter.live) == (100, 1, "nba", True)
    assert listing_params_parse({"limit": "0"}).limit == 1
    assert listing_params_parse({}).limit == 50
    assert listing_params_parse({"limit": "7"}).key != listing_params_parse({"limit": "8"}).key
    for field, value in [("page", "abc"), ("limit", "-1"), ("live", "maybe"), ("status", "soon"),
                         ("date", "2026-02-30"), ("date", "26-01-01"), ("sport", "n" * 41), ("sport", "nba;drop")]:
        with pytest.raises(ListingParamError) as err:
            listing_params_parse({field: value})
        assert err.value.field == field


def test_gzip_and_etag_negotiation() -> None:
    assert gzip_accepted("gzip, deflate, br") and gzip_accepted("br;q=1, gzip;q=0.5") and gzip_accepted("*")
    assert not gzip_accepted("") and not gzip_accepted("gzip;q=0") and not gzip_accepted("br")
    assert etag_matches('"abc"', "abc") and etag_matches('W/"abc-gz", "x"', "abc") and etag_matches("*", "abc")
    assert not etag_matches('"abd"', "abc") and not etag_matches("", "abc")


@pytest.mark.django_db
def test_default_listing_filters_and_real_total() -> None:
    s = seed()
    body = render()
    # Over (final, 10 h stale) and "-more-markets" games are out; kickoff order, unknown last.
    assert slugs(body) == [s.live.slug, s.upcoming.slug, s.liga.slug, s.soccer.slug]
    assert (body["count"], body["total"], body["hasMore"]) == (4, 4, False)

    page1, page2, page3 = render(limit="3"), render(limit="3", page="2"), render(limit="3", page="3")
    assert (page1["count"], page1["total"], page1["hasMore"]) == (3, 4, True)
    assert (page2["count"], page2["total"], page2["hasMore"]) == (1, 4, False)
    assert (page3["count"], page3["total"], page3["games"]) == (0, 4, [])
    assert slugs(page1) + slugs(page2) == slugs(body)


@pytest.mark.django_db
def test_listing_filters() -> None:
    s = seed()
    assert slugs(render(sport="soccer")) == [s.liga.slug, s.soccer.slug]  # epl by tag, lal by code
    assert slugs(render(sport="EPL")) == [s.soccer.slug]
    assert render(sport="curling")["total"] == 0
    assert slugs(render(live="true")) == [s.live.slug]
    assert s.live.slug not in slugs(render(live="false"))
    assert slugs(render(status="live")) == [s.live.slug]
    assert slugs(render(status="upcoming")) == [s.upcoming.slug, s.liga.slug, s.soccer.slug]
    assert slugs(render(status="ended")) == [s.final.slug, s.stale.slug]
    assert set(slugs(render(includeEnded="true"))) == {
        s.live.slug, s.upcoming.slug, s.final.slug, s.stale.slug, s.soccer.slug, s.liga.slug
    }
    day = s.soccer.kickoff.date()
    expected = [g.slug for g in (s.live, s.upcoming, s.liga, s.soccer) if g.kickoff.date() == day]
    assert slugs(render(date=day.isoformat())) == expected and s.soccer.slug in expected
    assert s.live.slug not in expected  # kicked off about 25 h earlier


@pytest.mark.django_db
def test_frontend_game_values_from_real_history_and_prices() -> None:
    s = seed()
    game = render(live="true")["games"][0]
    assert game["id"] == s.live.gamma_id and game["sport"] == "nba"
    assert game["homeTeam"]["abbr"] == "BOS" and game["awayTeam"]["abbr"] == "LAL"
    assert game["homeTeam"]["probability"] == 60 and game["awayTeam"]["probability"] == 40
    assert (game["homeTeam"]["score"], game["awayTeam"]["score"]) == (50, 48)
    assert game["quarter"] == "3Q" and game["gameTime"] == "5:45" and game["isLive"] is True
    assert game["kickoff"] == s.live.kickoff.isoformat().replace("+00:00", "Z")
    assert game["traders"] == 207
    # chartData: real snapshots of the last 24 h (46 -> 57 %), then the current home probability.
    chart = game["chartData"]
    assert chart[-1] == 60 and chart[-2] == 57.0 and chart == sorted(chart) and len(chart) == 20
    assert 46.0 <= chart[0] <= 48.0 and len(set(chart)) >= 8  # real samples, padded with the oldest
    # percentChange: home now (60) vs the newest snapshot at least 24 h old (40, 26 h ago).
    assert game["percentChange"] == 50.0

    price_write(s.home_token, 0.69, 0.71)
    price_write(s.away_token, 0.29, 0.31)
    game = render(live="true")["games"][0]
    assert game["homeTeam"]["probability"] == 70 and game["homeTeam"]["buyPrice"] == 71.0
    assert game["homeTeam"]["sellPrice"] == 69.0 and game["percentChange"] == 75.0


@pytest.mark.django_db
def test_soccer_three_way_listing_game() -> None:
    s = seed()
    game = render(sport="epl")["games"][0]
    assert game["slug"] == s.soccer.slug
    assert (game["homeTeam"]["probability"], game["awayTeam"]["probability"]) == (50, 30)
    assert game["drawProbability"] == 20 and game["chartData"] == [50] * 20 and game["percentChange"] == 0.0


def test_invalidate_publishes_at_most_once_per_second_and_flushes_the_tail() -> None:
    client = redis_sync()
    pubsub = client.pubsub()
    pubsub.subscribe(redis_key("listing", "versions"))
    first = listing_invalidate()
    assert listing_invalidate() == first == listing_invalidate()  # inside the 1 s window: marked only
    assert int(client.get(redis_key("listing", "dirty"))) == 3
    time.sleep(1.05)
    second = listing_invalidate()  # the window passed: this call publishes the pending marks
    assert second == first + 1
    published = []
    deadline = time.monotonic() + 2
    while len(published) < 2 and time.monotonic() < deadline:
        message = pubsub.get_message(ignore_subscribe_messages=True, timeout=0.2)
        if message:
            published.append(int(message["data"]))
    assert published == [first, second]
    pubsub.close()
