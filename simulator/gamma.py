"""Gamma REST under ``/gamma``: sports, market types, teams, events, markets, series.

Wire conventions (upstream README §1 and §5): bare-array lists, silently clamped ``limit``, unknown
parameters ignored, repeated keys and comma lists both accepted, string ids for events/markets/series,
JSON-encoded string fields with ``", "`` separators, omitted (not null) optional keys.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any, TypeVar

import orjson
from aiohttp import web

from .gameplay import CANCELLED, FINAL, LIVE, POSTPONED, PRE, GameState
from .leagues import TAG_LABELS, League
from .scenario import Event, Game, Market, Scenario, Team
from .wire import decimal_str, eastern_date, iso_micros, iso_seconds, json_string_list, pg_ts

T = TypeVar("T")

PROVIDER_ID_BASE = 100_000  # Gamma's live `/teams` adds an integer providerId (upstream README §1.4)
LIMIT_CAP = {"events": 500, "markets": 500, "teams": 99, "series": 49}

MARKET_TYPES = [
    "any_player_rampage", "assists", "assists_points_rebounds", "both_teams_to_score", "child_moneyline",
    "correct_score", "double_chance", "first_half_moneyline", "first_half_spreads", "first_half_totals",
    "first_touchdowns", "map_handicap", "match_handicap", "moneyline", "nhl_period_result", "nrfi", "parlays",
    "passing_yards", "points", "rebounds", "receiving_yards", "rushing_yards", "soccer_anytime_goalscorer",
    "soccer_exact_score", "soccer_halftime_result", "spreads", "team_totals", "team_totals_away",
    "team_totals_home", "tennis_first_set_totals", "tennis_first_set_winner", "tennis_match_totals",
    "tennis_set_handicap", "tennis_set_totals", "threes", "total_corners", "total_games", "total_goals", "totals",
    "ufc_go_the_distance", "ufc_method_of_victory",
]


def json_response(data: object, status: int = 200) -> web.Response:
    return web.Response(body=orjson.dumps(data), status=status, content_type="application/json")


# ---------------------------------------------------------------------- query helpers
def multi(request: web.Request, key: str) -> list[str]:
    """Repeated keys and comma lists: ``id=1&id=2`` == ``id=1,2``."""
    out: list[str] = []
    for raw in request.query.getall(key, []):
        out.extend(part.strip() for part in raw.split(",") if part.strip())
    return out


def flag(request: web.Request, key: str) -> bool | None:
    raw = request.query.get(key)
    if raw is None:
        return None
    low = raw.strip().lower()
    if low in ("true", "1"):
        return True
    if low in ("false", "0"):
        return False
    return None  # unparseable values are ignored like unknown parameters


def int_param(request: web.Request, key: str, default: int) -> int:
    try:
        return int(request.query.get(key, default))
    except ValueError:
        return default


def parse_time(raw: str | None) -> int | None:
    """ISO date-time or bare date -> epoch ms (None if absent or unparseable)."""
    if not raw:
        return None
    text = raw.strip().replace("Z", "+00:00").replace(" ", "T")
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return int(parsed.timestamp() * 1000)


def page(request: web.Request, rows: list[T], cap: int) -> list[T]:
    limit = min(max(int_param(request, "limit", cap), 0), cap)
    offset = max(int_param(request, "offset", 0), 0)
    return rows[offset: offset + limit]


def sort_rows(request: web.Request, rows: list[T], keys: dict[str, Callable[[T], Any]]) -> list[T]:
    order = [k for k in multi(request, "order") if k in keys]
    ascending = flag(request, "ascending")
    if not order:
        return rows
    reverse = ascending is False
    for key in reversed(order):
        rows = sorted(rows, key=keys[key], reverse=reverse)
    return rows


# ---------------------------------------------------------------------- serializers
class GammaView:
    """Builds Gamma JSON from the scenario; dynamic fields come from the live books and lagged state."""

    def __init__(self, scenario: Scenario) -> None:
        self.scenario = scenario
        self._series_totals: dict[str, tuple[float, float]] = {}
        self._series_key = -1

    # ----- teams / sports / series
    @staticmethod
    def team_json(team: Team) -> dict[str, object]:
        if team.extra:
            return dict(team.extra)
        return {"id": team.id, "name": team.name, "league": team.league, "record": team.record, "logo": team.logo,
                "abbreviation": team.abbreviation, "createdAt": team.created_at, "updatedAt": team.updated_at,
                "color": team.color, "providerId": PROVIDER_ID_BASE + team.id % 900_000}

    def series_ref(self, league: League) -> dict[str, object]:
        created = self.scenario.created_ms
        volume, liquidity = self._totals(league)
        return {
            "id": league.series, "ticker": league.series_slug, "slug": league.series_slug,
            "title": league.series_title, "seriesType": "single", "recurrence": "daily", "image": league.image,
            "icon": league.image, "active": True, "closed": False, "archived": False, "featured": False,
            "restricted": True, "createdAt": "2025-10-29T19:25:09.107446Z", "updatedAt": iso_micros(created),
            "volume": volume, "liquidity": liquidity, "commentCount": 348, "requiresTranslation": False,
        }

    def series_json(self, league: League) -> dict[str, object]:
        ref = self.series_ref(league)
        out: dict[str, object] = {k: ref[k] for k in ("id", "ticker", "slug", "title", "seriesType", "recurrence",
                                                        "image", "icon")}
        out.update({
            "layout": "default", "active": True, "closed": False, "archived": False, "new": False,
            "featured": False, "restricted": True, "publishedAt": "2023-01-30 17:13:39.006+00",
            "createdBy": "15", "updatedBy": "15", "createdAt": ref["createdAt"], "updatedAt": ref["updatedAt"],
            "commentsEnabled": False, "competitive": "0", "volume24hr": round(float(ref["volume"]) * 0.1, 6),
            "volume": ref["volume"], "liquidity": ref["liquidity"], "startDate": "2021-01-01T17:00:00Z",
            "events": [self.event_json(e, markets=False) for g in self._league_games(league) for e in g.events],
            "commentCount": ref["commentCount"], "requiresTranslation": False,
        })
        return out

    def _totals(self, league: League) -> tuple[float, float]:
        if self._series_key != len(self.scenario.markets):  # recompute when games were added
            totals: dict[str, tuple[float, float]] = {}
            for market in self.scenario.markets:
                code = market.event.game.league.code
                vol, liq = totals.get(code, (0.0, 0.0))
                totals[code] = (vol + market.volume, liq + market.liquidity)
            self._series_totals = {k: (round(v, 6), round(lq, 5)) for k, (v, lq) in totals.items()}
            self._series_key = len(self.scenario.markets)
        return self._series_totals.get(league.code, (0.0, 0.0))

    def _league_games(self, league: League) -> Iterable[Game]:
        return (g for g in self.scenario.games if g.league.code == league.code)

    @staticmethod
    def tags_json(league: League, created_ms: int) -> list[dict[str, object]]:
        out = []
        for tag_id in league.tag_ids():
            label, slug = TAG_LABELS.get(tag_id, (str(tag_id), str(tag_id)))
            out.append({"id": str(tag_id), "label": label, "slug": slug, "forceShow": False,
                        "createdAt": "2024-09-23T22:41:37.670714Z", "updatedAt": iso_micros(created_ms),
                        "requiresTranslation": False})
        return out

    # ----- events
    def event_json(self, event: Event, markets: bool = True) -> dict[str, object]:
        if event.recorded is not None:
            return self._recorded_event(event, markets)
        game = event.game
        league = game.league
        created = self.scenario.created_ms
        volume = round(sum(m.volume for m in event.markets), 6)
        liquidity = round(sum(m.liquidity for m in event.markets), 5)
        out: dict[str, object] = {
            "id": event.id, "ticker": event.slug, "slug": event.slug, "title": event.title,
            "description": event.description, "resolutionSource": league.resolution,
            "startDate": iso_micros(event.listed_ms), "creationDate": iso_seconds(game.kickoff_ms),
            "endDate": iso_seconds(game.kickoff_ms), "image": league.image, "icon": league.image,
            "active": True, "closed": event.closed, "archived": False, "new": False, "featured": False,
            "restricted": True, "liquidity": liquidity, "volume": volume, "openInterest": 0,
            "createdAt": iso_micros(event.created_ms), "updatedAt": iso_micros(max(game.gamma_updated_ms, created)),
            "competitive": round(0.5 + (int(event.id) % 50) / 100, 4), "volume24hr": round(volume * 0.2, 6),
            "volume1wk": round(volume * 0.9, 6), "volume1mo": volume, "volume1yr": volume,
            "enableOrderBook": True, "liquidityClob": liquidity, "negRisk": event.neg_risk,
        }
        if event.neg_risk:
            out["negRiskMarketID"] = f"0x{int(event.id):064x}"
        out["commentCount"] = event.comment_count
        if markets:
            out["markets"] = [self.market_json(m) for m in event.markets]
        out["series"] = [self.series_ref(league)]
        out["tags"] = self.tags_json(league, created)
        out.update({
            "cyom": False, "showAllOutcomes": True, "showMarketImages": False, "enableNegRisk": event.neg_risk,
            "automaticallyActive": True, "eventDate": eastern_date(game.kickoff_ms),
            "startTime": iso_seconds(game.kickoff_ms), "eventWeek": 1, "seriesSlug": league.series_slug,
        })
        out.update(self.live_fields(game))
        out.update({"negRiskAugmented": False, "cumulativeMarkets": False, "pendingDeployment": False,
                    "deploying": False, "gameId": game.game_id, "requiresTranslation": False})
        return out

    @staticmethod
    def live_fields(game: Game) -> dict[str, object]:
        """Event sports fields from the lagged state (NS/POST/CAN/VFT codes as on Gamma)."""
        state: GameState = game.gamma
        phase = state.phase
        if phase == PRE:
            if not game.ns_fields:
                return {"period": "NS"}
            return {"score": "", "elapsed": "", "period": "NS", "live": False, "ended": False}
        if phase == POSTPONED:
            return {"score": "", "elapsed": "", "period": "POST", "live": False, "ended": False}
        if phase == CANCELLED:
            return {"score": "0-0", "elapsed": "", "period": "CAN", "live": False, "ended": True}
        score = game.model.score_text(state)
        if phase == LIVE:
            return {"score": score, "elapsed": state.elapsed, "period": state.period, "live": True, "ended": False}
        out: dict[str, object] = {"score": score, "elapsed": "", "period": "VFT" if state.period.startswith("FT")
                                  or not state.period else state.period, "live": False, "ended": True}
        if phase == FINAL and state.finished_ms is not None:
            out["finishedTimestamp"] = iso_micros(state.finished_ms)
        return out

    def _recorded_event(self, event: Event, markets: bool) -> dict[str, object]:
        """Replay: the recorded event, with markets and (once the game moved) live fields refreshed."""
        assert event.recorded is not None
        out = dict(event.recorded)
        if markets:
            out["markets"] = [self.market_json(m) for m in event.markets]
        else:
            out.pop("markets", None)
        game = event.game
        if game.gamma_updated_ms > self.scenario.created_ms:
            live = self.live_fields(game)
            if "finishedTimestamp" not in live:
                out.pop("finishedTimestamp", None)
            out.update(live)
        out["closed"] = event.closed
        return out

    # ----- markets
    def market_json(self, market: Market, with_events: bool = False) -> dict[str, object]:
        if market.recorded is not None:
            return self._recorded_market(market, with_events)
        game = market.event.game
        league = game.league
        prices, dyn = self.dynamic(market)
        out: dict[str, object] = {
            "id": market.id, "question": market.question, "conditionId": market.condition_id,
            "slug": market.slug, "resolutionSource": league.resolution, "endDate": iso_seconds(game.kickoff_ms),
            "liquidity": f"{market.liquidity:.5f}".rstrip("0").rstrip("."),
            "startDate": iso_micros(market.listed_ms), "image": league.image, "icon": league.image,
            "description": market.description, "outcomes": json_string_list(market.outcomes),
            "outcomePrices": json_string_list(prices), "volume": f"{market.volume:.6f}",
            "active": True, "closed": market.closed, "marketMakerAddress": "",
            "createdAt": iso_micros(market.created_ms),
            "updatedAt": iso_micros(max(market.closed_ms or 0, game.gamma_updated_ms, market.created_ms)),
        }
        if market.closed and market.closed_ms is not None:
            out["closedTime"] = pg_ts(market.closed_ms)
        out.update({"new": False, "featured": False, "archived": False, "restricted": True})
        if market.group_item_title is not None:
            out["groupItemTitle"] = market.group_item_title
            out["groupItemThreshold"] = str(market.event.markets.index(market))
        out["questionID"] = market.question_id
        if market.closed and market.closed_ms is not None:
            out["umaEndDate"] = iso_seconds(market.closed_ms)
        out.update({"enableOrderBook": True, "orderPriceMinTickSize": market.tick / 1000, "orderMinSize": 5})
        if market.closed:
            out["umaResolutionStatus"] = "resolved"
        out.update({
            "volumeNum": round(market.volume, 6), "liquidityNum": round(market.liquidity, 5),
            "endDateIso": eastern_date(game.kickoff_ms), "startDateIso": eastern_date(market.listed_ms),
            "hasReviewedDates": True, "volume24hr": round(market.volume * 0.2, 6),
            "volume1wk": round(market.volume * 0.9, 6), "volume1mo": round(market.volume, 6),
            "volume1yr": round(market.volume, 6), "gameStartTime": pg_ts(game.kickoff_ms), "secondsDelay": 3,
            "clobTokenIds": json_string_list(list(market.tokens)), "umaBond": "500", "umaReward": "2",
            "volumeClob": round(market.volume, 6), "liquidityClob": round(market.liquidity, 5),
            "acceptingOrders": not market.closed, "negRisk": market.neg_risk,
        })
        if market.neg_risk:
            out["negRiskMarketID"] = f"0x{int(market.event.id):064x}"
            out["negRiskRequestID"] = market.question_id
        out.update({
            "ready": False, "funded": False, "acceptingOrdersTimestamp": iso_seconds(market.listed_ms),
            "cyom": False, "competitive": 0.8, "pagerDutyNotificationEnabled": False, "approved": True,
            "rewardsMinSize": 0, "rewardsMaxSpread": 0,
        })
        out.update(dyn)
        out.update({"automaticallyActive": True, "clearBookOnStart": True, "manualActivation": False,
                    "negRiskOther": False, "sportsMarketType": market.kind})
        if market.line is not None:
            out["line"] = market.line
        out.update({
            "umaResolutionStatuses": json_string_list(["proposed"] if market.closed else []),
            "pendingDeployment": False, "deploying": False, "rfqEnabled": False, "holdingRewardsEnabled": False,
            "feesEnabled": False, "requiresTranslation": False, "feeType": None,
        })
        if with_events:
            out["events"] = [self.event_json(market.event, markets=False)]
        return out

    @staticmethod
    def dynamic(market: Market) -> tuple[list[str], dict[str, object]]:
        """outcomePrices and spread/lastTradePrice/bestBid/bestAsk from the current book."""
        dyn: dict[str, object] = {}
        book = market.book
        if market.closed or book is None:
            prices = market.resolved or ["0.5", "0.5"]
            if book is None and market.resolved:
                dyn["lastTradePrice"] = float(market.resolved[0])
            return prices, dyn
        bb, ba = book.best(0)
        # Gamma's outcomePrices are the midpoint, an empty side counting as 0 / 1: the recorded
        # (bid 0.03, ask 0.5) -> "0.265" and (no bid, ask 0.001) -> "0.0005".
        mid = book.mid()
        p0 = 0.5 if mid is None else mid
        prices = [decimal_str(p0), decimal_str(1 - p0)]
        dyn["spread"] = round(((ba if ba is not None else 1000) - (bb if bb is not None else 0)) / 1000, 4)
        dyn["oneDayPriceChange"] = 0
        if book.ltp is not None:
            dyn["lastTradePrice"] = book.ltp / 1000
        if bb is not None:
            dyn["bestBid"] = bb / 1000
        if ba is not None:
            dyn["bestAsk"] = ba / 1000
        return prices, dyn

    def _recorded_market(self, market: Market, with_events: bool) -> dict[str, object]:
        """Replay: the recorded market; open ones get prices and touch from the simulated book."""
        assert market.recorded is not None
        out = dict(market.recorded)
        if market.book is not None:
            for key in ("bestBid", "bestAsk", "spread", "lastTradePrice"):
                out.pop(key, None)
            prices, dyn = self.dynamic(market)
            out["outcomePrices"] = json_string_list(prices)
            out["orderPriceMinTickSize"] = market.tick / 1000
            out.update(dyn)
        elif market.resolved is not None:
            out["outcomePrices"] = json_string_list(market.resolved)
        out["closed"] = market.closed
        if with_events:
            out["events"] = [self.event_json(market.event, markets=False)]
        return out


# ---------------------------------------------------------------------- handlers
class GammaApi:
    def __init__(self, scenario: Scenario) -> None:
        self.scenario = scenario
        self.view = GammaView(scenario)

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/gamma/sports", self.sports),
            web.get("/gamma/sports/market-types", self.market_types),
            web.get("/gamma/teams", self.teams),
            web.get("/gamma/events", self.events),
            web.get("/gamma/events/slug/{slug}", self.event_by_slug),
            web.get("/gamma/events/{id}", self.event),
            web.get("/gamma/markets", self.markets),
            web.get("/gamma/markets/slug/{slug}", self.market_by_slug),
            web.get("/gamma/markets/{id}", self.market),
            web.get("/gamma/series", self.series_list),
            web.get("/gamma/series/{id}", self.series),
        ]

    async def sports(self, request: web.Request) -> web.Response:
        scenario = self.scenario
        return json_response([scenario.leagues[code].sports_entry() for code in scenario.league_codes()])

    async def market_types(self, request: web.Request) -> web.Response:
        return json_response({"marketTypes": MARKET_TYPES})

    async def teams(self, request: web.Request) -> web.Response:
        scenario = self.scenario
        leagues = [x.lower() for x in multi(request, "league")]
        names = set(multi(request, "name"))
        abbrs = {x.lower() for x in multi(request, "abbreviation")}
        rows: list[Team] = []
        for code in scenario.league_codes():
            if leagues and code not in leagues:
                continue
            for team in scenario.teams.get(code, []):
                if names and team.name not in names:
                    continue
                if abbrs and team.abbreviation not in abbrs:
                    continue
                rows.append(team)
        keys: dict[str, Callable[[Team], Any]] = {
            "id": lambda t: t.id, "name": lambda t: t.name,
            "abbreviation": lambda t: t.abbreviation, "league": lambda t: t.league,
        }
        rows = sort_rows(request, rows, keys)
        return json_response([self.view.team_json(t) for t in page(request, rows, LIMIT_CAP["teams"])])

    # ----- events
    def _filter_events(self, request: web.Request) -> list[Event]:
        q = request.query
        ids = set(multi(request, "id"))
        slugs = set(multi(request, "slug"))
        series = set(multi(request, "series_id"))
        tags = set(multi(request, "tag_id"))
        game_ids = set(multi(request, "game_id"))
        active, closed, live, ended = flag(request, "active"), flag(request, "closed"), flag(request, "live"), \
            flag(request, "ended")
        getters: tuple[tuple[str, Callable[[Event], int]], ...] = (
            ("start_time", lambda e: e.game.kickoff_ms),  # kickoff
            ("start_date", lambda e: e.listed_ms),  # listing date, NOT kickoff (a classic trap)
            ("end_date", lambda e: e.game.kickoff_ms),
        )
        ranges = [(parse_time(q.get(f"{name}_min")), parse_time(q.get(f"{name}_max")), getter)
                  for name, getter in getters]
        rows: list[Event] = []
        for event in self.scenario.events:
            game = event.game
            if ids and event.id not in ids:
                continue
            if slugs and event.slug not in slugs:
                continue
            if series and game.league.series not in series:
                continue
            if tags and not tags.intersection(str(t) for t in game.league.tag_ids()):
                continue
            if game_ids and str(game.game_id) not in game_ids:
                continue
            if active is False:
                continue  # every simulated event is active (even cancelled ones, as on Gamma)
            if closed is not None and event.closed != closed:
                continue
            if live is not None and (game.gamma.phase == LIVE) != live:
                continue
            if ended is not None and (game.gamma.phase in (FINAL, CANCELLED)) != ended:
                continue
            if any((lo is not None and get(event) < lo) or (hi is not None and get(event) > hi)
                   for lo, hi, get in ranges):
                continue
            rows.append(event)
        keys: dict[str, Callable[[Event], Any]] = {
            "id": lambda e: int(e.id),
            "startTime": lambda e: e.game.kickoff_ms,
            "endDate": lambda e: e.game.kickoff_ms,
            "startDate": lambda e: e.listed_ms,
            "createdAt": lambda e: e.created_ms,
            "gameId": lambda e: e.game.game_id,
            "slug": lambda e: e.slug,
            "title": lambda e: e.title,
            "volume": lambda e: sum(m.volume for m in e.markets),
            "liquidity": lambda e: sum(m.liquidity for m in e.markets),
        }
        return sort_rows(request, rows, keys)

    async def events(self, request: web.Request) -> web.Response:
        rows = page(request, self._filter_events(request), LIMIT_CAP["events"])
        return json_response([self.view.event_json(e) for e in rows])

    async def event(self, request: web.Request) -> web.Response:
        event = self.scenario.events_by_id.get(request.match_info["id"])
        if event is None:
            return json_response({"type": "not found error", "error": "record not found"}, status=404)
        return json_response(self.view.event_json(event))

    async def event_by_slug(self, request: web.Request) -> web.Response:
        event = self.scenario.events_by_slug.get(request.match_info["slug"])
        if event is None:
            return json_response({"type": "not found error", "error": "record not found"}, status=404)
        return json_response(self.view.event_json(event))

    # ----- markets
    async def markets(self, request: web.Request) -> web.Response:
        scenario = self.scenario
        ids = set(multi(request, "id"))
        slugs = set(multi(request, "slug"))
        conditions = set(multi(request, "condition_ids"))
        tokens = set(multi(request, "clob_token_ids"))
        types = set(multi(request, "sports_market_types"))
        game_ids = set(multi(request, "game_id"))
        active, closed = flag(request, "active"), flag(request, "closed")
        if tokens:
            candidates = list({id(m): m for t in tokens if (hit := scenario.tokens.get(t)) for m in [hit[0]]}.values())
        else:
            candidates = scenario.markets
        rows: list[Market] = []
        for market in candidates:
            if ids and market.id not in ids:
                continue
            if slugs and market.slug not in slugs:
                continue
            if conditions and market.condition_id not in conditions:
                continue
            if types and market.kind not in types:
                continue
            if game_ids and str(market.event.game.game_id) not in game_ids:
                continue
            if active is False or (closed is not None and market.closed != closed):
                continue
            rows.append(market)
        keys: dict[str, Callable[[Market], Any]] = {
            "id": lambda m: int(m.id),
            "startDate": lambda m: m.listed_ms,
            "endDate": lambda m: m.event.game.kickoff_ms,
            "gameStartTime": lambda m: m.event.game.kickoff_ms,
            "volumeNum": lambda m: m.volume, "liquidityNum": lambda m: m.liquidity,
            "slug": lambda m: m.slug,
        }
        rows = sort_rows(request, rows, keys)
        selected = page(request, rows, LIMIT_CAP["markets"])
        return json_response([self.view.market_json(m, with_events=True) for m in selected])

    async def market(self, request: web.Request) -> web.Response:
        market = self.scenario.markets_by_id.get(request.match_info["id"])
        if market is None:
            return json_response({"type": "not found error", "error": "record not found"}, status=404)
        return json_response(self.view.market_json(market, with_events=True))

    async def market_by_slug(self, request: web.Request) -> web.Response:
        market = self.scenario.markets_by_slug.get(request.match_info["slug"])
        if market is None:
            return json_response({"type": "not found error", "error": "record not found"}, status=404)
        return json_response(self.view.market_json(market, with_events=True))

    # ----- series
    async def series_list(self, request: web.Request) -> web.Response:
        slugs = set(multi(request, "slug"))
        ids = set(multi(request, "id"))
        rows: list[League] = []
        for code in self.scenario.league_codes():
            league = self.scenario.leagues[code]
            if (slugs and league.series_slug not in slugs) or (ids and league.series not in ids):
                continue
            rows.append(league)
        selected = page(request, rows, LIMIT_CAP["series"])
        return json_response([self.view.series_json(lg) for lg in selected])

    async def series(self, request: web.Request) -> web.Response:
        for code in self.scenario.league_codes():
            league = self.scenario.leagues[code]
            if league.series == request.match_info["id"]:
                return json_response(self.view.series_json(league))
        return json_response({"type": "not found error", "error": "record not found"}, status=404)
