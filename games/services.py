"""Ingestion services: leagues, teams and games (with markets and outcomes) from Gamma into PostgreSQL.

Every writer compares normalised values with what is stored and writes only rows that differ, in one
bulk statement per table and one transaction per batch, so a run with no upstream change performs
no INSERT/UPDATE at all. Bad items are skipped, logged with their id and counted; the last good
data is kept (nothing is ever deleted; games that vanish upstream get `vanished_at`).
"""

from __future__ import annotations

import dataclasses
import logging
import operator
from collections.abc import Callable, Container, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import DatabaseError, transaction
from django.db.models import BooleanField, Exists, ExpressionWrapper, OuterRef, Q
from django.utils import timezone

from core import metrics
from games import bulk, digest, eventpages, parse, rules
from games.models import Game, GameProbability, League, Team
from games.parse import BadPayload, GameRow, NotAGame
from games.rules import TeamIndex, TeamRef
from games.upstream import GammaClient, UpstreamError
from markets.models import Market, Outcome

log = logging.getLogger(__name__)

LOOKBACK = rules.SYNC_LOOKBACK
LOOKAHEAD = timedelta(days=7)
TOKEN_HORIZON = timedelta(hours=48)
# The sports socket owns the live state while it is fresh; Gamma's copy lags behind it.
SOCKET_PRIORITY = timedelta(minutes=10)
# Within the endpoints' page caps (/teams: 99; /events: at least the 200 the original pages with), so a
# shorter page is the last and no empty page is fetched to find the end.
EVENTS_PAGE = 100
TEAMS_PAGE = 99

Progress = Callable[[str, int], None]  # (league code, games done); may be called from several writer threads


@dataclasses.dataclass
class SyncReport:
    """What one sync did: rows written, rows already up to date, bad items skipped."""

    upserted: int = 0
    unchanged: int = 0
    skipped: int = 0
    ignored: int = 0  # well-formed items that are not ours (non-game events, unfollowed sports)
    vanished: int = 0
    errors: list[str] = dataclasses.field(default_factory=list)
    changed_game_ids: set[str] = dataclasses.field(default_factory=set)

    def add(self, other: SyncReport) -> SyncReport:
        self.upserted += other.upserted
        self.unchanged += other.unchanged
        self.skipped += other.skipped
        self.ignored += other.ignored
        self.vanished += other.vanished
        self.errors.extend(other.errors)
        self.changed_game_ids |= other.changed_game_ids
        return self

    def skip(self, what: str, item_id: object, problem: str) -> None:
        self.skipped += 1
        metrics.INGEST_SKIPPED.labels(what).inc()
        self.errors.append(f"{what} {item_id}: {problem}")
        log.warning("skipped bad upstream %s %s: %s", what, item_id, problem, extra={"item_id": str(item_id)})


def _changed(existing: Mapping[str, Any] | None, wanted: Mapping[str, Any]) -> bool:
    return existing is None or any(existing.get(k) != v for k, v in wanted.items())


def _differs(existing: Mapping[str, Any], names: Sequence[str], values: Sequence[Any]) -> bool:
    return any(existing[name] != value for name, value in zip(names, values, strict=True))


# --- Leagues --------------------------------------------------------------------------------------


def _series_overrides() -> dict[str, list[str]]:
    result: dict[str, list[str]] = {}
    for item in settings.GAMES_SERIES_OVERRIDES:
        code, _, series = item.partition(":")
        if code and series:
            result[code.strip().lower()] = [s for s in series.split("+") if s]
    return result


def leagues_sync(client: GammaClient) -> SyncReport:
    """Followed leagues (settings.GAMES_LEAGUES) from `/sports`: series ids, ordering, tags."""
    report = SyncReport()
    try:
        rows = client.get_list("/sports")
    except UpstreamError as exc:
        report.errors.append(str(exc))
        log.error("leagues sync failed, keeping the stored leagues: %s", exc)
        return report
    followed = [c.lower() for c in settings.GAMES_LEAGUES]
    overrides = _series_overrides()
    parsed: dict[str, parse.LeagueRow] = {}
    for raw in rows:
        if not isinstance(raw, dict):
            report.skip("sport", "?", f"not an object: {raw!r:.40}")
            continue
        try:
            row = parse.league_parse(raw)
        except BadPayload as exc:
            report.skip("sport", raw.get("id"), str(exc))
            continue
        if row.code not in followed:
            report.ignored += 1
            continue
        if row.code in overrides:
            row = dataclasses.replace(row, series_ids=overrides[row.code])
        if not row.series_ids:
            report.skip("sport", row.code, "no series id")
            continue
        parsed.setdefault(row.code, row)
    existing = {lg["code"]: lg for lg in League.objects.values()}
    writes = []
    for code, row in parsed.items():
        wanted = {**dataclasses.asdict(row), "followed": True}
        if code in existing and existing[code]["label"]:
            wanted["label"] = existing[code]["label"]  # an admin may have named it
        if _changed(existing.get(code), wanted):
            writes.append(League(**wanted))
        else:
            report.unchanged += 1
    unfollowed = [c for c, lg in existing.items() if lg["followed"] and c not in followed]
    with transaction.atomic():
        if writes:
            League.objects.bulk_create(
                writes, update_conflicts=True, unique_fields=["code"],
                update_fields=["gamma_id", "label", "series_ids", "ordering", "tag_ids", "image", "followed",
                               "updated_at"],
            )
        if unfollowed:
            League.objects.filter(code__in=unfollowed).update(followed=False)
    report.upserted += len(writes) + len(unfollowed)
    metrics.INGEST_UPSERTS.labels("league").inc(len(writes) + len(unfollowed))
    return report


# --- Teams ----------------------------------------------------------------------------------------

TEAM_FIELDS = ("name", "abbreviation", "alias", "record", "logo", "color", "provider_id", "upstream_created_at",
               "upstream_updated_at")
_TEAM_COLUMNS = ("gamma_id", "league_id", *TEAM_FIELDS)
_TEAM_WRITE = (*_TEAM_COLUMNS, "updated_at")
_team_values = operator.attrgetter(*TEAM_FIELDS)


@dataclasses.dataclass
class TeamsFetch:
    """A league's teams as parsed from Gamma, and what was skipped or went wrong fetching them."""

    rows: dict[int, parse.TeamRow]
    report: SyncReport


def teams_fetch(client: GammaClient, league: League) -> TeamsFetch:
    """`/teams?league=<code>`, paginated (HTTP and parsing only: safe to run ahead in another thread)."""
    report = SyncReport()
    rows: dict[int, parse.TeamRow] = {}
    try:
        for page in client.pages("/teams", {"league": league.code}, limit=TEAMS_PAGE, honoured=True):
            for raw in page:
                if not isinstance(raw, dict):
                    report.skip("team", "?", f"not an object: {raw!r:.40}")
                    continue
                try:
                    row = parse.team_parse(raw)
                except BadPayload as exc:
                    report.skip("team", raw.get("id"), str(exc))
                    continue
                rows[row.gamma_id] = row
    except UpstreamError as exc:
        report.errors.append(f"teams {league.code}: {exc}")
        log.error("teams of %s: page failed, writing what arrived: %s", league.code, exc)
    return TeamsFetch(rows, report)


def teams_sync(client: GammaClient, league: League) -> SyncReport:
    """A league's teams: only rows that differ are written."""
    return teams_write(league, teams_fetch(client, league))[0]


def teams_write(league: League, fetched: TeamsFetch) -> tuple[SyncReport, TeamIndex | None]:
    """Write the fetched teams that differ from the stored ones; with the league's team index when nothing
    was written (read by the same query, in team_index_load's order), else None (load it after)."""
    report, rows = SyncReport().add(fetched.report), fetched.rows
    if not rows:
        return report, None
    stored = Team.objects.filter(Q(gamma_id__in=list(rows)) | Q(league=league)).order_by("name", "pk")
    existing = {t["gamma_id"]: t for t in stored.values("pk", "gamma_id", "league_id", *TEAM_FIELDS)}
    writes = []
    stamp = timezone.now()
    for gamma_id, row in rows.items():
        values = (gamma_id, league.pk, *_team_values(row))
        old = existing.get(gamma_id)
        if old is None or _differs(old, _TEAM_COLUMNS, values):
            writes.append((*values, stamp))
        else:
            report.unchanged += 1
    if writes:
        with bulk.catalog_transaction():
            bulk.rows_upsert(Team, "gamma_id", _TEAM_WRITE, writes)
    report.upserted += len(writes)
    metrics.INGEST_UPSERTS.labels("team").inc(len(writes))
    if writes:
        return report, None
    return report, TeamIndex(
        TeamRef(t["pk"], t["gamma_id"], t["name"], t["abbreviation"], t["alias"])
        for t in existing.values() if t["league_id"] == league.pk
    )


def team_index_load(league: League) -> TeamIndex:
    return TeamIndex(
        TeamRef(pk, gid, name, abbr, alias)
        for pk, gid, name, abbr, alias in Team.objects.filter(league=league).order_by("name", "pk").values_list(
            "pk", "gamma_id", "name", "abbreviation", "alias"
        )
    )


# --- Games, markets, outcomes ---------------------------------------------------------------------

GAME_FIELDS = (
    "slug", "ticker", "title", "league_id", "series_id", "home_team_id", "away_team_id", "home_name",
    "away_name", "kickoff", "game_id", "active", "closed", "volume", "volume_24h", "liquidity",
    "comment_count", "image", "upstream_updated_at", "vanished_at",
    "description", "resolution_source", "listed_at", "end_date", "tags", "neg_risk", "neg_risk_market_id",
    "upstream_created_at",
)
LIVE_FIELDS = ("status", "live", "ended", "score_raw", "home_score", "away_score", "period", "elapsed")
MARKET_FIELDS = (
    "gamma_id", "game_id", "type", "sports_market_type", "line", "question", "slug", "group_item_title",
    "active", "closed", "volume", "liquidity", "neg_risk", "neg_risk_market_id",
)
OUTCOME_FIELDS = ("market_id", "label", "index", "team_id")
PRICE_FIELDS = ("best_bid", "best_ask", "last_trade", "price")
# Rows are written as tuples in these columns' order; a parsed row's values are read in one C call (a cold
# sync builds ~18k of these rows).
_GAME_COLUMNS = ("gamma_id", *GAME_FIELDS, *LIVE_FIELDS, "period_scores", "content_hash")
_GAME_WRITE = (*_GAME_COLUMNS, "created_at", "updated_at")
_MARKET_ROW_FIELDS = tuple(f for f in MARKET_FIELDS if f != "game_id")
_MARKET_COLUMNS = ("condition_id", *_MARKET_ROW_FIELDS, "game_id")
_MARKET_WRITE = (*_MARKET_COLUMNS, "updated_at")
_OUTCOME_COLUMNS = ("token_id", *OUTCOME_FIELDS, *PRICE_FIELDS)
_OUTCOME_WRITE = (*_OUTCOME_COLUMNS, "price_updated_at")
_market_values = operator.attrgetter(*_MARKET_ROW_FIELDS)
_price_values = operator.attrgetter(*PRICE_FIELDS)


def _game_values(row: GameRow, league: League) -> dict[str, Any]:
    values = {f: getattr(row, f) for f in GAME_FIELDS if hasattr(row, f)}
    values.update(
        league_id=league.pk, home_team_id=row.home_team_pk, away_team_id=row.away_team_pk, vanished_at=None
    )
    return values


def _live_values(row: GameRow) -> dict[str, Any]:
    return {f: getattr(row, f) for f in LIVE_FIELDS}


def _game_wanted(
    old: Mapping[str, Any] | None, row: GameRow, league: League, now: datetime, fixture_digest: bytes | None
) -> dict[str, Any]:
    """The game's stored values after this row; the live state only when the socket does not own it. The
    content hash is kept only when the row then holds exactly what Gamma sent, else '' (parse next time)."""
    wanted = _game_values(row, league)
    wanted["content_hash"] = ""
    if _socket_owns(old, row, now):
        return wanted
    if fixture_digest is not None:
        wanted["content_hash"] = digest.stored_form(fixture_digest, row.kickoff, now, TOKEN_HORIZON)
    wanted.update(_live_values(row))
    wanted["period_scores"] = rules.period_scores_update(
        (old or {}).get("period_scores") or {},
        previous_period=(old or {}).get("period", ""),
        previous_score=((old or {}).get("home_score"), (old or {}).get("away_score")),
        period=row.period,
        score=(row.home_score, row.away_score),
    )
    return wanted


def _socket_owns(existing: Mapping[str, Any] | None, row: GameRow, now: datetime) -> bool:
    """Keep the socket's fresher live state unless Gamma reports a terminal status."""
    if existing is None or existing.get("score_updated_at") is None:
        return False
    if row.status in ("final", "canceled", "postponed") and existing["status"] != row.status:
        return False
    return now - existing["score_updated_at"] < SOCKET_PRIORITY


def _streamed(status: str, kickoff: datetime | None, now: datetime) -> bool:
    return rules.in_token_window(status, kickoff, now, TOKEN_HORIZON)


def games_upsert(
    rows: Sequence[GameRow], league: League, now: datetime, report: SyncReport,
    digests: Mapping[str, bytes] | None = None,
) -> None:
    """Write one batch of parsed games with their markets and outcomes: one transaction, ≤ 9 queries.
    `digests` (by event id, digest.fixture_digests) are recorded with the games whose row then holds
    exactly what Gamma sent."""
    if not rows:
        return
    digests = digests or {}
    by_id = {row.gamma_id: row for row in rows}
    existing_games: dict[str, dict[str, Any]] = {}
    slug_owner: dict[str, str] = {}
    for game in Game.objects.filter(Q(gamma_id__in=list(by_id)) | Q(slug__in=[r.slug for r in rows])).values(
        "pk", "gamma_id", "score_updated_at", "period_scores", "content_hash", *GAME_FIELDS, *LIVE_FIELDS
    ):
        slug_owner[game["slug"]] = game["gamma_id"]
        if game["gamma_id"] in by_id:
            existing_games[game["gamma_id"]] = game
    game_writes: list[tuple[Any, ...]] = []
    game_pk: dict[str, int] = {}
    stamp = timezone.now()  # created_at (new games) and updated_at, as auto_now_add / auto_now set them
    for gamma_id, row in list(by_id.items()):
        if slug_owner.get(row.slug, gamma_id) != gamma_id:
            report.skip("event", gamma_id, f"slug {row.slug} belongs to event {slug_owner[row.slug]}")
            del by_id[gamma_id]
            continue
        old = existing_games.get(gamma_id)
        wanted = _game_wanted(old, row, league, now, digests.get(gamma_id))
        changed = _changed(old, {k: v for k, v in wanted.items() if k != "content_hash"})
        if changed or old["content_hash"] != wanted["content_hash"]:  # type: ignore[index]
            fields = {**(old or {}), **wanted, "gamma_id": gamma_id}
            game_writes.append((*(fields[name] for name in _GAME_COLUMNS), stamp, stamp))
        else:
            game_pk[gamma_id] = old["pk"]  # type: ignore[index]
        if changed:  # a new digest alone changes nothing clients see
            report.changed_game_ids.add(gamma_id)
    market_rows = {m.condition_id: (gamma_id, m) for gamma_id, row in by_id.items() for m in row.markets}
    outcome_rows = {o.token_id: (m.condition_id, o) for _, m in market_rows.values() for o in m.outcomes}
    # A game not stored before has no markets yet (they are written with it): nothing to compare on a cold sync.
    stored = [cid for cid, (gamma_id, _) in market_rows.items() if gamma_id in existing_games]
    existing_markets = bulk.rows_select(Market, "condition_id", stored, ("pk", *MARKET_FIELDS))
    existing_outcomes = bulk.rows_select(
        Outcome, "token_id", [t for t, (cid, _) in outcome_rows.items() if cid in existing_markets],
        ("pk", *OUTCOME_FIELDS, *PRICE_FIELDS),
    )
    with bulk.catalog_transaction():
        game_pk.update(bulk.rows_upsert(Game, "gamma_id", _GAME_WRITE, game_writes, insert_only=("created_at",)))
        market_writes = []
        for condition_id, (gamma_id, market) in market_rows.items():
            values = (condition_id, *_market_values(market), game_pk[gamma_id])
            old = existing_markets.get(condition_id)
            if old is None or _differs(old, _MARKET_COLUMNS, values):
                market_writes.append((*values, now))
                report.changed_game_ids.add(gamma_id)
        market_pk = {cid: m["pk"] for cid, m in existing_markets.items()}
        market_pk.update(bulk.rows_write(Market, "condition_id", _MARKET_WRITE, market_writes, existing_markets))
        streamed = {gamma_id: _streamed(row.status, row.kickoff, now) for gamma_id, row in by_id.items()}
        outcome_writes = []
        for token_id, (condition_id, outcome) in outcome_rows.items():
            gamma_id = market_rows[condition_id][0]
            values = (token_id, market_pk[condition_id], outcome.label, outcome.index, outcome.team_pk)
            old = existing_outcomes.get(token_id)
            # The stream worker owns prices of streamed games; Gamma's snapshot seeds them and serves the rest.
            if old is not None and streamed[gamma_id]:
                prices = tuple(old[f] for f in PRICE_FIELDS)
            else:
                prices = _price_values(outcome)
            if old is None or _differs(old, _OUTCOME_COLUMNS, (*values, *prices)):
                outcome_writes.append((*values, *prices, now))
                report.changed_game_ids.add(gamma_id)
        bulk.rows_write(Outcome, "token_id", _OUTCOME_WRITE, outcome_writes, existing_outcomes)
        _probabilities_record(rows, game_pk, {game['pk'] for game in existing_games.values()}, now)
    report.upserted += len(game_writes)
    metrics.INGEST_UPSERTS.labels("game").inc(len(game_writes))
    report.unchanged += len(by_id) - len(game_writes)


def _probabilities_record(
    rows: Iterable[GameRow], game_pk: Mapping[str, int], stored: Container[int], now: datetime
) -> None:
    """A GameProbability snapshot per game whose Gamma moneyline probabilities changed (games not `stored`
    before this batch have none yet). Streamed games are left to the stream worker, which records them from
    live order books."""
    wanted: dict[int, tuple[float, float, float | None]] = {}
    for row in rows:
        if _streamed(row.status, row.kickoff, now):
            continue
        prices = parse.moneyline_prices(row)
        probabilities = rules.probabilities_from_prices(*prices) if prices else None
        if probabilities and row.gamma_id in game_pk:
            wanted[game_pk[row.gamma_id]] = probabilities
    if not wanted:
        return
    latest: dict[int, tuple[float, float, float | None]] = {}
    if known := [pk for pk in wanted if pk in stored]:
        for p in GameProbability.objects.filter(game_id__in=known).order_by("game_id", "-recorded_at").distinct(
            "game_id"
        ):
            latest[p.game_id] = (p.home, p.away, p.draw)
    new = [
        GameProbability(game_id=pk, recorded_at=now, home=h, away=a, draw=d)
        for pk, (h, a, d) in wanted.items()
        if latest.get(pk) != (h, a, d)
    ]
    if new:
        GameProbability.objects.bulk_create(new)


def events_params(series_id: str, now: datetime) -> dict[str, Any]:
    return {
        "series_id": series_id,
        "start_time_min": (now - LOOKBACK).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "start_time_max": (now + LOOKAHEAD).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "order": "startTime",
        "ascending": "true",
        "include_chat": "false",
    }


def _in_window(row: GameRow, now: datetime) -> bool:
    """Client-side guard of the kickoff window (live games always kept)."""
    if row.status == "live" or row.kickoff is None:
        return True
    return now - LOOKBACK <= row.kickoff <= now + LOOKAHEAD


GAMES_BATCH = 50


@dataclasses.dataclass
class EventsFetch:
    """A league's events as Gamma listed them (first copy of each id, decoded on demand) and what went wrong
    fetching them."""

    listing: eventpages.Listing
    report: SyncReport
    complete: bool


def events_fetch(client: GammaClient, league: League, now: datetime) -> EventsFetch:
    """Every page of every series of the league, digested (no DB: safe to run ahead in another thread)."""
    report = SyncReport()
    listing = eventpages.Listing()
    complete = True
    for series_id in league.series_ids:
        try:
            for page in client.pages("/events", events_params(series_id, now), limit=EVENTS_PAGE, max_pages=100,
                                     honoured=True, read=eventpages.event_page_read):
                for note in page.summary.not_objects:
                    report.skip("event", "?", f"not an object: {note}")
                listing.add(page)
        except UpstreamError as exc:
            complete = False
            report.errors.append(f"events {league.code}/{series_id}: {exc}")
            log.error("events of %s: fetch failed, keeping the stored games: %s", league.code, exc)
    return EventsFetch(listing, report, complete)


def _stored_state(
    league: League, fixtures: Mapping[str, tuple[str, bytes]], now: datetime
) -> tuple[set[str], dict[str, int]]:
    """One query for what the sync needs to know before writing: the slugs of the fixtures whose stored
    content hash equals their digest now, and the league's listed games in the window that may vanish
    ({event id: pk}; live games never do)."""
    by_id = {gamma_id: (slug, fixture_digest) for slug, (gamma_id, fixture_digest) in fixtures.items()}
    window = Q(league=league, vanished_at__isnull=True, kickoff__gte=now - LOOKBACK, kickoff__lte=now + LOOKAHEAD)
    unchanged: set[str] = set()
    listed: dict[str, int] = {}
    rows = Game.objects.filter(Q(gamma_id__in=list(by_id)) | window).annotate(
        in_window=ExpressionWrapper(window, output_field=BooleanField())
    )
    for pk, gamma_id, content_hash, kickoff, in_window, status in rows.values_list(
        "pk", "gamma_id", "content_hash", "kickoff", "in_window", "status"
    ):
        if content_hash and gamma_id in by_id and content_hash == digest.stored_form(
            by_id[gamma_id][1], kickoff, now, TOKEN_HORIZON
        ):
            unchanged.add(by_id[gamma_id][0])
        if in_window and status != Game.Status.LIVE:
            listed[gamma_id] = pk
    return unchanged, listed


def _events_parse(
    raws: Iterable[dict[str, Any]], league: League, teams: TeamIndex, now: datetime, report: SyncReport
) -> list[GameRow]:
    rows: list[GameRow] = []
    for raw in raws:
        try:
            row, problems = parse.event_parse(
                raw, league_code=league.code, ordering=league.ordering, teams=teams, now=now
            )
        except NotAGame:
            report.ignored += 1
            continue
        except (BadPayload, TypeError, ValueError, AttributeError) as exc:
            report.skip("event", raw.get("id"), str(exc))
            continue
        for problem in problems:
            report.skip("market", raw.get("id"), problem)
        if _in_window(row, now):
            rows.append(row)
    return rows


def games_sync(
    client: GammaClient, league: League, *, now: datetime | None = None, progress: Progress | None = None,
    fetched: EventsFetch | None = None, teams: TeamIndex | None = None,
) -> SyncReport:
    """Games of one league in the kickoff window (last day … next 7 days, plus live).

    All pages are fetched first (a fixture's "More Markets" sibling may sit on another page; `fetched`
    when the caller fetched them ahead, `teams` when it has the league's team index). A fixture whose
    events digest to the content hash stored with its game is left alone: no parse, no write. The others
    are parsed and written in batches of GAMES_BATCH games, one transaction each.
    """
    now = now or timezone.now()
    fetched = fetched or events_fetch(client, league, now)
    report = SyncReport().add(fetched.report)
    teams = team_index_load(league) if teams is None else teams
    if not teams.by_gamma_id:  # a league followed since the last teams sync: teams first, or nothing matches
        report.errors.extend(teams_sync(client, league).errors)
        teams = team_index_load(league)
    fixtures = digest.fixture_digests(
        fetched.listing.digests(), digest.context_digest(league.code, league.ordering, teams.by_gamma_id.values())
    )
    unchanged, listed = _stored_state(league, fixtures, now)
    changed_raws = fetched.listing.raws(lambda event: event is None or event.fixture not in unchanged)
    games, orphans = parse.siblings_merge(_events_parse(changed_raws, league, teams, now, report))
    report.ignored += orphans
    report.unchanged += len(unchanged)
    if progress and unchanged:
        progress(league.code, len(unchanged))
    digests = dict(fixtures.values())
    complete = fetched.complete
    for start in range(0, len(games), GAMES_BATCH):
        batch = games[start : start + GAMES_BATCH]
        try:
            games_upsert(batch, league, now, report, digests)
        except DatabaseError as exc:
            complete = False
            for row in batch:
                report.skip("event", row.gamma_id, f"database rejected the batch: {exc}")
        if progress:
            progress(league.code, len(batch))
    if complete:
        seen = {g.gamma_id for g in games} | {fixtures[slug][0] for slug in unchanged}
        report.vanished += _vanished_mark([pk for gamma_id, pk in listed.items() if gamma_id not in seen], now)
    return report


def _vanished_mark(pks: list[int], now: datetime) -> int:
    """Games in the window that upstream no longer lists: marked, never deleted (no UPDATE when none).
    No content hash: if the game is listed again, unchanged, it is parsed and written back (vanished_at)."""
    return Game.objects.filter(pk__in=pks).update(vanished_at=now, content_hash="") if pks else 0


def followed_leagues(code: str | None = None) -> list[League]:
    leagues = League.objects.filter(followed=True)
    if code:
        leagues = leagues.filter(code=code.lower())
    return list(leagues)


def leagues_with_live_games() -> list[League]:
    live = Game.objects.filter(league=OuterRef("pk"), status=Game.Status.LIVE, vanished_at__isnull=True)
    return list(League.objects.filter(followed=True).filter(Exists(live)))


def catalog_missing() -> bool:
    """True on a fresh database: no followed league or no game yet (the daily leagues cadence would leave
    it empty for a day)."""
    return not (League.objects.filter(followed=True).exists() and Game.objects.exists())
