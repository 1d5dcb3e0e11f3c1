"""The simulated world: leagues, teams, games (fixtures), Gamma events, markets and their books.

Everything is derived from one seeded ``random.Random`` (ids, names, lines) plus per-game and
per-market generators keyed by the seed, so the same seed gives the same ids and the same books.
"""

from __future__ import annotations

import math
import random
from collections import deque
from dataclasses import dataclass, field

from .books import Book
from .gameplay import CANCELLED, FINAL, LIVE, POSTPONED, PRE, GameState, Progress, SportModel, model_for, normal_cdf
from .leagues import DEFAULT_MIX, LEAGUES, League
from .teamdata import team_rows
from .wire import eastern_clock, eastern_date, iso_micros, line_slug

HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS


@dataclass(eq=False)
class Team:
    id: int
    name: str
    abbreviation: str
    league: str
    record: str
    logo: str
    color: str
    created_at: str
    updated_at: str
    socket_name: str
    extra: dict[str, object] = field(default_factory=dict)  # replay: recorded keys kept verbatim


@dataclass(eq=False)
class Market:
    id: str
    question: str
    condition_id: str
    question_id: str
    slug: str
    outcomes: list[str]
    tokens: tuple[str, str]
    kind: str  # moneyline | spreads | totals
    line: float | None
    group_item_title: str | None
    description: str
    event: Event
    created_ms: int
    listed_ms: int
    neg_risk: bool
    spec: tuple[str, int, float]  # ("ml"|"yes"|"spread"|"total", team index or -1 for draw, line)
    volume: float
    liquidity: float
    main: bool
    tick: int = 10
    book: Book | None = None
    closed: bool = False
    closed_ms: int | None = None
    resolved: list[str] | None = None
    target: int = 500
    recorded: dict[str, object] | None = None  # replay: the recorded market object
    frozen: bool = False  # never random-walked (cancelled games, replayed settled markets)
    # Fills for the data API's /trades, newest last: (ts ms, token index, taker side, price 0-1, size, tx hash).
    fills: deque[tuple[int, int, str, float, float, str]] = field(default_factory=lambda: deque(maxlen=1500))


@dataclass(eq=False)
class Event:
    id: str
    slug: str
    title: str
    description: str
    game: Game
    markets: list[Market]
    created_ms: int
    listed_ms: int
    sibling: bool = False
    neg_risk: bool = False
    comment_count: int = 0
    closed: bool = False
    recorded: dict[str, object] | None = None


@dataclass(eq=False)
class Game:
    game_id: int
    league: League
    team_a: Team  # first in slug/title (away for "away"-ordered leagues)
    team_b: Team
    home_is_a: bool
    kickoff_ms: int
    margin: float  # team A's expected final margin (points/goals/games)
    total_mu: float
    model: SportModel
    rng: random.Random
    state: GameState = field(default_factory=GameState)
    gamma: GameState = field(default_factory=GameState)  # what Gamma shows (lags the socket)
    prog: Progress | None = None
    events: list[Event] = field(default_factory=list)
    ns_fields: bool = True  # whether Gamma sends score/elapsed/live/ended before kickoff
    gamma_updated_ms: int = 0
    forced: bool = False  # state set through the control API: no automatic progression
    held: bool = False  # a replayed game kept as recorded: no progression, no market resolution

    @property
    def home(self) -> Team:
        return self.team_a if self.home_is_a else self.team_b

    @property
    def away(self) -> Team:
        return self.team_b if self.home_is_a else self.team_a

    def markets(self) -> list[Market]:
        return [m for e in self.events for m in e.markets]

    def edge(self) -> float:
        return self.margin / max(self.total_mu, 1.0)

    def score_text(self, state: GameState | None = None) -> str:
        return self.model.score_text(state or self.state)


class Ids:
    """Deterministic id allocation from the scenario generator."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.next_event = rng.randint(150_000, 190_000)
        self.next_market = rng.randint(1_100_000, 1_300_000)
        self.used_tokens: set[str] = set()
        self.used_game_ids: set[int] = set()
        self.used_team_ids: set[int] = set()

    def event_id(self) -> str:
        self.next_event += self.rng.randint(1, 40)
        return str(self.next_event)

    def market_id(self) -> str:
        self.next_market += self.rng.randint(1, 7)
        return str(self.next_market)

    def token(self) -> str:
        while True:
            value = str(self.rng.getrandbits(256) % (10**77))
            if len(value) >= 75 and value not in self.used_tokens:
                self.used_tokens.add(value)
                return value

    def hex32(self) -> str:
        return f"0x{self.rng.getrandbits(256):064x}"

    def game_id(self, lo: int, hi: int) -> int:
        while True:
            value = self.rng.randint(lo, hi)
            if value not in self.used_game_ids:
                self.used_game_ids.add(value)
                return value

    def team_id(self) -> int:
        while True:
            value = self.rng.randint(100_000, 199_999)
            if value not in self.used_team_ids:
                self.used_team_ids.add(value)
                return value


class Scenario:
    """All Gamma/CLOB objects of a run, with lookup tables."""

    def __init__(self, seed: int, now_ms: int, speed: float = 1.0, resolve_delay_s: float = 600.0) -> None:
        self.seed = seed
        self.rng = random.Random(seed)
        self.ids = Ids(self.rng)
        self.created_ms = now_ms
        self.speed = speed
        self.resolve_delay_ms = int(resolve_delay_s * 1000 / speed)
        self.leagues: dict[str, League] = {}
        self.teams: dict[str, list[Team]] = {}
        self.games: list[Game] = []
        self.events: list[Event] = []
        self.events_by_id: dict[str, Event] = {}
        self.events_by_slug: dict[str, Event] = {}
        self.markets: list[Market] = []
        self.markets_by_id: dict[str, Market] = {}
        self.markets_by_slug: dict[str, Market] = {}
        self.markets_by_condition: dict[str, Market] = {}
        self.tokens: dict[str, tuple[Market, int]] = {}
        self.games_by_game_id: dict[int, Game] = {}
        self._team_use: dict[str, int] = {}

    # ------------------------------------------------------------------ counts
    def counts(self) -> dict[str, int]:
        used = {g.league.code for g in self.games}
        return {
            "leagues": len(used),
            "teams": sum(len(self.teams.get(code, [])) for code in used),
            "games": len(self.events),
            "markets": len(self.markets),
            "tokens": len(self.tokens),
        }

    def league_codes(self) -> list[str]:
        return [code for code in self.leagues if any(g.league.code == code for g in self.games)]

    # ------------------------------------------------------------------ teams
    def ensure_league(self, code: str) -> League:
        league = LEAGUES[code]
        if code not in self.leagues:
            self.leagues[code] = league
            self.teams[code] = self._make_teams(league)
        return league

    def _make_teams(self, league: League) -> list[Team]:
        rng = self.rng
        teams = []
        for name, abbr, socket_name in team_rows(league.code):
            created = self.created_ms - rng.randint(60, 400) * DAY_MS
            updated = self.created_ms - rng.randint(1, 50) * DAY_MS
            if league.records:
                wins = rng.randint(0, 25)
                record = f"({wins}-{rng.randint(0, 25)})"
            else:
                record = ""
            teams.append(Team(
                id=self.ids.team_id(), name=name, abbreviation=abbr, league=league.code, record=record,
                logo=f"https://polymarket-upload.s3.us-east-2.amazonaws.com/team_logos/{league.code}/{abbr}.png",
                color=f"#{rng.getrandbits(24):06X}", created_at=iso_micros(created), updated_at=iso_micros(updated),
                socket_name=socket_name if league.upper_socket_names else name,
            ))
        return teams

    def _pick_teams(self, league: League) -> tuple[Team, Team]:
        teams = self.teams[league.code]
        # Prefer teams that have played least today, so a day's schedule rarely repeats a team.
        order = sorted(teams, key=lambda t: (self._team_use.get(f"{league.code}/{t.abbreviation}", 0),
                                             self.rng.random()))
        first, second = order[0], order[1]
        for team in (first, second):
            key = f"{league.code}/{team.abbreviation}"
            self._team_use[key] = self._team_use.get(key, 0) + 1
        return first, second

    # ------------------------------------------------------------------ games
    def add_game(self, code: str, kickoff_ms: int, now_ms: int, phase: str = PRE) -> Game:
        """Create a fixture with its events, markets and books, then play it forward to ``now_ms``."""
        league = self.ensure_league(code)
        rng = self.rng
        home, away = self._pick_teams(league)
        home_is_a = league.ordering == "home"
        team_a, team_b = (home, away) if home_is_a else (away, home)
        prof = league.lines
        fav_margin = prof.margin[0] + rng.randint(0, int(prof.margin[1] - prof.margin[0]))
        margin = fav_margin if rng.random() < 0.5 else -fav_margin
        total_mu = prof.total_main[0] + rng.randint(0, int(prof.total_main[1] - prof.total_main[0]))
        game = Game(
            game_id=self.ids.game_id(*league.game_id_range), league=league, team_a=team_a, team_b=team_b,
            home_is_a=home_is_a, kickoff_ms=kickoff_ms, margin=margin, total_mu=total_mu,
            model=model_for(league.kind, league.code), rng=random.Random(f"{self.seed}:game:{len(self.games)}"),
            ns_fields=rng.random() < 0.5,
        )
        self._build_events(game, now_ms)
        self.games.append(game)
        self.games_by_game_id[game.game_id] = game
        if phase in (CANCELLED, POSTPONED):
            game.state.phase = phase
            game.state.period = "CAN" if phase == CANCELLED else "POST"
            if phase == CANCELLED:
                for market in game.markets():
                    market.frozen = True
        self.settle(game, now_ms)
        self.update_targets(game)
        due = self.next_due_ms(game)
        if game.state.phase == FINAL and due is not None and due <= now_ms:
            for market in game.markets():
                self.close_market(market, now_ms)
        self.create_books(game, now_ms)
        game.gamma = game.state.copy()
        game.gamma_updated_ms = now_ms
        return game

    def settle(self, game: Game, now_ms: int) -> bool:
        """Advance a game to ``now_ms`` without broadcasting; True if its state changed."""
        state = game.state
        changed = False
        if state.phase == PRE and now_ms >= game.kickoff_ms:
            game.prog = game.model.start(state, game.rng, game.kickoff_ms, self.speed, game.edge())
            changed = True
        if state.phase == LIVE and game.prog is not None:
            changed = game.model.advance(state, game.prog, game.rng, self.speed, now_ms) or changed
        if changed:
            self.update_targets(game)
        return changed

    def next_due_ms(self, game: Game) -> int | None:
        """When this game next needs attention (kickoff, next step, market resolution)."""
        phase = game.state.phase
        if phase == PRE:
            return game.kickoff_ms
        if phase == LIVE and game.prog is not None:
            return game.prog.next_ms
        if phase == FINAL and game.state.finished_ms is not None and any(not m.closed for m in game.markets()):
            return game.state.finished_ms + self.resolve_delay_ms
        return None

    # ------------------------------------------------------------------ events & markets
    def _build_events(self, game: Game, now_ms: int) -> None:
        rng = self.rng
        league = game.league
        a, b = game.team_a, game.team_b
        date = eastern_date(game.kickoff_ms)
        slug = f"{league.code}-{a.abbreviation}-{b.abbreviation}-{date}"
        title = f"{a.name} vs. {b.name}"
        listed = game.kickoff_ms - rng.randint(1 * DAY_MS, 7 * DAY_MS) - rng.randint(0, HOUR_MS)
        when = eastern_clock(game.kickoff_ms)
        description = (
            f"This event is for the {league.series_title} game between {a.name} and {b.name} on {when}.\n\n"
            "If the game is postponed, this market will remain open until the game has been completed.\n\n"
            "If the game is canceled entirely, with no make-up game, this market will resolve 50-50."
        )
        soccer = league.kind == "soccer"
        main = Event(self.ids.event_id(), slug, title, description, game, [], listed - rng.randint(60_000, 600_000),
                     listed, neg_risk=soccer, comment_count=rng.randint(0, 40))
        game.events.append(main)
        if soccer:
            for idx in (0, -1, 1):
                self._add_market(main, "yes", idx, 0.0, slug, date, listed)
        else:
            self._add_market(main, "ml", 0, 0.0, slug, date, listed)
        line_event = main
        has_lines = league.lines.spread_lines[1] > 0 or league.lines.total_lines[1] > 0
        if soccer and has_lines and rng.random() < 0.8:
            line_event = Event(self.ids.event_id(), f"{slug}-more-markets", f"{title} - More Markets", description,
                               game, [], main.created_ms + rng.randint(60_000, 3_600_000), listed + 3_600_000,
                               sibling=True)
            game.events.append(line_event)
        elif soccer:
            has_lines = False
        if has_lines:
            lines_listed = max(listed, game.kickoff_ms - DAY_MS - rng.randint(0, 6 * HOUR_MS))
            prof = league.lines
            fav_line = abs(game.margin)
            n_spreads = rng.randint(*prof.spread_lines)
            start = max(0.5, fav_line - n_spreads // 2)
            fav = 0 if game.margin >= 0 else 1
            for k in range(n_spreads):
                self._add_market(line_event, "spread", fav, start + k, slug, date, lines_listed)
            n_totals = rng.randint(*prof.total_lines)
            for k in range(n_totals):
                total = game.total_mu + prof.total_step * (k - n_totals // 2)
                if total > 0:
                    self._add_market(line_event, "total", -1, total, slug, date, lines_listed)
        for event in game.events:
            self.events.append(event)
            self.events_by_id[event.id] = event
            self.events_by_slug[event.slug] = event

    def _add_market(self, event: Event, spec: str, idx: int, line: float, slug: str, date: str,
                    listed: int) -> Market:
        rng = self.rng
        game = event.game
        a, b = game.team_a, game.team_b
        league = game.league
        sched = eastern_clock(game.kickoff_ms)
        head = f"In the upcoming {league.series_title} game, scheduled for {sched}:\n\n"
        tail = ("\n\nIf the game is postponed, this market will remain open until the game has been completed. "
                "If the game is canceled entirely, with no make-up game, this market will resolve 50-50.")
        if spec == "ml":
            question, m_slug, outcomes = event.title, slug, [a.name, b.name]
            kind, m_line, group = "moneyline", None, None
            desc = head + (f'If the {a.name} win, the market will resolve to "{a.name}".\n\nIf the {b.name} win, '
                           f'the market will resolve to "{b.name}".') + tail
            main = True
        elif spec == "yes":
            team = a if idx == 0 else b if idx == 1 else None
            if team is None:
                question = f"Will {event.title} end in a draw?"
                m_slug, group = f"{slug}-draw", f"Draw ({event.title})"
            else:
                question = f"Will {team.name} win on {date}?"
                m_slug, group = f"{slug}-{team.abbreviation}", team.name
            outcomes, kind, m_line, main = ["Yes", "No"], "moneyline", None, True
            desc = head + f'This market will resolve to "Yes" if {question[5:-1]}. Otherwise "No".' + tail
        elif spec == "spread":
            fav, dog = (a, b) if idx == 0 else (b, a)
            side = "home" if fav is game.home else "away"
            question = f"Spread: {fav.name} (-{line:g})"
            m_slug = f"{slug}-spread-{side}-{line_slug(line)}"
            outcomes, kind, m_line, group = [fav.name, dog.name], "spreads", -line, f"Spread -{line:g}"
            desc = head + (f'This market will resolve to "{fav.name}" if the {fav.name} win the game by '
                           f'{math.floor(line) + 1} or more points.\n\nOtherwise, this market will resolve to '
                           f'"{dog.name}".') + tail
            main = abs(line - abs(game.margin)) < 0.01
        else:
            question = f"{event.title}: O/U {line:g}"
            m_slug = f"{slug}-total-{line_slug(line)}"
            outcomes, kind, m_line, group = ["Over", "Under"], "totals", line, f"O/U {line:g}"
            desc = head + (f'This market will resolve to "Over" if the {a.name} and {b.name} combine to score '
                           f'{math.floor(line) + 1} or more.\n\nOtherwise, this market will resolve to "Under".') + tail
            main = abs(line - game.total_mu) < 0.01
        market = Market(
            id=self.ids.market_id(), question=question, condition_id=self.ids.hex32(), question_id=self.ids.hex32(),
            slug=m_slug, outcomes=outcomes, tokens=(self.ids.token(), self.ids.token()), kind=kind, line=m_line,
            group_item_title=group, description=desc, event=event,
            created_ms=listed - rng.randint(30_000, 300_000), listed_ms=listed, neg_risk=event.neg_risk,
            spec=(spec, idx, line), volume=round(rng.lognormvariate(8.5 if main else 5.5, 1.2), 6),
            liquidity=round(rng.lognormvariate(8.0 if main else 5.0, 1.0), 5), main=main,
        )
        self.register_market(market)
        event.markets.append(market)
        return market

    def register_market(self, market: Market) -> None:
        self.markets.append(market)
        self.markets_by_id[market.id] = market
        self.markets_by_slug[market.slug] = market
        self.markets_by_condition[market.condition_id] = market
        for i, token in enumerate(market.tokens):
            self.tokens[token] = (market, i)

    # ------------------------------------------------------------------ pricing
    def update_targets(self, game: Game) -> None:
        """Fair token-0 prices of a game's markets from its score and remaining time."""
        state = game.state
        if state.phase in (CANCELLED,):
            for market in game.markets():
                market.target = 500
            return
        prof = game.league.lines
        if game.model.kind == "tennis":
            ga = sum(x for x, _ in state.sets)
            gb = sum(y for _, y in state.sets)
        else:
            ga, gb = state.score_a, state.score_b
        r = game.model.progress_fraction(state, game.prog)
        final = state.phase == FINAL
        m = (ga - gb) + game.margin * r
        s = prof.margin_sd * math.sqrt(r) + 0.35
        tot = (ga + gb) + game.total_mu * r
        st = prof.total_sd * math.sqrt(r) + 0.35
        a_wins = state.score_a > state.score_b
        for market in game.markets():
            if market.closed:
                continue
            kind, idx, line = market.spec
            if kind == "ml":
                p = (1.0 if a_wins else 0.0) if final else 1.0 - normal_cdf(-m / s)
            elif kind == "yes":
                p_a = 1.0 - normal_cdf((0.5 - m) / s)
                p_b = normal_cdf((-0.5 - m) / s)
                p = p_a if idx == 0 else p_b if idx == 1 else 1.0 - p_a - p_b
            elif kind == "spread":
                mf = m if idx == 0 else -m
                p = 1.0 - normal_cdf((line - mf) / s)
            else:
                p = 1.0 - normal_cdf((line - tot) / st)
            market.target = round(min(max(p, 0.003), 0.997) * 1000)

    def create_books(self, game: Game, now_ms: int) -> None:
        for market in game.markets():
            if market.book is None and not market.closed:
                self.create_book(market, now_ms)

    def create_book(self, market: Market, now_ms: int) -> Book:
        rng = random.Random(f"{self.seed}:book:{market.id}")
        fair = market.target / 1000
        market.tick = 10 if 0.04 <= fair <= 0.96 else 1
        depth = 0.95 if market.main else max(0.2, 0.6 - rng.random() * 0.3)
        if market.frozen:
            depth = 0.25
        book = Book(market.condition_id, market.tokens, market.tick, market.neg_risk,
                    now_ms - rng.randint(1_000, 600_000))
        book.populate(rng, fair, depth)
        if rng.random() < 0.85:
            book.ltp = max(1, min(999, market.target + rng.randint(-2, 2) * market.tick))
        market.book = book
        return book

    def close_market(self, market: Market, now_ms: int) -> None:
        """Resolve a market: Gamma shows it closed with 0/1 prices; the CLOB drops its book."""
        state = market.event.game.state
        _kind, _idx, _line = market.spec
        p = market.target / 1000
        if state.phase == FINAL:
            p = 1.0 if p >= 0.5 else 0.0
        market.resolved = ["1", "0"] if p == 1.0 else ["0", "1"] if p == 0.0 else ["0.5", "0.5"]
        market.closed = True
        market.closed_ms = now_ms
        market.book = None
        if all(m.closed for m in market.event.markets):
            market.event.closed = True


def default_mix(leagues: list[str] | None, games: int | None) -> list[str]:
    """League code for each fixture of a day, in creation order."""
    codes = leagues or list(DEFAULT_MIX)
    weights = [DEFAULT_MIX.get(code, 8) for code in codes]
    total_games = games if games is not None else sum(weights)
    scale = total_games / sum(weights)
    counts = [max(0, int(w * scale)) for w in weights]
    i = 0
    while sum(counts) < total_games:
        counts[i % len(counts)] += 1
        i += 1
    out: list[str] = []
    for code, count in zip(codes, counts, strict=True):
        out.extend([code] * count)
    return out


def build_scenario(seed: int, now_ms: int, leagues: list[str] | None = None, games: int | None = None,
                   speed: float = 1.0, resolve_delay_s: float = 600.0) -> Scenario:
    """A realistic day: finished games earlier today, some live, most upcoming, a few cancelled."""
    scenario = Scenario(seed, now_ms, speed, resolve_delay_s)
    for code in leagues or list(DEFAULT_MIX):
        if code not in LEAGUES:
            raise ValueError(f"unknown league {code!r}; known: {', '.join(sorted(LEAGUES))}")
        scenario.ensure_league(code)
    rng = scenario.rng
    for code in default_mix(leagues, games):
        model = model_for(LEAGUES[code].kind, code)
        duration_ms = model.duration_s() * 1000
        u = rng.random()
        phase = PRE
        if u < 0.28:
            offset = -(duration_ms + rng.uniform(600_000, 6 * HOUR_MS))
        elif u < 0.48:
            offset = -rng.uniform(0.05, 0.9) * duration_ms
        elif u < 0.95:
            offset = rng.uniform(300_000, 12 * HOUR_MS)
        elif u < 0.98:
            offset, phase = -rng.uniform(0, 3 * HOUR_MS), CANCELLED
        else:
            offset, phase = rng.uniform(-2 * HOUR_MS, 3 * HOUR_MS), POSTPONED
        kickoff = now_ms + int(offset / speed)
        if speed == 1.0:
            kickoff -= kickoff % 300_000  # real kickoffs sit on 5-minute marks
        scenario.add_game(code, kickoff, now_ms, phase)
    return scenario
