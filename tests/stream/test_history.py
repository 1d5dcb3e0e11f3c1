"""Compact history written by the stream: per-minute points, per-minute probabilities, daily retention."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from actions.prices import do_persist_stream_prices, price_history_prune
from games.models import GameProbability
from jobs.stream import price_history_retention
from markets.fences import fence_pg_advance
from markets.models import PricePoint
from readmodels.gameviews import game_views_load
from tests.stream.factories import game_with_moneyline


def _price(mid: float) -> dict:
    return {"bid": mid - 0.01, "ask": mid + 0.01, "mid": mid, "last": None, "ts": 1_700_000_000_000}


def test_one_point_and_one_probability_per_minute_oriented_home_away(transactional_db: None) -> None:
    game, (home, away) = game_with_moneyline(3)
    fence = ("stream", 1)
    fence_pg_advance(fence)
    view = game_views_load([game.gamma_id])[game.gamma_id]
    minute = timezone.now().replace(second=0, microsecond=0)
    for i, (h, a) in enumerate([(0.60, 0.40), (0.62, 0.38), (0.65, 0.35)]):  # three flushes, one minute
        prices = {home: _price(h), away: _price(a)}
        do_persist_stream_prices(fence, prices, {home, away}, [view], prices, now=minute + dt.timedelta(seconds=10 * i))
    points = {p.token_id: float(p.price) for p in PricePoint.objects.all()}
    assert points == {home: 0.65, away: 0.35}  # one per token per minute, the newest value
    (snapshot,) = GameProbability.objects.filter(game=game)
    assert (snapshot.home, snapshot.away, snapshot.recorded_at) == (65.0, 35.0, minute)
    prices = {home: _price(0.7), away: _price(0.3)}
    do_persist_stream_prices(fence, prices, {home, away}, [view], prices, now=minute + dt.timedelta(minutes=1))
    assert GameProbability.objects.filter(game=game).count() == 2
    assert PricePoint.objects.count() == 4
    # Not live: latest price only, no history points.
    do_persist_stream_prices(fence, prices, set(), [], prices, now=minute + dt.timedelta(minutes=2))
    assert PricePoint.objects.count() == 4


def test_retention_deletes_only_old_history(transactional_db: None) -> None:
    game, (home, _) = game_with_moneyline(4)
    now = timezone.now()
    old, recent = now - dt.timedelta(days=8), now - dt.timedelta(days=6)
    for moment in (old, recent):
        PricePoint.objects.create(token_id=home, minute=moment, price=0.5)
        GameProbability.objects.create(game=game, recorded_at=moment, home=50, away=50)
    assert price_history_prune(7, now=now) == (1, 1)
    assert list(PricePoint.objects.values_list("minute", flat=True)) == [recent]
    assert list(GameProbability.objects.values_list("recorded_at", flat=True)) == [recent]
    assert price_history_retention() == {"price_points": 0, "probabilities": 0}  # the daily beat task


def test_admin_page_shows_the_lease(admin_client, transactional_db: None) -> None:
    from core.lease import lease_acquire, lease_renew

    lease = lease_acquire("stream", "host-x:42", 10_000)
    assert lease is not None and lease_renew(lease)
    response = admin_client.get("/admin/markets/streamfence/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "host-x:42" in body and "renewals" in body
