"""Upstream payloads (Gamma /sports, /teams, /events) → normalised rows ready for upsert.

Pure functions: no DB. A malformed payload raises `BadPayload` naming what is wrong; the sync
service skips (and counts) that one item and keeps the rest.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from games import rules
from games.rules import TeamIndex, TeamRef


class BadPayload(ValueError):
    """One upstream item cannot be used."""


class NotAGame(ValueError):
    """A well-formed event that is not a two-team fixture (futures, props-only siblings)."""


@dataclasses.dataclass(frozen=True)
class LeagueRow:
    code: str
    gamma_id: int | None
    label: str
    series_ids: list[str]
    ordering: str
    tag_ids: list[str]
    image: str


@dataclasses.dataclass(frozen=True)
class TeamRow:
    gamma_id: int
    name: str
    abbreviation: str
    alias: str
    record: str
    logo: str
    color: str
    provider_id: str
    upstream_created_at: datetime | None
    upstream_updated_at: datetime | None


# Outcome and market rows are built ~18k times per cold sync: slotted, not frozen (a frozen dataclass's
# __init__ sets each field through object.__setattr__, twice as slow).
@dataclasses.dataclass(slots=True)
class OutcomeRow:
    token_id: str
    index: int
    label: str
    team_pk: int | None
    best_bid: Decimal | None
    best_ask: Decimal | None
    last_trade: Decimal | None
    price: Decimal | None


@dataclasses.dataclass(slots=True)
class MarketRow:
    condition_id: str
    gamma_id: str
    type: str
    sports_market_type: str
    line: float | None
    question: str
    slug: str
    group_item_title: str
    active: bool
    closed: bool
    volume: float
    liquidity: float
    neg_risk: bool
    neg_risk_market_id: str
    outcomes: tuple[OutcomeRow, ...]


@dataclasses.dataclass(frozen=True)
class GameRow:
    gamma_id: str
    slug: str
    ticker: str
    title: str
    series_id: str
    home_team_pk: int | None
    away_team_pk: int | None
    home_name: str
    away_name: str
    kickoff: datetime | None
    game_id: int | None
    status: str
    live: bool
    ended: bool
    active: bool
    closed: bool
    score_raw: str
    home_score: int | None
    away_score: int | None
    period: str
    elapsed: str
    volume: float
    volume_24h: float
    liquidity: float
    comment_count: int | None
    image: str
    description: str
    resolution_source: str
    listed_at: datetime | None
    end_date: datetime | None
    tags: list[dict[str, str]]
    neg_risk: bool
    neg_risk_market_id: str
    upstream_created_at: datetime | None
    upstream_updated_at: datetime | None
    markets: tuple[MarketRow, ...]
    sibling_of: str = ""  # a "… - More Markets" event: its markets belong to the game with this slug


SIBLING_SUFFIX = "-more-markets"


def siblings_merge(rows: Sequence[GameRow]) -> tuple[list[GameRow], int]:
    """Fold "More Markets" sibling events into their main game (one fixture = one game).
    Returns the games and how many siblings had no main game in the batch (dropped)."""
    mains = {row.slug: row for row in rows if not row.sibling_of}
    orphans = 0
    for row in rows:
        if not row.sibling_of:
            continue
        main = mains.get(row.sibling_of)
        if main is None:
            orphans += 1
            continue
        known = {m.condition_id for m in main.markets}
        extra = tuple(m for m in row.markets if m.condition_id not in known)
        mains[main.slug] = dataclasses.replace(main, markets=main.markets + extra)
    return list(mains.values()), orphans


def _text(value: Any, limit: int) -> str:
    return value.strip()[:limit] if isinstance(value, str) else ""


def _url(value: Any) -> str:
    text = _text(value, 500)
    return text if text.startswith(("http://", "https://")) else ""


def _float(value: Any) -> float:
    return rules.float_or_none(value) or 0.0


def _int_or_none(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def _price(value: Any) -> Decimal | None:
    """A 0..1 price rounded to the column's 4 decimals (Gamma sends up to 40 digits)."""
    return _price_of(value) if isinstance(value, (str, int, float)) else None


_QUANTUM = Decimal("0.0001")
_ONE = Decimal(1)


@functools.lru_cache(maxsize=8192, typed=True)  # a day's ~36k prices take a few hundred distinct values
def _price_of(value: str | int | float) -> Decimal | None:
    number = rules.float_or_none(value)
    if number is None or not 0 <= number <= 1:
        return None
    try:
        return Decimal(str(number)).quantize(_QUANTUM)
    except InvalidOperation:
        return None


def _complement(value: Decimal | None) -> Decimal | None:
    return None if value is None else _ONE - value


# --- /sports --------------------------------------------------------------------------------------


def league_parse(raw: Mapping[str, Any]) -> LeagueRow:
    code = _text(raw.get("sport"), 40).lower()
    if not code:
        raise BadPayload("sports entry without `sport`")
    series = raw.get("series")
    series_ids = [s.strip() for s in str(series).split(",") if s.strip() and s.strip().isdigit()] if series else []
    tags = raw.get("tags")
    tag_ids = [t.strip() for t in tags.split(",") if t.strip()] if isinstance(tags, str) else []
    ordering = raw.get("ordering")
    return LeagueRow(
        code=code,
        gamma_id=_int_or_none(raw.get("id")),
        label=code.upper(),
        series_ids=series_ids,
        ordering="away" if ordering == "away" else "home",
        tag_ids=tag_ids,
        image=_url(raw.get("image")),
    )


# --- /teams ---------------------------------------------------------------------------------------


def team_parse(raw: Mapping[str, Any]) -> TeamRow:
    gamma_id = _int_or_none(raw.get("id"))
    name = _text(raw.get("name"), 200)
    if gamma_id is None:
        raise BadPayload(f"team without an integer id: {raw.get('id')!r:.40}")
    if not name:
        raise BadPayload(f"team {gamma_id} without a name")
    return TeamRow(
        gamma_id=gamma_id,
        name=name,
        abbreviation=_text(raw.get("abbreviation"), 40).lower(),
        alias=_text(raw.get("alias"), 200),
        record=_text(raw.get("record"), 40),
        logo=_url(raw.get("logo")),
        color=_text(raw.get("color"), 20),
        provider_id=str(raw.get("providerId") or "")[:60],
        upstream_created_at=rules.timestamp_parse(raw.get("createdAt")),
        upstream_updated_at=rules.timestamp_parse(raw.get("updatedAt")),
    )


# --- /events --------------------------------------------------------------------------------------


def _event_kickoff(raw: Mapping[str, Any]) -> datetime | None:
    """Kickoff is `startTime` (event) or `gameStartTime` (market); `endDate` ≈ kickoff for games;
    `startDate` is the listing date and never used."""
    for key in ("startTime", "start_time"):
        when = rules.timestamp_parse(raw.get(key))
        if when:
            return when
    for market in raw.get("markets") or ():
        if isinstance(market, dict):
            when = rules.timestamp_parse(market.get("gameStartTime"))
            if when:
                return when
    return rules.timestamp_parse(raw.get("endDate"))


def _event_teams(
    raw: Mapping[str, Any], league_code: str, ordering: str, teams: TeamIndex
) -> tuple[TeamRef | None, TeamRef | None, str, str]:
    """(home team, away team, home name, away name) from the title and slug in listed order."""
    names = rules.title_teams(_text(raw.get("title"), 500))
    codes = rules.slug_team_codes(_text(raw.get("slug"), 255), league_code)
    if names is None and codes is None:
        raise NotAGame("no two teams in title or slug")
    listed: list[TeamRef | None] = [None, None]
    for i in (0, 1):
        listed[i] = teams.match(
            abbreviation=codes[i] if codes else "", name=names[i] if names else ""
        ) or (teams.match(name=names[i]) if names else None)
    if listed[0] is not None and listed[0] == listed[1]:
        listed = [None, None]
    first_name = names[0] if names else (listed[0].name if listed[0] else codes[0].upper())  # type: ignore[index]
    second_name = names[1] if names else (listed[1].name if listed[1] else codes[1].upper())  # type: ignore[index]
    home, away = rules.orient(listed[0], listed[1], ordering)
    home_name, away_name = rules.orient(first_name, second_name, ordering)
    return home, away, home_name, away_name


def _outcome_team(label: str, home: TeamRef | None, away: TeamRef | None, home_name: str, away_name: str) -> int | None:
    for team, fallback in ((home, home_name), (away, away_name)):
        if team is None:
            continue
        if rules.label_matches_team(label, [team.name, team.alias, fallback]) or (
            team.abbreviation and label.strip().lower() == team.abbreviation
        ):
            return team.pk
    return None


def _tags(value: Any) -> list[dict[str, str]]:
    """Event tags as the original's TransformedTag: {id, label, slug}, strings; malformed ones dropped."""
    if not isinstance(value, list):
        return []
    tags = []
    for tag in value:
        if isinstance(tag, dict) and isinstance(tag.get("id"), str | int) and not isinstance(tag.get("id"), bool):
            tags.append({"id": str(tag["id"])[:20], "label": _text(tag.get("label"), 100),
                         "slug": _text(tag.get("slug"), 100)})
    return tags


@dataclasses.dataclass(slots=True)
class _Sides:
    """An event's two sides as its markets are parsed against them, worked out once per event."""

    home: TeamRef | None
    away: TeamRef | None
    home_name: str
    away_name: str
    home_names: list[str] = dataclasses.field(init=False)
    away_names: list[str] = dataclasses.field(init=False)
    team_names: list[str] = dataclasses.field(init=False)
    label_teams: dict[str, int | None] = dataclasses.field(init=False, default_factory=dict)  # labels repeat

    def __post_init__(self) -> None:
        home, away = self.home, self.away
        self.home_names = [n for n in (home.name if home else "", home.alias if home else "", self.home_name) if n]
        self.away_names = [n for n in (away.name if away else "", away.alias if away else "", self.away_name) if n]
        self.team_names = [*self.home_names, *self.away_names]

    def label_team(self, label: str) -> int | None:
        if label not in self.label_teams:
            self.label_teams[label] = _outcome_team(label, self.home, self.away, self.home_name, self.away_name)
        return self.label_teams[label]


_NO_TOP = (None, None, None)


def market_parse(
    raw: Mapping[str, Any],
    *,
    home: TeamRef | None,
    away: TeamRef | None,
    home_name: str,
    away_name: str,
) -> MarketRow:
    return _market_parse(raw, _Sides(home, away, home_name, away_name))


def _market_parse(raw: Mapping[str, Any], sides: _Sides) -> MarketRow:
    get = raw.get
    condition_id = _text(get("conditionId"), 80)
    if not condition_id.startswith("0x"):
        raise BadPayload(f"market {get('id')!r} without a conditionId")
    try:
        labels = [str(x) for x in rules.json_list(get("outcomes"))]
        tokens = [str(x) for x in rules.json_list(get("clobTokenIds"))]
        prices = rules.json_list(get("outcomePrices"))
    except ValueError as exc:
        raise BadPayload(f"market {condition_id}: {exc}") from exc
    if not tokens or len(tokens) != len(labels):
        raise BadPayload(f"market {condition_id}: {len(labels)} outcomes but {len(tokens)} token ids")
    if not all(map(str.isdigit, tokens)):
        raise BadPayload(f"market {condition_id}: non-numeric token id")
    question = _text(get("question"), 500)
    group_title = _text(get("groupItemTitle"), 200)
    smt = get("sportsMarketType")
    market_type = rules.market_type_detect(smt, question, labels, sides.team_names)
    pair = len(labels) == 2
    is_yes_no = pair and labels[0].strip().lower() == "yes" and labels[1].strip().lower() == "no"
    side = None
    if is_yes_no and market_type in ("moneyline", "other"):
        side = rules.three_way_side(question, group_title, sides.home_names, sides.away_names)
        if side is not None and not (isinstance(smt, str) and smt.strip()):
            market_type = "moneyline"
    line = None
    if market_type != "moneyline":
        line = rules.line_parse(get("line"), market_type, group_title, question)
    if is_yes_no:
        team = sides.home if side == "home" else sides.away if side == "away" else None
        team_pks: list[int | None] = [team.pk if team else None, None]
    elif market_type in ("moneyline", "spreads"):
        team_pks = [sides.label_team(label) for label in labels]
    else:
        team_pks = [None] * len(labels)
    bid, ask, last = top = _price(get("bestBid")), _price(get("bestAsk")), _price(get("lastTradePrice"))
    # Gamma's top of book is for outcome 0; a binary market's other token mirrors it.
    mirrored = (_complement(ask), _complement(bid), _complement(last)) if pair else _NO_TOP
    outcomes = tuple(
        OutcomeRow(token[:100], index, label[:200], team_pk, *(mirrored if index else top),
                   _price(prices[index]) if index < len(prices) else None)
        for index, (label, token, team_pk) in enumerate(zip(labels, tokens, team_pks, strict=True))
    )
    return MarketRow(
        condition_id=condition_id,
        gamma_id=_text(str(get("id") or ""), 30),
        type=market_type,
        sports_market_type=_text(smt, 60),
        line=line,
        question=question or group_title or condition_id,
        slug=_text(get("slug"), 255),
        group_item_title=group_title,
        active=rules.bool_or(get("active"), True),
        closed=rules.bool_or(get("closed"), False),
        volume=_float(get("volumeNum", get("volume"))),
        liquidity=_float(get("liquidityNum", get("liquidity"))),
        neg_risk=rules.bool_or(get("negRisk"), False),
        neg_risk_market_id=_text(get("negRiskMarketID"), 80),
        outcomes=outcomes,
    )


def event_identity(raw: Mapping[str, Any]) -> tuple[str, str]:
    """(id, slug) of an event, normalised as stored; raises BadPayload when either is missing."""
    gamma_id = raw.get("id")
    if not isinstance(gamma_id, str | int) or isinstance(gamma_id, bool) or not str(gamma_id).strip():
        raise BadPayload("event without an id")
    gamma_id = str(gamma_id).strip()[:30]
    slug = _text(raw.get("slug"), 255)
    if not slug:
        raise BadPayload(f"event {gamma_id} without a slug")
    return gamma_id, slug


def main_slug(slug: str) -> str:
    """The fixture an event belongs to: a "… - More Markets" sibling's main game, else its own slug."""
    return slug[: -len(SIBLING_SUFFIX)] if slug.endswith(SIBLING_SUFFIX) else slug


def _event_markets(
    raw: Mapping[str, Any], gamma_id: str, teams: tuple[TeamRef | None, TeamRef | None, str, str]
) -> tuple[list[MarketRow], list[str]]:
    """The event's markets that parse, in order (archived ones left out), and the problems of the others."""
    raw_markets = raw.get("markets") or []
    if not isinstance(raw_markets, list):
        raise BadPayload(f"event {gamma_id}: markets is {type(raw_markets).__name__}")
    sides = _Sides(*teams)
    markets: list[MarketRow] = []
    problems: list[str] = []
    seen_tokens: set[str] = set()
    for raw_market in raw_markets:
        if not isinstance(raw_market, dict):
            problems.append(f"event {gamma_id}: market is {type(raw_market).__name__}")
            continue
        if rules.bool_or(raw_market.get("archived"), False):
            continue
        try:
            market = _market_parse(raw_market, sides)
        except BadPayload as exc:
            problems.append(str(exc))
            continue
        if seen_tokens.intersection(o.token_id for o in market.outcomes):
            problems.append(f"market {market.condition_id}: token id repeated in event {gamma_id}")
            continue
        seen_tokens.update(o.token_id for o in market.outcomes)
        markets.append(market)
    return markets, problems


def _series_id(raw: Mapping[str, Any]) -> str:
    series = raw.get("series")
    if isinstance(series, list) and series and isinstance(series[0], dict):
        return _text(str(series[0].get("id") or ""), 20)
    return ""


def event_parse(
    raw: Mapping[str, Any],
    *,
    league_code: str,
    ordering: str,
    teams: TeamIndex,
    now: datetime,
) -> tuple[GameRow, list[str]]:
    """One Gamma event → a GameRow plus the problems of markets that were skipped (bad ones only)."""
    gamma_id, slug = event_identity(raw)
    home, away, home_name, away_name = sides = _event_teams(raw, league_code, ordering, teams)
    kickoff = _event_kickoff(raw)
    markets, problems = _event_markets(raw, gamma_id, sides)
    score_raw = _text(raw.get("score"), 80)
    score = rules.score_parse(score_raw, sets=rules.scored_in_sets(league_code))
    home_score, away_score = rules.orient(score.first, score.second, ordering) if score else (None, None)
    period = _text(raw.get("period"), 30)
    ended = rules.bool_or(raw.get("ended"), False)
    closed = rules.bool_or(raw.get("closed"), False)
    status = rules.game_status(
        period=period, live=rules.bool_or(raw.get("live"), False), ended=ended, kickoff=kickoff, now=now,
        closed=closed or (bool(markets) and all(m.closed for m in markets)),
        feed_status=_text(raw.get("gameStatus"), 40),
    )
    return (
        GameRow(
            gamma_id=gamma_id,
            slug=slug,
            ticker=_text(raw.get("ticker"), 255),
            title=_text(raw.get("title"), 500) or slug,
            series_id=_series_id(raw),
            home_team_pk=home.pk if home else None,
            away_team_pk=away.pk if away else None,
            home_name=home_name[:200],
            away_name=away_name[:200],
            kickoff=kickoff,
            game_id=_int_or_none(raw.get("gameId")),
            status=status,
            live=status == "live",
            ended=ended or status in rules.OVER_STATUSES,
            active=rules.bool_or(raw.get("active"), True),
            closed=closed,
            score_raw=score_raw,
            home_score=home_score,
            away_score=away_score,
            period=period,
            elapsed=_text(raw.get("elapsed"), 30),
            volume=_float(raw.get("volume")),
            volume_24h=_float(raw.get("volume24hr")),
            liquidity=_float(raw.get("liquidity")),
            comment_count=_int_or_none(raw.get("commentCount")),
            image=_url(raw.get("image")),
            description=_text(raw.get("description"), 20_000),
            resolution_source=_url(raw.get("resolutionSource")),
            listed_at=rules.timestamp_parse(raw.get("startDate")),
            end_date=rules.timestamp_parse(raw.get("endDate")),
            tags=_tags(raw.get("tags")),
            neg_risk=rules.bool_or(raw.get("negRisk"), False),
            neg_risk_market_id=_text(raw.get("negRiskMarketID"), 80),
            upstream_created_at=rules.timestamp_parse(raw.get("createdAt")),
            upstream_updated_at=rules.timestamp_parse(raw.get("updatedAt")),
            markets=tuple(markets),
            sibling_of=main_slug(slug) if slug.endswith(SIBLING_SUFFIX) else "",
        ),
        problems,
    )


def moneyline_prices(game: GameRow) -> tuple[float | None, float | None, float | None] | None:
    """(home, away, draw) Gamma prices of the game's moneyline, two-way or three-way."""
    home_pk, away_pk = game.home_team_pk, game.away_team_pk
    prices: dict[str, float | None] = {}
    for market in game.markets:
        if market.type != "moneyline" or market.closed:
            continue
        labels = [o.label.strip().lower() for o in market.outcomes]
        if labels == ["yes", "no"]:
            yes = market.outcomes[0]
            value = float(yes.price) if yes.price is not None else None
            if yes.team_pk is not None and yes.team_pk == home_pk:
                prices["home"] = value
            elif yes.team_pk is not None and yes.team_pk == away_pk:
                prices["away"] = value
            elif rules.is_draw_market(market.question, market.group_item_title):
                prices["draw"] = value
        elif len(market.outcomes) == 2 and "home" not in prices:
            for outcome in market.outcomes:
                value = float(outcome.price) if outcome.price is not None else None
                if outcome.team_pk is not None and outcome.team_pk == home_pk:
                    prices["home"] = value
                elif outcome.team_pk is not None and outcome.team_pk == away_pk:
                    prices["away"] = value
    if "home" not in prices or "away" not in prices:
        return None
    return prices["home"], prices["away"], prices.get("draw")
