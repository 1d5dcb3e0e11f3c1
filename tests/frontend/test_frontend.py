"""FrontendGame / ActivityGame built from real rows and Redis-shaped prices."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from games.models import Game, League, Team
from markets.models import Market, Outcome
from markets.prices import TokenPrice, price_mid
from readmodels.frontend import activity_game_build, clock_display, frontend_game_build, money_format, period_display
from readmodels.gameviews import game_view_from_instance, game_views_load, game_views_queryset

KICKOFF = dt.datetime(2026, 1, 4, 20, 0, tzinfo=dt.UTC)


def _price(bid: float | None, ask: float | None, last: float | None = None, ts: int = 1) -> TokenPrice:
    return {"bid": bid, "ask": ask, "mid": price_mid(bid, ask, last), "last": last, "ts": ts}


@pytest.fixture
def nba_game(db) -> Game:
    league = League.objects.create(code="nba", ordering="away", series_ids=["10345"])
    okc = Team.objects.create(gamma_id=1, league=league, name="Thunder", abbreviation="okc", record="30-5")
    mem = Team.objects.create(gamma_id=2, league=league, name="Grizzlies", abbreviation="mem", record="20-15")
    game = Game.objects.create(
        gamma_id="900", slug="nba-mem-okc-2026-01-04", title="Grizzlies vs. Thunder", league=league,
        home_team=okc, away_team=mem, kickoff=KICKOFF, status="live", home_score=61, away_score=72,
        score_raw="72-61", period="Q3", elapsed="5:45", volume=612_400, liquidity=2_500_000, comment_count=207,
    )
    ml = Market.objects.create(condition_id="0xml", game=game, type="moneyline", question="Grizzlies vs. Thunder")
    # Gamma lists the away team first for away-ordered leagues; the team link decides, not the position.
    Outcome.objects.create(token_id="t-mem", market=ml, label="Grizzlies", index=0, team=mem, price=Decimal("0.35"))
    Outcome.objects.create(token_id="t-okc", market=ml, label="Thunder", index=1, team=okc, price=Decimal("0.65"))
    tot = Market.objects.create(condition_id="0xtot", game=game, type="totals", line=239.5, question="O/U 239.5")
    Outcome.objects.create(token_id="t-over", market=tot, label="Over", index=0)
    Outcome.objects.create(token_id="t-under", market=tot, label="Under", index=1)
    return game


def test_a_finished_tennis_match_shows_the_sets_it_stored(db) -> None:
    """FrontendGame's setsWon and the stored score read the set list the same way (games.rules.score_parse):
    "6-4, 6-3" is two sets to none, never score 2 beside setsWon 1."""
    from games.parse import event_parse
    from games.rules import TeamIndex

    league = League.objects.create(code="atp", ordering="home", series_ids=["1"])
    raw = {"id": "77", "slug": "atp-sinner-alcaraz-2026-01-04", "title": "Sinner vs. Alcaraz", "score": "6-4, 6-3",
           "startTime": KICKOFF.isoformat(), "ended": True, "closed": True, "markets": []}
    row, _ = event_parse(raw, league_code="atp", ordering="home", teams=TeamIndex([]), now=KICKOFF)
    game = Game.objects.create(
        gamma_id="77", slug=raw["slug"], title=raw["title"], league=league, kickoff=KICKOFF, status="final",
        ended=True, score_raw=row.score_raw, home_score=row.home_score, away_score=row.away_score,
        home_name="Sinner", away_name="Alcaraz",
    )
    built = frontend_game_build(game_views_load([game.gamma_id])[game.gamma_id], {})
    assert (row.home_score, row.away_score) == (2, 0)
    assert (built["homeTeam"]["setsWon"], built["awayTeam"]["setsWon"]) == (2, 0)
    assert (built["homeTeam"]["score"], built["awayTeam"]["score"]) == (2, 0)


def test_views_load_in_constant_queries(nba_game: Game) -> None:
    with CaptureQueriesContext(connection) as queries:
        views = game_views_load()
    assert len(queries) == 3
    view = views["900"]
    assert view.moneyline.home.token_id == "t-okc" and view.moneyline.away.token_id == "t-mem"


def test_views_from_plain_rows_equal_views_from_model_instances(nba_game: Game) -> None:
    Outcome.objects.filter(token_id="t-okc").update(
        best_bid=Decimal("0.6400"), best_ask=Decimal("0.6600"), last_trade=Decimal("0.6510"),
        price_updated_at=dt.datetime(2026, 1, 4, 20, 5, 0, 123456, tzinfo=dt.UTC),
    )
    from_rows = game_views_load(["900"])["900"]
    assert from_rows == game_view_from_instance(game_views_queryset().get(gamma_id="900"))
    okc = next(o for m in from_rows.markets for o in m.outcomes if o.token_id == "t-okc")
    assert (okc.bid, okc.ask, okc.last, okc.price) == (0.64, 0.66, 0.651, 0.65)
    assert game_views_load(["no-such-game"]) == {} and game_views_load([]) == {}


def test_frontend_game_uses_live_prices_and_orients_home_away(nba_game: Game) -> None:
    view = game_views_load()["900"]
    game = frontend_game_build(view, {"t-okc": _price(0.66, 0.67, ts=5), "t-mem": _price(0.33, 0.34, ts=7)})
    assert game["homeTeam"]["abbr"] == "OKC" and game["awayTeam"]["abbr"] == "MEM"
    assert game["homeTeam"]["probability"] == 67 and game["awayTeam"]["probability"] == 33
    assert (game["homeTeam"]["buyPrice"], game["homeTeam"]["sellPrice"]) == (67.0, 66.0)
    assert game["homeTeam"]["score"] == 61 and game["awayTeam"]["score"] == 72
    assert game["quarter"] == "3Q" and game["gameTime"] == "5:45"
    assert game["kickoff"] == "2026-01-04T20:00:00Z" and game["time"] == "8:00 PM UTC"
    assert game["volume"] == "$612.4k" and game["liquidity"] == "$2.50M" and game["traders"] == 207
    assert game["spread"] == "1¢" and game["isLive"] and not game["ended"]
    assert game["updatedAt"] >= 7


def test_frontend_game_falls_back_to_persisted_prices_then_sentinel(nba_game: Game) -> None:
    view = game_views_load()["900"]
    game = frontend_game_build(view, {})
    assert (game["homeTeam"]["probability"], game["awayTeam"]["probability"]) == (65, 35)
    Outcome.objects.filter(market__type="moneyline").update(price=None)
    bare = frontend_game_build(game_views_load()["900"], {})
    assert bare["homeTeam"]["probability"] == -1 and bare["homeTeam"]["buyPrice"] == -1


def test_history_gives_chart_and_percent_change(nba_game: Game) -> None:
    view = game_views_load()["900"]
    game = frontend_game_build(view, {}, {"chart": [50.0, 55.0, 60.0], "past_home": 50.0})
    # The original's 20 points: padded with the oldest known value, real samples, the current value last.
    assert game["chartData"] == [50.0] * 17 + [55.0, 60.0, 65]
    assert game["percentChange"] == 30.0
    no_history = frontend_game_build(view, {})
    assert no_history["chartData"] == [65] * 20 and no_history["percentChange"] == 0.0


def test_activity_game_lists_every_market(nba_game: Game) -> None:
    activity = activity_game_build(game_views_load()["900"], {"t-over": _price(0.48, 0.52)})
    by_type = {m["type"]: m for m in activity["markets"]}
    assert set(by_type) == {"moneyline", "totals"}
    over = by_type["totals"]["outcomes"][0]
    assert over["clobTokenId"] == "t-over" and over["price"] == 50.0 and over["buyPrice"] == 52.0


@pytest.mark.parametrize(("period", "shown"), [("Q3", "3Q"), ("End Q2", "2Q"), ("P2", "P2"), ("HT", "HT"),
                                                ("2H", "2H"), ("OT", "OT"), ("S1", "S1")])
def test_period_display(period: str, shown: str) -> None:
    assert period_display(period) == shown


def test_clock_and_money_formats() -> None:
    assert clock_display("05:45") == "5:45" and clock_display("74") == "74:00"
    assert money_format(999) == "$999" and money_format(1_234_567) == "$1.23M"


def test_three_way_roles_read_team_names_as_the_ingest_does() -> None:
    """Yes/No moneylines without team links: a team is named by whole words (games.rules.label_matches_team), so
    LA Galaxy's "la" does not claim "Will FC Dallas win?" and the roles match what the ingest would assign."""
    from games.rules import three_way_side
    from readmodels.gameviews import MarketView, OutcomeView, TeamView, moneyline_roles

    def yes_no(question: str, token: str) -> MarketView:
        outcomes = tuple(OutcomeView(f"{token}-{label}", label, i, None, None, None, None, None, None)
                         for i, label in enumerate(("Yes", "No")))
        return MarketView(token, token, "moneyline", None, question, token, True, False, 0.0, 0.0, outcomes)

    dallas = TeamView(None, "FC Dallas", "dal", "", "", "")
    galaxy = TeamView(None, "LA Galaxy", "la", "", "", "")
    markets = [yes_no("Will LA Galaxy win on 2026-01-04?", "h"), yes_no("Will FC Dallas win on 2026-01-04?", "a"),
               yes_no("Will LA Galaxy vs. FC Dallas end in a draw?", "d")]
    roles = moneyline_roles(markets, galaxy, dallas, "home")
    assert (roles.home.token_id, roles.away.token_id, roles.draw.token_id) == ("h-Yes", "a-Yes", "d-Yes")
    names = ([galaxy.name, galaxy.abbreviation], [dallas.name, dallas.abbreviation])
    assert [three_way_side(m.question, "", *names) for m in markets] == ["home", "away", "draw"]
