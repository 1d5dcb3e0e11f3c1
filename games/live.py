"""A game's live state as the sports socket reports it: loading the games it can change, applying a frame,
and writing a batch of changed states in one fenced UPDATE."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import orjson
from django.db import connection, transaction
from django.utils import timezone

from core.lease import Fence
from games import rules
from games.models import Game
from markets.fences import fence_pg_assert

INDEX_LOOKBACK = timedelta(days=3)


@dataclasses.dataclass
class GameLiveState:
    """The live state of one game as the socket last reported it (plus what matching needs)."""

    pk: int
    gamma_id: str
    ordering: str
    kickoff: datetime | None
    home_labels: frozenset[str]
    away_labels: frozenset[str]
    score_raw: str
    home_score: int | None
    away_score: int | None
    period: str
    elapsed: str
    live: bool
    ended: bool
    status: str
    period_scores: dict[str, Any]
    sets: bool = False  # the score lists sets (tennis): rules.score_parse(sets=...)

    def persisted(self) -> tuple[Any, ...]:
        return (self.score_raw, self.home_score, self.away_score, self.period, self.elapsed, self.live,
                self.ended, self.status, self.period_scores)


def _labels(*values: object) -> frozenset[str]:
    # Socket frames may carry any JSON type here; only strings are labels.
    return frozenset(v.strip().lower() for v in values if isinstance(v, str) and v.strip())


def live_index_load(now: datetime | None = None) -> dict[int, GameLiveState]:
    """Games with a sports-socket gameId that can still change (one indexed query)."""
    now = now or timezone.now()
    rows = (
        Game.objects.filter(game_id__isnull=False, kickoff__gte=now - INDEX_LOOKBACK)
        .exclude(status__in=sorted(rules.OVER_STATUSES), score_updated_at__lt=now - timedelta(hours=6))
        .values_list(
            "pk", "gamma_id", "game_id", "league__code", "league__ordering", "kickoff", "home_team__abbreviation",
            "home_team__name", "home_name", "away_team__abbreviation", "away_team__name", "away_name",
            "score_raw", "home_score", "away_score", "period", "elapsed", "live", "ended", "status",
            "period_scores",
        )
    )
    index: dict[int, GameLiveState] = {}
    for (pk, gamma_id, game_id, league_code, ordering, kickoff, h_abbr, h_name, h_fallback, a_abbr, a_name, a_fallback,
         score_raw, home_score, away_score, period, elapsed, live, ended, status, period_scores) in rows:
        index[game_id] = GameLiveState(
            pk, gamma_id, ordering, kickoff, _labels(h_abbr, h_name, h_fallback), _labels(a_abbr, a_name, a_fallback),
            score_raw, home_score, away_score, period, elapsed, live, ended, status, dict(period_scores or {}),
            sets=rules.scored_in_sets(league_code),
        )
    return index


def live_frame_apply(game: GameLiveState, frame: Mapping[str, Any], now: datetime) -> GameLiveState | None:
    """The game's new state after a frame, or None when the frame changes nothing."""
    score_raw = frame.get("score") if isinstance(frame.get("score"), str) else game.score_raw
    score = rules.score_parse(score_raw, sets=game.sets)
    home_score, away_score = rules.orient(score.first, score.second, game.ordering) if score else (None, None)
    period = frame["period"].strip()[:30] if isinstance(frame.get("period"), str) else game.period
    elapsed = frame["elapsed"].strip()[:30] if isinstance(frame.get("elapsed"), str) else game.elapsed
    live = rules.bool_or(frame.get("live"), game.live)
    ended = rules.bool_or(frame.get("ended"), game.ended)
    feed_status = frame.get("status") if isinstance(frame.get("status"), str) else ""
    status = rules.game_status(period=period, live=live, ended=ended, kickoff=game.kickoff, now=now,
                               feed_status=feed_status)
    period_scores = rules.period_scores_update(
        game.period_scores, previous_period=game.period, previous_score=(game.home_score, game.away_score),
        period=period, score=(home_score, away_score),
    )
    new = dataclasses.replace(
        game, score_raw=score_raw[:80], home_score=home_score, away_score=away_score, period=period,
        elapsed=elapsed, live=status == "live", ended=ended or status in rules.OVER_STATUSES,
        status=status, period_scores=period_scores,
    )
    return None if new.persisted() == game.persisted() else new


def orientation_check(game: GameLiveState, frame: Mapping[str, Any]) -> str:
    """Compare the socket's homeTeam/awayTeam with our orientation: same | swapped | unknown."""
    home, away = _labels(frame.get("homeTeam")), _labels(frame.get("awayTeam"))  # type: ignore[arg-type]
    if not home or not away:
        return "unknown"
    if home & game.home_labels and away & game.away_labels:
        return "same"
    if home & game.away_labels and away & game.home_labels:
        return "swapped"
    return "unknown"


# content_hash = '': the row no longer holds what Gamma sent, so the next games sync parses the event again.
_UPDATE_SQL = """
UPDATE {table} AS g SET score_raw = v.score_raw, home_score = v.home_score, away_score = v.away_score,
  period = v.period, elapsed = v.elapsed, live = v.live, ended = v.ended, status = v.status,
  period_scores = v.period_scores, score_updated_at = now(), updated_at = now(), content_hash = ''
FROM (VALUES {rows}) AS v(id, score_raw, home_score, away_score, period, elapsed, live, ended, status, period_scores)
WHERE g.id = v.id
"""
_ROW = "(%s::bigint, %s::text, %s::int, %s::int, %s::text, %s::text, %s::bool, %s::bool, %s::text, %s::jsonb)"


def live_games_persist(games: list[GameLiveState], fence: Fence | None = None) -> int:
    """One UPDATE for the whole batch, rows in id order (no lock-order deadlocks with other writers).

    With a fence, the transaction first locks the lease's PostgreSQL fence row and requires our token
    (markets.fences.fence_pg_assert), so a holder that lost the lease can never commit.
    """
    if not games:
        return 0
    games = sorted(games, key=lambda g: g.pk)
    params: list[Any] = []
    for game in games:
        params.extend([game.pk, *game.persisted()[:-1], orjson.dumps(game.period_scores).decode()])
    sql = _UPDATE_SQL.format(table=Game._meta.db_table, rows=", ".join([_ROW] * len(games)))
    with transaction.atomic():
        if fence is not None:
            fence_pg_assert(fence)
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.rowcount
