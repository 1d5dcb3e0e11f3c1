"""Set-based writes: new rows COPYed with ids from the sequence, a key stored meanwhile falling back to the
upsert, and catalog transactions committing without waiting for the WAL flush."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from django.db import connection, transaction

from games import bulk
from games.models import Game, League
from markets.models import Market

NOW = datetime(2026, 3, 1, 18, 0, tzinfo=UTC)


@pytest.fixture
def game(db: None) -> Game:
    league = League.objects.create(code="nba", series_ids=["10345"])
    return Game.objects.create(gamma_id="1", slug="nba-lal-bos", title="Lakers vs. Celtics", league=league,
                               kickoff=NOW)


def _market(game: Game, n: int, question: str) -> dict[str, Any]:
    return {"condition_id": f"0x{n:064x}", "gamma_id": str(n), "game_id": game.pk, "type": "totals",
            "sports_market_type": "totals", "line": 200.5 + n, "question": question, "slug": f"m-{n}",
            "group_item_title": "", "active": True, "closed": False, "volume": 1.5, "liquidity": 2.5,
            "neg_risk": False, "neg_risk_market_id": "", "updated_at": NOW}


def test_new_rows_are_copied_with_ids_from_the_sequence(game: Game) -> None:
    rows = [_market(game, n, f"O/U {n}") for n in (1, 2, 3)]
    with transaction.atomic():
        ids = bulk.rows_write(Market, "condition_id", rows, stored=set())
    stored = {m.condition_id: m for m in Market.objects.all()}
    assert ids == {cid: m.pk for cid, m in stored.items()}
    assert [stored[r["condition_id"]].line for r in rows] == [201.5, 202.5, 203.5]
    later = Market.objects.create(**_market(game, 4, "O/U 4"))
    assert later.pk > max(ids.values())  # the sequence moved past the COPYed ids


def test_a_key_stored_meanwhile_goes_through_the_upsert(game: Game) -> None:
    with transaction.atomic():
        first = bulk.rows_write(Market, "condition_id", [_market(game, 1, "O/U 1")], stored=set())
    # The caller believes both are new, but one was written in between: the COPY is rolled back to its savepoint
    # and the upsert writes both, in the same transaction, which stays usable.
    rows = [_market(game, 1, "O/U 1 (moved)"), _market(game, 2, "O/U 2")]
    with transaction.atomic():
        ids = bulk.rows_write(Market, "condition_id", rows, stored=set())
        assert Market.objects.count() == 2
    assert ids[rows[0]["condition_id"]] == first[rows[0]["condition_id"]]
    assert dict(Market.objects.values_list("condition_id", "question")) == {
        rows[0]["condition_id"]: "O/U 1 (moved)", rows[1]["condition_id"]: "O/U 2"}


def test_catalog_transactions_do_not_wait_for_the_wal_flush(transactional_db: None) -> None:
    def setting() -> str:
        with connection.cursor() as cursor:
            cursor.execute("SHOW synchronous_commit")
            return cursor.fetchone()[0]

    before = setting()
    with bulk.catalog_transaction():
        assert setting() == "off"
    assert setting() == before != "off"  # SET LOCAL: the connection's other transactions keep their setting
