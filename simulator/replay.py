"""Replay recorded Gamma events (``--events-file``) instead of a generated day.

Accepted inputs: a JSON array of events; ``{"events": [...]}``; a single event object; or the
polymarket.com frontend extract ``{"data": {slug: {"event": {...}, "teams": {...}}}}`` (its markets
carry real arrays where raw Gamma sends JSON-encoded strings — both shapes are accepted and served
in the raw Gamma shape). Books are seeded from each open market's prices (and recorded best bid/ask);
``/sports`` and ``/teams`` are derived consistently with the events.
"""

from __future__ import annotations

import json
import random
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from statistics import NormalDist
from typing import Any

from .books import Book
from .gameplay import CANCELLED, FINAL, LIVE, POSTPONED, PRE, GameState, model_for
from .leagues import LEAGUES, SERIES_SLUG_TO_LEAGUE, SERIES_TO_LEAGUE, League, LineProfile
from .scenario import Event, Game, Market, Scenario, Team
from .wire import eastern_date, iso_micros, json_string_list

# Keys the polymarket.com frontend adds to Gamma objects (snake_case copies, UI helpers).
FRONTEND_ONLY_KEYS = frozenset({
    "lower_bound_date", "upper_bound_date", "market_type", "resolution_source", "end_date", "amm_type",
    "x_axis_value", "y_axis_value", "denomination_token", "resolved_by", "upper_bound", "lower_bound",
    "created_at", "updated_at", "closed_time", "wide_format", "volume_num", "liquidity_num", "image_raw",
    "teams", "invertOutcomesVisually", "eventStartTime",
})
JSON_STRING_FIELDS = ("outcomes", "outcomePrices", "clobTokenIds", "umaResolutionStatuses", "shortOutcomes")
TEAM_KEYS = ("id", "name", "league", "record", "logo", "abbreviation", "alias", "createdAt", "updatedAt", "color",
             "providerId")

_ISO = re.compile(r"^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})(\.\d+)?Z$")
_PG = re.compile(r"^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2})(\.\d+)?\+00$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_SLUG_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


# ---------------------------------------------------------------------- input shapes
def load_events(path: str | Path) -> list[tuple[dict[str, Any], dict[str, Any] | None]]:
    """(event, wrapper teams) pairs from any accepted file shape."""
    data = json.loads(Path(path).read_text())
    return _unwrap(data)


def _unwrap(data: Any) -> list[tuple[dict[str, Any], dict[str, Any] | None]]:
    if isinstance(data, list):
        out: list[tuple[dict[str, Any], dict[str, Any] | None]] = []
        for item in data:
            out.extend(_unwrap(item))
        return out
    if not isinstance(data, dict):
        return []
    if "event" in data and isinstance(data["event"], dict):
        teams = data.get("teams") if isinstance(data.get("teams"), dict) else None
        return [(data["event"], teams)]
    if "slug" in data and ("markets" in data or "title" in data):
        return [(data, None)]
    for key in ("events", "data"):
        if key in data:
            inner = data[key]
            return _unwrap(list(inner.values()) if isinstance(inner, dict) else inner)
    return []


def _as_list(value: Any) -> list[str]:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            return []
    return [str(x) for x in value] if isinstance(value, list) else []


def clean_market(market: dict[str, Any]) -> dict[str, Any]:
    """Frontend/raw market -> raw Gamma market (JSON-string fields, no frontend-only keys)."""
    out = {k: v for k, v in market.items() if k not in FRONTEND_ONLY_KEYS and k != "events"}
    for key in JSON_STRING_FIELDS:
        if key in out and not isinstance(out[key], str):
            out[key] = json_string_list(_as_list(out[key]))
    return out


# ---------------------------------------------------------------------- time shifting
def _shift_value(value: Any, delta: timedelta, days: int) -> Any:
    if isinstance(value, dict):
        return {k: _shift_key(k, v, delta, days) for k, v in value.items()}
    if isinstance(value, list):
        return [_shift_value(v, delta, days) for v in value]
    if not isinstance(value, str):
        return value
    if m := _ISO.match(value):
        frac = m.group(3) or ""
        moved = datetime.fromisoformat(f"{m.group(1)}T{m.group(2)}+00:00") + delta
        return moved.strftime("%Y-%m-%dT%H:%M:%S") + frac + "Z"
    if m := _PG.match(value):
        frac = m.group(3) or ""
        moved = datetime.fromisoformat(f"{m.group(1)}T{m.group(2)}+00:00") + delta
        return moved.strftime("%Y-%m-%d %H:%M:%S") + frac + "+00"
    if _DATE.match(value):
        return (datetime.fromisoformat(value) + timedelta(days=days)).strftime("%Y-%m-%d")
    return value


def _shift_key(key: str, value: Any, delta: timedelta, days: int) -> Any:
    if key in ("slug", "ticker") and isinstance(value, str):
        return _SLUG_DATE.sub(lambda m: (datetime.fromisoformat(m.group(0)) + timedelta(days=days))
                              .strftime("%Y-%m-%d"), value)
    return _shift_value(value, delta, days)


def _ms(text: str | None) -> int | None:
    if not text:
        return None
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00").replace(" ", "T"))
    except ValueError:
        if re.match(r"^.+\+00$", text):
            return _ms(text[:-3] + "+00:00")
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return int(parsed.timestamp() * 1000)


def kickoff_of(event: dict[str, Any]) -> int | None:
    for key in ("startTime", "endDate"):
        value = _ms(event.get(key))
        if value is not None:
            return value
    for market in event.get("markets") or []:
        value = _ms(market.get("gameStartTime"))
        if value is not None:
            return value
    return None


def recorded_moment(items: list[tuple[dict[str, Any], dict[str, Any] | None]]) -> int | None:
    """When the recording was taken: the newest ``updatedAt`` of its events and markets."""
    stamps = [
        ms for event, _ in items
        for obj in (event, *[m for m in event.get("markets") or [] if isinstance(m, dict)])
        if (ms := _ms(obj.get("updatedAt"))) is not None
    ]
    return max(stamps, default=None)


def parse_moment(text: str) -> int:
    """``--recorded-at``: epoch milliseconds or an ISO timestamp (UTC when no zone is given)."""
    if text.strip().isdigit():
        return int(text)
    value = _ms(text.strip())
    if value is None:
        raise ValueError(f"not a timestamp: {text!r}")
    return value


def shift_to_now(items: list[tuple[dict[str, Any], dict[str, Any] | None]], now_ms: int,
                 recorded_at_ms: int | None = None) -> list[tuple[dict[str, Any], dict[str, Any] | None]]:
    """Move every timestamp so the recording's moment is now, keeping each event's relation to it.

    The moment is ``recorded_at_ms``, else the newest ``updatedAt`` in the recording; a recording
    without any (hand-made files) falls back to its latest kickoff. The shift is whole seconds, so
    recorded sub-second digits stay exact.
    """
    kickoffs = [k for e, _ in items if (k := kickoff_of(e)) is not None]
    moment = recorded_at_ms if recorded_at_ms is not None else recorded_moment(items)
    if moment is None:
        if not kickoffs:
            return items
        moment = max(kickoffs)
    delta = timedelta(seconds=(now_ms - moment) // 1000)
    delta_ms = int(delta.total_seconds() * 1000)
    out = []
    for event, teams in items:
        kickoff = kickoff_of(event) or moment
        days = (datetime.fromisoformat(eastern_date(kickoff + delta_ms))
                - datetime.fromisoformat(eastern_date(kickoff))).days
        out.append((_shift_value(event, delta, days), _shift_value(teams, delta, days) if teams else teams))
    return out


# ---------------------------------------------------------------------- scenario
def _league_for(event: dict[str, Any]) -> League:
    slug = str(event.get("slug", ""))
    prefix = slug.split("-", 1)[0]
    if prefix in LEAGUES:
        return LEAGUES[prefix]
    code = SERIES_SLUG_TO_LEAGUE.get(str(event.get("seriesSlug", "")))
    series = event.get("series") or []
    if code is None and series and isinstance(series[0], dict):
        code = SERIES_TO_LEAGUE.get(str(series[0].get("id")))
    if code is not None:
        return LEAGUES[code]
    series_id = str(series[0].get("id")) if series and isinstance(series[0], dict) else "0"
    return League(prefix or "sports", 9000 + sum(map(ord, prefix)) % 999, "", str(event.get("resolutionSource", "")),
                  "home", "1,100639", series_id, "2025-11-05T19:27:45.399303Z", str(event.get("seriesSlug", prefix)),
                  prefix.upper(), "soccer", (1, 99_999_999), LineProfile((0.5, 0.5), 1.6, (0, 0), (2.5, 2.5), 1.6, 1.0,
                                                                       (0, 0)), False, (), upper_socket_names=False)


def _is_moneyline_pair(market: dict[str, Any]) -> bool:
    outcomes = _as_list(market.get("outcomes"))
    return market.get("sportsMarketType") == "moneyline" and len(outcomes) == 2 and outcomes != ["Yes", "No"]


def build_replay(seed: int, now_ms: int, items: list[tuple[dict[str, Any], dict[str, Any] | None]],
                 speed: float = 1.0, resolve_delay_s: float = 600.0, play: bool = False) -> Scenario:
    """The recorded world. Games hold their recorded state unless ``play``: then upcoming games kick
    off and play, live games play on from their recorded period and score, finals resolve."""
    scenario = Scenario(seed, now_ms, speed, resolve_delay_s)
    rng = scenario.rng
    team_index: dict[tuple[str, str], Team] = {}
    for raw_event, wrapper_teams in items:
        league = _league_for(raw_event)
        if league.code not in scenario.leagues:
            scenario.leagues[league.code] = league
            scenario.teams[league.code] = []
        markets = [m for m in raw_event.get("markets") or [] if isinstance(m, dict)]
        slug = str(raw_event.get("slug", f"{league.code}-event-{raw_event.get('id')}"))
        parts = slug.split("-")
        abbr_a, abbr_b = (parts[1], parts[2]) if len(parts) >= 3 else ("a", "b")
        ml = next((m for m in markets if _is_moneyline_pair(m)), None)
        title = str(raw_event.get("title", slug))
        names = _as_list(ml.get("outcomes")) if ml else [x.strip() for x in title.split(" vs. ", 1)]
        if len(names) != 2:
            names = [abbr_a.upper(), abbr_b.upper()]
        known = _wrapper_teams(wrapper_teams, markets)
        teams = []
        for abbr, name in ((abbr_a, names[0]), (abbr_b, names[1])):
            key = (league.code, abbr)
            team = team_index.get(key)
            if team is None:
                team = _make_team(scenario, league, abbr, name, known.get(abbr), rng)
                team_index[key] = team
                scenario.teams[league.code].append(team)
            teams.append(team)
        kickoff = kickoff_of(raw_event) or now_ms
        home_is_a = league.ordering == "home"
        game_id = raw_event.get("gameId")
        if not isinstance(game_id, int):
            game_id = scenario.ids.game_id(*league.game_id_range)
        scenario.ids.used_game_ids.add(game_id)
        game = scenario.games_by_game_id.get(game_id)
        if game is None:
            game = Game(game_id=game_id, league=league, team_a=teams[0], team_b=teams[1], home_is_a=home_is_a,
                        kickoff_ms=kickoff, margin=0.0, total_mu=0.0, model=model_for(league.kind, league.code),
                        rng=random.Random(f"{seed}:game:{len(scenario.games)}"),
                        ns_fields="score" in raw_event)
            game.state = _state_from(raw_event, game, kickoff)
            game.held = not play
            game.gamma = game.state.copy()
            scenario.games.append(game)
            scenario.games_by_game_id[game_id] = game
        event = Event(
            id=str(raw_event.get("id")), slug=slug, title=title, description=str(raw_event.get("description", "")),
            game=game, markets=[], created_ms=_ms(raw_event.get("createdAt")) or now_ms,
            listed_ms=_ms(raw_event.get("startDate")) or now_ms, sibling=slug.endswith("-more-markets"),
            neg_risk=bool(raw_event.get("negRisk", False)), comment_count=int(raw_event.get("commentCount", 0) or 0),
            closed=bool(raw_event.get("closed", False)),
            recorded={k: v for k, v in raw_event.items() if k not in FRONTEND_ONLY_KEYS and k != "markets"},
        )
        game.events.append(event)
        scenario.events.append(event)
        scenario.events_by_id[event.id] = event
        scenario.events_by_slug[event.slug] = event
        for raw_market in markets:
            _add_market(scenario, event, clean_market(raw_market), now_ms)
        _fit_game_lines(game)
    if play:
        for game in scenario.games:
            if game.state.phase == LIVE:
                game.prog = game.model.resume(game.state, game.rng, now_ms, speed, game.edge())
    return scenario


def _wrapper_teams(wrapper: dict[str, Any] | None, markets: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    candidates: list[Any] = list((wrapper or {}).values())
    for market in markets:
        candidates.extend(market.get("teams") or [])
    for team in candidates:
        if isinstance(team, dict) and team.get("abbreviation"):
            found.setdefault(str(team["abbreviation"]).lower(), team)
    return found


def _make_team(scenario: Scenario, league: League, abbr: str, name: str, recorded: dict[str, Any] | None,
               rng: random.Random) -> Team:
    socket_name = abbr.upper() if league.upper_socket_names else name
    if recorded is not None:
        extra = {k: recorded[k] for k in TEAM_KEYS if k in recorded and not (k == "alias" and recorded[k] is None)}
        team_id = recorded.get("id")
        if isinstance(team_id, int):
            scenario.ids.used_team_ids.add(team_id)
        else:
            team_id = scenario.ids.team_id()
            extra["id"] = team_id
        return Team(id=team_id, name=str(recorded.get("name", name)), abbreviation=abbr, league=league.code,
                    record=str(recorded.get("record") or ""), logo=str(recorded.get("logo", "")),
                    color=str(recorded.get("color", "")), created_at=str(recorded.get("createdAt", "")),
                    updated_at=str(recorded.get("updatedAt", recorded.get("createdAt", ""))),
                    socket_name=socket_name, extra=extra)
    created = scenario.created_ms
    return Team(id=scenario.ids.team_id(), name=name, abbreviation=abbr, league=league.code, record="",
                logo=f"https://polymarket-upload.s3.us-east-2.amazonaws.com/team_logos/{league.code}/{abbr}.png",
                color=f"#{rng.getrandbits(24):06X}", created_at=iso_micros(created - 30 * 86_400_000),
                updated_at=iso_micros(created), socket_name=socket_name)


def _state_from(event: dict[str, Any], game: Game, kickoff: int) -> GameState:
    period = str(event.get("period") or "")
    score = str(event.get("score") or "")
    state = GameState(period=period, elapsed=str(event.get("elapsed") or ""))
    a, _, b = score.partition("-")
    if a.strip().isdigit() and b.strip().isdigit():
        state.score_a, state.score_b = int(a), int(b)
    if period == "CAN":
        state.phase = CANCELLED
    elif period == "POST":
        state.phase = POSTPONED
    elif event.get("ended") is True or period in ("VFT", "FT"):
        state.phase = FINAL
        state.period = "FT"
        state.finished_ms = _ms(event.get("finishedTimestamp")) or kickoff + int(game.model.duration_s() * 1000)
    elif event.get("live") is True:
        state.phase = LIVE
    else:
        state.phase = PRE
        state.period = ""
    return state


def _add_market(scenario: Scenario, event: Event, raw: dict[str, Any], now_ms: int) -> None:
    tokens = _as_list(raw.get("clobTokenIds"))
    if len(tokens) != 2:
        return  # not a binary CLOB market: nothing to trade
    outcomes = _as_list(raw.get("outcomes"))
    prices = [float(p) for p in _as_list(raw.get("outcomePrices")) if _is_number(p)] or [0.5, 0.5]
    kind = str(raw.get("sportsMarketType", "moneyline"))
    line = raw.get("line") if isinstance(raw.get("line"), int | float) else None
    game = event.game
    if kind == "spreads":
        spec = ("spread", 0 if outcomes[:1] == [game.team_a.name] else 1, abs(float(line or 0)))
    elif kind == "totals":
        spec = ("total", -1, float(line or 0))
    elif outcomes == ["Yes", "No"]:
        question = str(raw.get("question", ""))
        idx = -1 if "draw" in question.lower() else 0 if game.team_a.name in question else 1
        spec = ("yes", idx, 0.0)
    else:
        spec = ("ml", 0, 0.0)
    tick = round(float(raw.get("orderPriceMinTickSize", 0.01) or 0.01) * 1000) or 10
    market = Market(
        id=str(raw.get("id")), question=str(raw.get("question", "")), condition_id=str(raw.get("conditionId", "")),
        question_id=str(raw.get("questionID", "")), slug=str(raw.get("slug", "")), outcomes=outcomes,
        tokens=(tokens[0], tokens[1]), kind=kind, line=line, group_item_title=raw.get("groupItemTitle"),
        description=str(raw.get("description", "")), event=event, created_ms=_ms(raw.get("createdAt")) or now_ms,
        listed_ms=_ms(raw.get("startDate")) or now_ms, neg_risk=bool(raw.get("negRisk", False)), spec=spec,
        volume=float(raw.get("volumeNum", 0) or 0), liquidity=float(raw.get("liquidityNum", 0) or 0),
        main=kind == "moneyline", tick=tick if tick in (1, 10) else 10, recorded=raw,
        target=round(min(max(prices[0], 0.003), 0.997) * 1000),
    )
    scenario.register_market(market)
    event.markets.append(market)
    if raw.get("closed") is True:
        market.closed = True
        market.closed_ms = _ms(raw.get("closedTime")) or now_ms
        market.resolved = _as_list(raw.get("outcomePrices")) or ["0.5", "0.5"]
        return
    market.frozen = game.state.phase == CANCELLED
    rng = random.Random(f"{scenario.seed}:book:{market.id}")
    book = Book(market.condition_id, market.tokens, market.tick, market.neg_risk, now_ms - rng.randint(1_000, 600_000))
    best_bid, best_ask = raw.get("bestBid"), raw.get("bestAsk")
    touch = None
    if isinstance(best_bid, int | float) or isinstance(best_ask, int | float):
        bb = round(best_bid * 1000) if isinstance(best_bid, int | float) and best_bid > 0 else None
        ba = round(best_ask * 1000) if isinstance(best_ask, int | float) and best_ask < 1 else None
        if bb is None or ba is None or bb < ba:
            touch = (bb, ba)
    book.populate(rng, prices[0], 0.9 if market.main else 0.5, touch)
    ltp = raw.get("lastTradePrice")
    if isinstance(ltp, int | float) and 0 < ltp < 1:
        book.ltp = round(ltp * 1000)
    market.book = book


def _fit_game_lines(game: Game) -> None:
    """Margin/total priors from the recorded prices, so a replayed game that kicks off prices sensibly."""
    prof = game.league.lines
    for market in game.markets():
        if market.spec[0] == "ml" and not market.closed:
            p = min(max(market.target / 1000, 0.01), 0.99)
            game.margin = prof.margin_sd * NormalDist().inv_cdf(p)
        if market.spec[0] == "total" and (game.total_mu == 0 or abs(market.target - 500) < 100):
            game.total_mu = market.spec[2]
    if game.total_mu == 0:
        game.total_mu = sum(prof.total_main) / 2


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


__all__ = ["build_replay", "clean_market", "load_events", "parse_moment", "recorded_moment", "shift_to_now"]
