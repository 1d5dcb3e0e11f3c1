"""Domain rules for games and markets as plain, pure functions (no I/O, no ORM).

Each rule fixes a [bug]/[quirk] of the original system (reference §6): orientation comes from the
league's `/sports.ordering`, the market type from `sportsMarketType`, status from the period code.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import orjson

Side = Literal["home", "away", "draw"]

# --- Values ---------------------------------------------------------------------------------------


def json_list(value: Any) -> list[Any]:
    """Gamma sends outcomes/outcomePrices/clobTokenIds as JSON-encoded strings; the web frontend as arrays."""
    if value is None or value == "":
        return []
    if isinstance(value, list | tuple):
        return list(value)
    if isinstance(value, str | bytes):
        try:
            decoded = orjson.loads(value)
        except orjson.JSONDecodeError as exc:
            raise ValueError(f"not a JSON list: {value!r:.80}") from exc
        if isinstance(decoded, list):
            return decoded
    raise ValueError(f"not a list: {value!r:.80}")


def float_or_none(value: Any) -> float | None:
    """Numbers arrive as numbers or decimal strings; '', NaN, infinities and garbage mean unknown."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str) and value.strip():
        try:
            number = float(value.strip())
        except ValueError:
            return None
    else:
        return None
    return number if math.isfinite(number) else None


def bool_or(value: Any, default: bool) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return default


def timestamp_parse(value: Any) -> datetime | None:
    """ISO-Z (with micros), Postgres-style `2026-01-04 20:00:00+00`, or a bare date; always aware UTC."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip().replace(" ", "T", 1)
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    elif re.search(r"[+-]\d\d$", text):
        text += ":00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


# --- Leagues and orientation ----------------------------------------------------------------------


def league_home_first(ordering: str) -> bool:
    """`/sports.ordering` says which team titles, slugs, outcomes and scores list first."""
    return ordering != "away"


def orient(first: Any, second: Any, ordering: str) -> tuple[Any, Any]:
    """(home, away) from a pair listed in upstream order."""
    return (first, second) if league_home_first(ordering) else (second, first)


_TITLE_SPLIT = re.compile(r"\s+(?:vs\.?|v\.?|@|at)\s+", re.IGNORECASE)
_TITLE_PREFIX = re.compile(r"^[^:]{1,60}:\s+")


def title_teams(title: str) -> tuple[str, str] | None:
    """The two names of a `"A vs. B"` title in listed order (`"A @ B"`: A is listed first too)."""
    text = (title or "").strip()
    parts = _TITLE_SPLIT.split(text, maxsplit=1)
    if len(parts) != 2:
        return None
    first = _TITLE_PREFIX.sub("", parts[0]).strip()
    second = re.split(r"\s+[-:(]\s*", parts[1].strip(), maxsplit=1)[0].strip()
    if not first or not second:
        return None
    return first, second


_DATE_TAIL = re.compile(r"-\d{4}-\d{2}-\d{2}(?:-.*)?$")


def slug_team_codes(slug: str, league_code: str) -> tuple[str, str] | None:
    """Team abbreviations from `{league}-{a}-{b}-{YYYY-MM-DD}` in listed order."""
    head = _DATE_TAIL.sub("", (slug or "").lower())
    parts = [p for p in head.split("-") if p]
    if parts and parts[0] == league_code.lower():
        parts = parts[1:]
    if len(parts) != 2:
        return None
    return parts[0], parts[1]


@dataclass(frozen=True)
class TeamRef:
    """What matching needs to know about a team."""

    pk: int
    gamma_id: int
    name: str
    abbreviation: str
    alias: str


@functools.lru_cache(maxsize=4096)  # team names and outcome labels repeat across thousands of markets
def _norm(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", (text or "").lower()).strip()


class TeamIndex:
    """Lookups of one league's teams by Gamma id, abbreviation, name and alias (all normalised)."""

    def __init__(self, teams: Iterable[TeamRef]) -> None:
        self.by_gamma_id: dict[int, TeamRef] = {}
        self.by_abbr: dict[str, TeamRef] = {}
        self.by_name: dict[str, TeamRef] = {}
        for team in teams:
            self.by_gamma_id[team.gamma_id] = team
            if team.abbreviation:
                self.by_abbr.setdefault(team.abbreviation.lower(), team)
            for label in (team.name, team.alias):
                if _norm(label):
                    self.by_name.setdefault(_norm(label), team)

    def match(self, *, gamma_id: Any = None, abbreviation: str = "", name: str = "") -> TeamRef | None:
        """Gamma id, then abbreviation (slug part), then exact name/alias, then a unique name prefix."""
        if isinstance(gamma_id, int) and gamma_id in self.by_gamma_id:
            return self.by_gamma_id[gamma_id]
        if abbreviation and abbreviation.lower() in self.by_abbr:
            return self.by_abbr[abbreviation.lower()]
        key = _norm(name)
        if not key:
            return None
        if key in self.by_name:
            return self.by_name[key]
        if key in self.by_abbr:
            return self.by_abbr[key]
        # "Nationals" (title) vs "Washington Nationals" (team name): unique whole-word containment.
        hits = {t.pk: t for n, t in self.by_name.items() if len(key) >= 4 and f" {key} " in f" {n} "}
        return next(iter(hits.values())) if len(hits) == 1 else None


def label_matches_team(label: str, team_names: Sequence[str]) -> bool:
    """An outcome label names a team: equal, or one contains the other as whole words."""
    key = _norm(label)
    if not key:
        return False
    for name in team_names:
        other = _norm(name)
        if other and (key == other or f" {key} " in f" {other} " or f" {other} " in f" {key} "):
            return True
    return False


# --- Scores ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Score:
    """A parsed score in listed (upstream) order; `sets` for tennis, `maps` for esports series."""

    first: int | None
    second: int | None
    sets: tuple[tuple[int, int], ...] = ()
    best_of: int | None = None


# At most 6 digits a side: a garbage "99999999999-1" must not reach the int4 score columns (it made every
# flush of the batch fail; found by tests/reliability/test_fuzz_parsers.py).
_PAIR = re.compile(r"^\s*(\d{1,6})\s*-\s*(\d{1,6})\s*(?:\(\s*\d{1,6}\s*-\s*\d{1,6}\s*\))?\s*$")


TENNIS_LEAGUES = frozenset({"atp", "wta"})


def sport_code(league_code: str) -> str:
    """The original's sport code: ATP and WTA are both `tennis` (the league keeps atp/wta)."""
    return "tennis" if league_code in TENNIS_LEAGUES else league_code


def scored_in_sets(league_code: str) -> bool:
    """Whether a league's score string lists sets ("6-4, 3-2"), so first/second mean sets won."""
    return sport_code(league_code) == "tennis"


def score_parse(raw: Any, *, sets: bool = False) -> Score | None:
    """`"72-74"`; tennis `"6-7(5-7), 1-2"` (first/second = sets won, current set last; `sets` says a lone
    `"3-2"` is a set too); esports `"000-000|1-2|Bo3"` (first/second = maps won). None when empty or
    unparsable. The one reading of a score: storage, live scores and FrontendGame's setsWon all use it."""
    if not isinstance(raw, str) or not raw.strip():
        return None
    text = raw.strip()
    if "|" in text:
        pieces = [p.strip() for p in text.split("|")]
        series = _PAIR.match(pieces[1]) if len(pieces) > 1 else None
        if series is None:
            return None
        best_of = None
        if len(pieces) > 2 and re.fullmatch(r"(?i)bo\d+", pieces[2]):
            best_of = int(pieces[2][2:])
        return Score(int(series.group(1)), int(series.group(2)), best_of=best_of)
    if sets or "," in text or "(" in text:
        played: list[tuple[int, int]] = []
        for piece in text.split(","):
            match = _PAIR.match(piece)
            if match is None:
                return None
            played.append((int(match.group(1)), int(match.group(2))))
        won_first = won_second = 0
        for index, (a, b) in enumerate(played):
            finished = index < len(played) - 1 or max(a, b) >= 7 or (max(a, b) == 6 and abs(a - b) >= 2)
            if finished and a != b:
                won_first += a > b
                won_second += b > a
        return Score(won_first, won_second, sets=tuple(played))
    match = _PAIR.match(text)
    if match is None:
        return None
    return Score(int(match.group(1)), int(match.group(2)))


# --- Periods and status ---------------------------------------------------------------------------

POSTPONED_CODES = {"POST", "PPD", "POSTPONED", "DELAYED"}
CANCELED_CODES = {"CAN", "CANC", "CANCELED", "CANCELLED", "AB", "ABANDONED"}
FINAL_CODES = {"VFT", "FT", "FINAL", "F", "F/OT", "FT OT", "FT NR", "AET", "FINISHED", "ENDED"}
NOT_STARTED_CODES = {"", "NS", "NOT_STARTED", "SCHEDULED", "TBD"}
# Statuses after which a game changes no more (a postponed game will still be played).
OVER_STATUSES = frozenset({"final", "canceled"})
# After this long past kickoff with no live/ended signal, a closed game is over (original: endDate + 5 h).
STALE_AFTER = timedelta(hours=6)
# The games sync keeps games that kicked off up to this long ago (plus live ones).
SYNC_LOOKBACK = timedelta(days=1)


def game_status(
    *,
    period: str,
    live: bool,
    ended: bool,
    kickoff: datetime | None,
    now: datetime,
    closed: bool = False,
    feed_status: str = "",
) -> str:
    """scheduled|live|final|postponed|canceled from the period code and flags, never active/closed alone."""
    code = (period or "").strip().upper()
    hint = (feed_status or "").strip().lower()
    if code in POSTPONED_CODES or hint == "postponed":
        return "postponed"
    if code in CANCELED_CODES or hint in ("canceled", "cancelled"):
        return "canceled"
    if ended or code in FINAL_CODES or hint in ("finished", "final", "f/ot", "ended"):
        return "final"
    if live:
        return "live"
    started = kickoff is not None and kickoff <= now
    if started and closed and now - kickoff > STALE_AFTER:
        return "final"
    if started and code not in NOT_STARTED_CODES and now - kickoff <= STALE_AFTER:
        return "live"  # in-play period code while the `live` flag lags
    return "scheduled"


_PERIOD_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(p, re.IGNORECASE), key)
    for p, key in (
        (r"^(?:q([1-4])|([1-4])q|([1-4])(?:st|nd|rd|th)(?: quarter)?)$", "q"),
        (r"^(?:p([1-3])|([1-3])p|period ([1-3]))$", "p"),
        (r"^(?:s([1-5])|set ?([1-5]))$", "s"),
        (r"^(?:1h|1st half|first half)$", "1h"),
        (r"^(?:2h|2nd half|second half)$", "2h"),
        (r"^(?:ht|halftime|half)$", "ht"),
        (r"^(?:ot|overtime)$", "ot"),
        (r"^(?:final|vft|ft|finished)$", "final"),
    )
)
_END_PREFIX = re.compile(r"^end\s+(?:of\s+)?", re.IGNORECASE)


def period_normalize(period: str) -> str:
    """`Q1/1Q/1st → q1`, `P2 → p2`, `Set 3 → s3`, `1H`, `2H`, `HT`, `OT`, `VFT/FT/Final → final`; else lower."""
    text = _END_PREFIX.sub("", (period or "").strip())
    for pattern, key in _PERIOD_PATTERNS:
        match = pattern.match(text)
        if match:
            digit = next((g for g in match.groups() if g), "")
            return f"{key}{digit}"
    return text.lower()


def period_is_end_state(period: str) -> bool:
    text = (period or "").strip()
    return bool(_END_PREFIX.match(text)) or period_normalize(text) in ("ht", "final")


def period_scores_update(
    stored: Mapping[str, Any],
    *,
    previous_period: str,
    previous_score: tuple[int | None, int | None],
    period: str,
    score: tuple[int | None, int | None],
) -> dict[str, Any]:
    """Per-period CUMULATIVE score snapshots `{normalized period: {"home": h, "away": a}}`.

    Semantics (original §6.5, kept): each key holds the running total at the end of that period
    (not points scored within it). When the period changes, the previous period's key receives the
    previous cumulative score if it has none yet; the current key follows the score while the
    period is in play, and an end state (`End Q2`, `HT`, `Final`) is written once. Keys are never
    removed, and nothing is recorded before the start (`NS`) or without a parsed score.
    """
    result = dict(stored)
    current = period_normalize(period)
    if not current or current in ("ns", "post", "can") or None in score:
        return result
    prev_key = period_normalize(previous_period)
    fresh_previous = prev_key and prev_key != current and prev_key not in result
    if fresh_previous and None not in previous_score and prev_key not in ("ns", "post", "can"):
        result[prev_key] = {"home": previous_score[0], "away": previous_score[1]}
    entry = {"home": score[0], "away": score[1]}
    if period_is_end_state(period):
        result.setdefault(current, entry)
    else:
        result[current] = entry
    return result


# --- Markets --------------------------------------------------------------------------------------

MARKET_TYPES = ("moneyline", "spreads", "totals")
_SPREAD_TEXT = re.compile(r"spread|\(\s*[-+]\s*\d|handicap", re.IGNORECASE)
_TOTAL_TEXT = re.compile(
    r"\bo/u\b|over/under|\btotal (?:points|sets|games|score|goals|runs|corners|cards)\b|^(?:over|under) \d",
    re.IGNORECASE,
)
_PROP_TEXT = re.compile(
    r"both teams|first goal|clean sheet|corner|\bcards?\b|\bset [1-5]\b|\b(?:1st|2nd|3rd) set\b|set winner"
    r"|\bwin by\b|\bby (?:ko|tko|submission)\b|points|rebounds|assists|exact score|half",
    re.IGNORECASE,
)
_OVER_UNDER_LABEL = re.compile(r"^(?:over|under|o/u)\b|\b(?:over|under)$", re.IGNORECASE)


def market_type_detect(
    sports_market_type: Any, question: str, labels: Sequence[str], team_names: Sequence[str] = ()
) -> str:
    """moneyline|spreads|totals|other. Gamma's `sportsMarketType` decides whenever present; text
    detection (original §6.3, fixed: both labels must name the two teams) only when it is absent."""
    if isinstance(sports_market_type, str) and sports_market_type.strip():
        value = sports_market_type.strip().lower()
        return value if value in MARKET_TYPES else "other"
    text = question or ""
    if _SPREAD_TEXT.search(text):
        return "spreads"
    if _TOTAL_TEXT.search(text) or (labels and all(_OVER_UNDER_LABEL.search(lb or "") for lb in labels)):
        return "totals"
    if _PROP_TEXT.search(text) or len(labels) != 2:
        return "other"
    if team_names and all(label_matches_team(lb, team_names) for lb in labels):
        first = [n for n in team_names if label_matches_team(labels[0], [n])]
        second = [n for n in team_names if label_matches_team(labels[1], [n])]
        if first and second and set(first) != set(second):
            return "moneyline"
    return "other"




def line_parse(line: Any, market_type: str, *texts: str) -> float | None:
    """Gamma's numeric `line`; else the number in `"(-5.5)"`, `"O/U 144.5"`, `"Over 239.5"`."""
    value = float_or_none(line)
    if value is not None:
        return value
    if market_type not in ("spreads", "totals"):
        return None
    for text in texts:
        if not text:
            continue
        bracket = re.search(r"\(\s*([-+]?\d+(?:\.\d+)?)\s*\)", text)
        if bracket:
            return float(bracket.group(1))
        tail = re.search(r"(?:o/u|over|under|total|spread)\s*([-+]?\d+(?:\.\d+)?)", text, re.IGNORECASE)
        if tail:
            return float(tail.group(1))
    return None


_WILL_WIN = re.compile(r"^\s*will\s+(.+?)\s+win\b", re.IGNORECASE)
_DRAW = re.compile(r"\bdraw\b|\btie\b", re.IGNORECASE)


def is_draw_market(question: str, group_item_title: str = "") -> bool:
    """The draw leg of a soccer three-way moneyline ("Will … end in a draw?", group title "Draw" / "Tie")."""
    return bool(_DRAW.search(question or "") or _DRAW.search(group_item_title or ""))


def three_way_side(
    question: str, group_item_title: str, home_names: Sequence[str], away_names: Sequence[str]
) -> Side | None:
    """Soccer 3-way moneylines are three Yes/No markets: "Will X win…?" (home or away) and a draw."""
    if is_draw_market(question, group_item_title):
        return "draw"
    match = _WILL_WIN.match(question or "")
    subject = match.group(1) if match else (group_item_title or "")
    if _PROP_TEXT.search(question or ""):
        return None
    if label_matches_team(subject, home_names):
        return "home"
    if label_matches_team(subject, away_names):
        return "away"
    return None


def probabilities_from_prices(
    home: float | None, away: float | None, draw: float | None = None
) -> tuple[float, float, float | None] | None:
    """Percentages (0-100) from moneyline prices, normalised so the sides sum to 100 (vig removed).
    Three-way when a draw price exists. None when a needed price is missing or all are zero."""
    sides = [home, away] + ([draw] if draw is not None else [])
    if any(p is None or p < 0 for p in sides):
        return None
    total = sum(sides)  # type: ignore[arg-type]
    if total <= 0:
        return None
    scaled = [round(p / total * 100, 2) for p in sides]  # type: ignore[operator]
    return scaled[0], scaled[1], (scaled[2] if draw is not None else None)


def in_token_window(status: str, kickoff: datetime | None, now: datetime, horizon: timedelta) -> bool:
    """Live games, and games not yet over that kick off within the horizon, get streamed prices.

    A postponed game's markets stay open and keep trading until it is played or resolved, so it is
    streamed for as long as the games sync keeps it (kickoff within SYNC_LOOKBACK), not STALE_AFTER.
    """
    if status == "live":
        return True
    if kickoff is None:
        return False
    if status == "postponed":
        return now - SYNC_LOOKBACK <= kickoff <= now + horizon
    return status == "scheduled" and now - STALE_AFTER <= kickoff <= now + horizon


def kickoff_phase(kickoff: datetime | None, now: datetime, horizon: timedelta) -> int:
    """Which side of each time threshold the parse and the write depend on the kickoff lies
    (token horizon, kickoff, STALE_AFTER, SYNC_LOOKBACK): a game whose Gamma event is unchanged can still
    change status or price owner as time passes, and must then be re-parsed."""
    if kickoff is None:
        return -1
    return sum(kickoff <= now - offset for offset in (-horizon, timedelta(0), STALE_AFTER, SYNC_LOOKBACK))
