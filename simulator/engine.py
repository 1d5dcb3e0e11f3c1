"""The tick loop: price changes at ``--rate``, game progression, Gamma lag, new games, housekeeping.

Time is cut into fixed ticks; tick ``n`` has the timestamp ``anchor_ms + (n - anchor_tick) * dt``.
Everything that happens in a tick is drawn from seeded generators in a fixed order, so a given seed
produces the same frame sequence whatever the wall-clock jitter (and, with ``--epoch-ms``, the same
timestamps and hashes too).
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import logging
import random
import time
from collections import deque
from dataclasses import dataclass

from .books import (
    Book,
    best_bid_ask_frame,
    last_trade_frame,
    price_change_frame,
    tick_size_frame,
)
from .conn import Stats
from .gameplay import FINAL, LIVE, POSTPONED, PRE, GameState
from .scenario import Game, Market, Scenario
from .ws_market import MarketHub
from .ws_sports import SportsHub, sports_frame

log = logging.getLogger("simulator.engine")

TICK_MS = 20
MAX_CATCHUP_TICKS = 50  # beyond ~1 s of backlog the clock is re-anchored instead of bursting


class Clock:
    """Simulated wall clock in epoch ms.

    By default it is the real clock. With ``--epoch-ms`` it is pinned: it starts at that instant
    and stands still while the simulator is paused, so two runs with the same seed and the same
    subscribe/resume sequence produce byte-identical frames (timestamps and hashes included).
    """

    def __init__(self, epoch_ms: int | None = None, paused: bool = False) -> None:
        self.pinned = epoch_ms is not None
        self.start_ms = epoch_ms if epoch_ms is not None else int(time.time() * 1000)
        self._mono0 = time.monotonic()
        self._paused_at: float | None = self._mono0 if (paused and self.pinned) else None
        self._paused_total = 0.0

    def now_ms(self) -> int:
        now = self._paused_at if self._paused_at is not None else time.monotonic()
        return self.start_ms + int((now - self._mono0 - self._paused_total) * 1000)

    def pause(self) -> None:
        if self.pinned and self._paused_at is None:
            self._paused_at = time.monotonic()

    def resume(self) -> None:
        if self._paused_at is not None:
            self._paused_total += time.monotonic() - self._paused_at
            self._paused_at = None


@dataclass
class EngineConfig:
    rate: float = 50.0
    gamma_lag_s: float = 2.0
    trade_prob: float = 0.03
    sports_duplicate_prob: float = 0.02
    new_game_every_s: float = 900.0  # at game speed 1; 0 disables
    paused: bool = False


class Engine:
    def __init__(self, scenario: Scenario, markets: MarketHub, sports: SportsHub, stats: Stats, clock: Clock,
                 cfg: EngineConfig) -> None:
        self.scenario = scenario
        self.markets = markets
        self.sports = sports
        self.stats = stats
        self.clock = clock
        self.cfg = cfg
        self.rate = cfg.rate
        self.paused = cfg.paused
        seed = scenario.seed
        self.rng = random.Random(f"{seed}:prices")
        self.misc_rng = random.Random(f"{seed}:misc")
        self.tick = 0
        self.anchor_tick = 0
        self.anchor_ms = clock.start_ms
        self._acc = 0.0
        self.open: list[Market] = []
        self._open_pos: dict[str, int] = {}
        self.hot: list[Market] = []
        self._heap: list[tuple[int, int, Game]] = []
        self._seq = 0
        self._gamma_queue: deque[tuple[int, Game, GameState]] = deque()
        self._next_new_game_ms = self._new_game_due(clock.start_ms)
        for market in scenario.markets:
            self._track(market)
        for game in scenario.games:
            self._schedule(game)
        self._rebuild_hot()
        self._tasks: list[asyncio.Task[None]] = []

    # ------------------------------------------------------------------ bookkeeping
    def _track(self, market: Market) -> None:
        if market.book is not None and not market.closed and not market.frozen and market.id not in self._open_pos:
            self._open_pos[market.id] = len(self.open)
            self.open.append(market)

    def _untrack(self, market: Market) -> None:
        pos = self._open_pos.pop(market.id, None)
        if pos is None:
            return
        last = self.open.pop()
        if last is not market:
            self.open[pos] = last
            self._open_pos[last.id] = pos

    def _rebuild_hot(self) -> None:
        self.hot = [m for g in self.scenario.games if g.state.phase == LIVE for m in g.markets()
                    if m.id in self._open_pos]

    def _schedule(self, game: Game) -> None:
        if game.held:
            return
        if game.forced and game.state.phase != FINAL:
            return  # forced games leave automatic progression; only market resolution remains
        due = self.scenario.next_due_ms(game)
        if due is not None:
            self._seq += 1
            heapq.heappush(self._heap, (due, self._seq, game))

    def _new_game_due(self, after_ms: int) -> int | None:
        every = self.cfg.new_game_every_s
        if every <= 0:
            return None
        return after_ms + int(every * 1000 / self.scenario.speed)

    def tick_ms(self) -> int:
        return self.anchor_ms + (self.tick - self.anchor_tick) * TICK_MS

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._tasks = [loop.create_task(self._run()), loop.create_task(self._housekeeping())]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def pause(self) -> None:
        self.paused = True
        self.clock.pause()

    def resume(self) -> None:
        if not self.paused:
            return
        if self.clock.pinned:
            self.clock.resume()  # the pinned clock stood still: ticks simply continue
        else:
            # Re-anchor so resumed ticks carry current timestamps instead of catching up the pause.
            self.anchor_tick = self.tick
            self.anchor_ms = self.clock.now_ms()
        self.paused = False

    async def _run(self) -> None:
        while True:
            if self.paused:
                # Forced game states still reach Gamma after the lag while movement is paused.
                self._gamma(self.clock.now_ms())
                await asyncio.sleep(TICK_MS / 1000)
                continue
            now = self.clock.now_ms()
            behind = (now - self.tick_ms()) // TICK_MS
            if behind > MAX_CATCHUP_TICKS:
                self.anchor_tick = self.tick
                self.anchor_ms = now - TICK_MS * MAX_CATCHUP_TICKS
                behind = MAX_CATCHUP_TICKS
            for _ in range(max(0, behind)):
                if self.paused:
                    break
                self.step()
            wait_ms = self.tick_ms() + TICK_MS - self.clock.now_ms()
            await asyncio.sleep(max(wait_ms, 1) / 1000)

    async def _housekeeping(self) -> None:
        while True:
            await asyncio.sleep(0.25)
            try:
                self.markets.sweep()
                self.sports.heartbeat_tick()
            except Exception:  # housekeeping must never die; log and go on
                log.exception("housekeeping failed")

    # ------------------------------------------------------------------ one tick
    def step(self) -> None:
        """Advance one tick: games first (so prices react to scores), then price changes."""
        self.tick += 1
        ts = self.tick_ms()
        self._games(ts)
        self._gamma(ts)
        self._acc += self.rate * TICK_MS / 1000
        n = int(self._acc)
        self._acc -= n
        for i in range(n):
            self.price_step(ts + (i * TICK_MS) // n)

    def _games(self, ts: int) -> None:
        heap = self._heap
        while heap and heap[0][0] <= ts:
            _, _, game = heapq.heappop(heap)
            self.advance_game(game, ts)
        if self._next_new_game_ms is not None and ts >= self._next_new_game_ms:
            self._next_new_game_ms = self._new_game_due(ts)
            self.add_games(None, 1, None, ts)

    def advance_game(self, game: Game, ts: int) -> None:
        state = game.state
        if state.phase == FINAL:
            due = self.scenario.next_due_ms(game)
            if due is not None and due <= ts:
                for market in game.markets():
                    if not market.closed:
                        self.scenario.close_market(market, ts)
                        self._untrack(market)
                self._rebuild_hot()
            else:
                self._schedule(game)
            return
        before = state.phase
        if not game.forced and self.scenario.settle(game, ts):
            self.publish_game(game, ts)
        if state.phase != before:
            self._rebuild_hot()
        self._schedule(game)

    def publish_game(self, game: Game, ts: int) -> None:
        """Broadcast the socket state now; Gamma shows it after the configured lag."""
        frame = sports_frame(game, game.state, ts)
        self.sports.broadcast(frame, duplicate=self.misc_rng.random() < self.cfg.sports_duplicate_prob)
        self._gamma_queue.append((ts + int(self.cfg.gamma_lag_s * 1000), game, game.state.copy()))

    def _gamma(self, ts: int) -> None:
        queue = self._gamma_queue
        while queue and queue[0][0] <= ts:
            _, game, snapshot = queue.popleft()
            game.gamma = snapshot
            game.gamma_updated_ms = ts

    # ------------------------------------------------------------------ prices
    def price_step(self, ts: int) -> None:
        rng = self.rng
        pool = self.hot if self.hot and rng.random() < 0.5 else self.open
        if not pool:
            return
        market = pool[rng.randrange(len(pool))]
        book = market.book
        assert book is not None
        if rng.random() < self.cfg.trade_prob:
            trade = book.propose_trade(rng, market.target)
            if trade is not None:
                tx = f"0x{rng.getrandbits(256):064x}"
                book.ltp = trade.price
                book.apply(trade.change, ts)
                market.fills.append((ts, trade.token, trade.taker_side, trade.price / 1000, float(trade.size), tx))
                self.stats.trades += 1
                hub = self.markets
                if hub.market_subscribers(market):
                    hub.publish_token(book.tokens[trade.token], last_trade_frame(book, trade, ts, tx),
                                      "last_trade_price")
                    for token in (0, 1):
                        hub.publish_token(book.tokens[token], book.snapshot_frame(token), "book")
                self._after_change(market, book, ts)
                return
        change = book.propose(rng, market.target)
        origin = 0 if rng.random() < 0.5 else 1
        before = (book.best(0), book.best(1)) if self.markets.market_subscribers(market) else None
        book.apply(change, ts)
        self.stats.price_changes += 1
        if before is not None:
            self.markets.publish_market(market, price_change_frame(book, change, origin, ts), "price_change")
            self._custom_best(market, book, before, ts)
        self._after_change(market, book, ts)

    def _custom_best(self, market: Market, book: Book, before: tuple[object, object], ts: int) -> None:
        for token in (0, 1):
            if book.best(token) != before[token]:
                for conn in self.markets.custom_subscribers(book.tokens[token]):
                    conn.send(best_bid_ask_frame(book, token, ts), "best_bid_ask")

    def _after_change(self, market: Market, book: Book, ts: int) -> None:
        transition = book.tick_transition()
        if transition is None:
            return
        old, new = transition
        book.set_tick(new, ts)
        market.tick = new
        hub = self.markets
        if hub.market_subscribers(market):
            for token in (0, 1):
                hub.publish_token(book.tokens[token], tick_size_frame(book, token, old, new, ts), "tick_size_change")
            if new > old:  # levels were snapped onto the coarser grid: resend the books
                for token in (0, 1):
                    hub.publish_token(book.tokens[token], book.snapshot_frame(token), "book")

    # ------------------------------------------------------------------ control
    def add_games(self, league: str | None, count: int, kickoff_in_s: float | None, ts: int) -> list[Game]:
        scenario = self.scenario
        codes = scenario.league_codes() or list(scenario.leagues)
        out = []
        for _ in range(count):
            code = league or codes[self.misc_rng.randrange(len(codes))]
            if kickoff_in_s is None:
                kickoff = ts + int(self.misc_rng.uniform(2 * 3_600_000, 12 * 3_600_000) / scenario.speed)
            else:
                kickoff = ts + int(kickoff_in_s * 1000)
            game = scenario.add_game(code, kickoff, ts, PRE)
            for market in game.markets():
                self._track(market)
                self.markets.on_new_market(market)
            self._schedule(game)
            out.append(game)
        return out

    def move_book(self, market: Market, token: int, best_bid: int, best_ask: int, ts: int) -> None:
        """Re-seat a book at a new touch (thousandths, of ``token``), as a large order would; subscribers
        get ``book`` snapshots of both tokens and the random walk continues from there."""
        book = market.book
        assert book is not None
        if token == 1:
            best_bid, best_ask = 1000 - best_ask, 1000 - best_bid
        book.bids.clear()
        book.asks.clear()
        book.populate(random.Random(f"{self.scenario.seed}:move:{market.id}:{ts}"), (best_bid + best_ask) / 2000,
                      0.9 if market.main else 0.5, (best_bid, best_ask))
        book.touch(ts)
        market.target = (best_bid + best_ask) // 2
        if self.markets.market_subscribers(market):
            for index in (0, 1):
                self.markets.publish_token(book.tokens[index], book.snapshot_frame(index), "book")

    def force(self, game: Game, changes: dict[str, object], ts: int) -> None:
        """Apply a forced state; the game then leaves automatic progression."""
        state = game.state
        game.forced = True
        game.held = False
        if "score" in changes:
            _apply_score(game, str(changes["score"]))
        if "period" in changes:
            state.period = str(changes["period"])
        if "elapsed" in changes:
            state.elapsed = str(changes["elapsed"])
        if changes.get("postponed") is True:
            state.phase = POSTPONED
            state.period = "POST"
            state.elapsed = ""
        elif changes.get("ended") is True:
            state.phase = FINAL
            state.finished_ms = ts
            if "period" not in changes:
                state.period = "FT"
            state.elapsed = ""
        elif changes.get("live") is True:
            state.phase = LIVE
        elif changes.get("live") is False and changes.get("ended") is False:
            state.phase = PRE
        self.scenario.update_targets(game)
        self.publish_game(game, ts)
        self._rebuild_hot()
        self._schedule(game)


def _apply_score(game: Game, score: str) -> None:
    state = game.state
    if game.model.kind == "tennis":
        sets = []
        for part in score.split(","):
            a, _, b = part.strip().partition("-")
            if a.isdigit() and b.isdigit():
                sets.append((int(a), int(b)))
        state.sets = sets or [(0, 0)]
        state.score_a = sum(1 for x, y in state.sets[:-1] if x > y)
        state.score_b = sum(1 for x, y in state.sets[:-1] if y > x)
        return
    a, _, b = score.partition("-")
    if a.strip().isdigit() and b.strip().isdigit():
        state.score_a, state.score_b = int(a), int(b)


__all__ = ["Clock", "Engine", "EngineConfig"]
