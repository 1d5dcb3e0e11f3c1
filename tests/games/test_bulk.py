"""Set-based writes: new rows inserted with ids from the sequence, values of every column type unchanged by the
JSON they travel in, a key stored meanwhile falling back to the
upsert, and catalog transactions committing without waiting for the WAL flush."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection, transaction

from games import bulk
from games.models import Game, League
from markets.models import Market, Outcome

NOW = datetime(2026, 3, 1, 18, 0, tzinfo=UTC)


@pytest.fixture
def game(db: None) -> Game:
    league = League.objects.create(code="nba", series_ids=["10345"])
    return Game.objects.create(gamma_id="1", slug="nba-lal-bos", title="Lakers vs. Celtics", league=league,
                               kickoff=NOW)


NAMES = ("condition_id", "gamma_id", "game_id", "type", "sports_market_type", "line", "question", "slug",
         "group_item_title", "active", "closed", "volume", "liquidity", "neg_risk", "neg_risk_market_id", "updated_at")


def _market(game: Game, n: int, question: str) -> tuple[Any, ...]:
    return (f"0x{n:064x}", str(n), game.pk, "totals", "totals", 200.5 + n, question, f"m-{n}", "", True, False, 1.5,
            2.5, False, "", NOW)


def test_new_rows_are_inserted_with_ids_from_the_sequence(game: Game) -> None:
    rows = [_market(game, n, f"O/U {n}") for n in (1, 2, 3)]
    with transaction.atomic():
        ids = bulk.rows_write(Market, "condition_id", NAMES, rows, stored=set())
    stored = {m.condition_id: m for m in Market.objects.all()}
    assert ids == {cid: m.pk for cid, m in stored.items()}
    assert [stored[r[0]].line for r in rows] == [201.5, 202.5, 203.5]
    later = Market.objects.create(**dict(zip(NAMES, _market(game, 4, "O/U 4"), strict=True)))
    assert later.pk > max(ids.values())  # the sequence moved past the inserted ids


def test_a_key_stored_meanwhile_goes_through_the_upsert(game: Game) -> None:
    with transaction.atomic():
        first = bulk.rows_write(Market, "condition_id", NAMES, [_market(game, 1, "O/U 1")], stored=set())
    # The caller believes both are new, but one was written in between: the INSERT skips it and the upsert
    # writes it, in the same transaction, which stays usable.
    rows = [_market(game, 1, "O/U 1 (moved)"), _market(game, 2, "O/U 2")]
    with transaction.atomic():
        ids = bulk.rows_write(Market, "condition_id", NAMES, rows, stored=set())
        assert Market.objects.count() == 2
    assert ids[rows[0][0]] == first[rows[0][0]]
    assert dict(Market.objects.values_list("condition_id", "question")) == {
        rows[0][0]: "O/U 1 (moved)", rows[1][0]: "O/U 2"}


def test_values_of_every_column_type_arrive_as_sent(game: Game) -> None:
    market = Market.objects.create(**dict(zip(NAMES, _market(game, 1, "O/U 1"), strict=True)))
    names = ("token_id", "market_id", "label", "index", "team_id", "best_bid", "best_ask", "last_trade", "price",
             "price_updated_at")
    when = datetime(2026, 3, 1, 18, 0, 0, 123456, tzinfo=UTC)
    rows = [("11", market.pk, 'Over "201.5" \\ é', 0, None, Decimal("0.5234"), Decimal("1.0000"), None,
             Decimal("0.0001"), when)]
    with transaction.atomic():
        bulk.rows_write(Outcome, "token_id", names, rows, stored=set())
    assert Outcome.objects.values_list(*names).get() == rows[0]
    names = tuple(f.attname for f in Game._meta.concrete_fields if not f.primary_key)
    upserted = {**Game.objects.values(*names).get(), "tags": [{"id": "7", "label": "NBA"}],
                "period_scores": {"q1": {"home": 30, "away": 28}}, "created_at": NOW, "updated_at": NOW}
    with transaction.atomic():
        ids = bulk.rows_upsert(Game, "gamma_id", names, [tuple(upserted.values())], insert_only=("created_at",))
    assert ids == {"1": game.pk}
    assert Game.objects.values(*names).get() == {**upserted, "created_at": game.created_at}  # created_at kept


def test_catalog_transactions_do_not_wait_for_the_wal_flush(transactional_db: None) -> None:
    def setting() -> str:
        with connection.cursor() as cursor:
            cursor.execute("SHOW synchronous_commit")
            return cursor.fetchone()[0]

    before = setting()
    with bulk.catalog_transaction():
        assert setting() == "off"
    assert setting() == before != "off"  # SET LOCAL: the connection's other transactions keep their setting
