"""Every coalescing window: the newest price of each token that changed goes to the Redis hash (fenced), then
as price_update events to clients, then into the batch PostgreSQL gets once per persist period.

The window is per game, as the hub's is per topic: the loop looks every quarter window and sends a game's
changed tokens as soon as that game's previous event is a window old. A change on a quiet game therefore leaves
within a quarter window, instead of waiting for a global fixed-phase tick (on average half a window, plus the
flush time, which the fixed period added on top), and a busy game still gets at most one event per window.
"""

from __future__ import annotations

import collections
import logging
import time
from collections.abc import Callable
from typing import Any

from actions.announce import Publish
from actions.prices import do_persist_stream_prices, do_write_prices
from core.errors import StaleFenceError
from core.lease import Fence
from markets.prices import TokenPrice
from stream.books import StreamCounters
from stream.feed import BookStore, book_price
from stream.gameindex import GameIndex
from stream.loops import DbThread
from stream.resnapshot import Resnapshotter

log = logging.getLogger("mevu.stream")


def _same_quote(a: TokenPrice, b: TokenPrice) -> bool:
    return a["bid"] == b["bid"] and a["ask"] == b["ask"] and a["last"] == b["last"]


class PriceWindow:
    def __init__(self, store: BookStore, counters: StreamCounters, resnapshot: Resnapshotter, publish: Publish,
                 fence: Callable[[], Fence], window_s: float) -> None:
        self.store, self.counters, self.resnapshot = store, counters, resnapshot
        self.publish, self.fence, self.window_s = publish, fence, window_s
        self.sent_at: dict[str, float] = {}  # game id -> monotonic time of its last event
        self.index = GameIndex()
        self.latest: dict[str, TokenPrice] = {}
        self.persist_pending: dict[str, TokenPrice] = {}
        self._suspects: dict[str, float] = {}  # token whose hash mismatched once -> when; re-checked a window later

    def forget(self, tokens: set[str]) -> None:
        """Tokens no longer streamed."""
        for token in tokens & set(self.latest):
            del self.latest[token]
        self.sent_at = {game: at for game, at in self.sent_at.items() if game in self.index.views}

    def take_due(self, now: float) -> set[str]:
        """Take the dirty tokens whose game's last event is a window old (tokens of no game at once); the others
        stay dirty for a later look."""
        dirty, refs, sent_at, window = self.store.dirty, self.index.tokens, self.sent_at, self.window_s
        suspects = self._suspects
        due = set()
        for token in dirty:
            if token in suspects and now - suspects[token] < window:
                continue
            ref = refs.get(token)
            if ref is None or now - sent_at.get(ref.game_id, -window) >= window:
                due.add(token)
        dirty.difference_update(due)
        return due

    async def flush_due(self) -> int:
        """One look (stream.program runs it every quarter window): publish what take_due finds due."""
        due = self.take_due(time.monotonic())
        return await self.flush(due) if due else 0

    async def flush(self, tokens: set[str] | None = None) -> int:
        """Publish the newest price of `tokens` (default: every changed token); returns how many moved."""
        now = time.monotonic()
        changed = self._changed(self.store.take_dirty() if tokens is None else tokens)
        if not changed:
            return 0
        events = self.index.events_for(changed, collections.ChainMap(changed, self.latest))
        try:
            sent = await do_write_prices(self.fence(), changed, events, self.publish)
        except StaleFenceError:
            raise
        except Exception as exc:  # Redis hiccup: keep the tokens dirty, the next window retries
            self.counters.publish_errors += 1
            self.store.dirty.update(changed)
            log.warning("price hash write failed: %r", exc)
            return 0
        self.latest.update(changed)
        self.persist_pending.update(changed)
        for event in events:
            self.sent_at[event["game"]["id"]] = now
        if sent:
            self.counters.published += len(events)
        else:
            self.counters.publish_errors += 1
        return len(changed)

    def _changed(self, dirty: set[str]) -> dict[str, TokenPrice]:
        """The verified new quote of every dirty token whose quote moved."""
        changed: dict[str, TokenPrice] = {}
        recheck: set[str] = set()
        for token in dirty:
            book = self.store.books.get(token)
            if book is None:
                continue
            if self._verified(token, book) is None:
                recheck.add(token)
            price = book_price(book)
            previous = self.latest.get(token)
            if previous is None or not _same_quote(previous, price):
                changed[token] = price
        self.store.dirty.update(recheck)
        return changed

    def _verified(self, token: str, book: Any) -> bool | None:
        """A mismatch gets a second look one window later before the REST repair: frames of one market travel
        on the sockets of both its tokens, so the explaining frame can be a moment behind. None = look again."""
        second_look = token in self._suspects
        verified = book.verify_pending(keep_on_mismatch=not second_look)
        if verified is True:
            self.counters.hash_ok += 1
            self._suspects.pop(token, None)
        elif verified is False and second_look:
            del self._suspects[token]
            self.counters.hash_mismatch += 1
            self.resnapshot.request(token)
        elif verified is False:
            self._suspects[token] = time.monotonic()
            return None
        return verified

    async def persist(self, db: DbThread) -> int:
        """Write the prices of the windows since the last call to PostgreSQL in one fenced transaction."""
        if not self.persist_pending:
            return 0
        batch, self.persist_pending = self.persist_pending, {}
        index = self.index
        live_tokens = {t for t, ref in index.tokens.items() if t in batch and _is_live(index, ref.game_id)}
        game_ids = {index.tokens[t].game_id for t in batch if t in index.tokens}
        games = [index.views[g] for g in game_ids if g in index.views and not index.views[g].ended]
        needed = {o.token_id for view in games for o in _moneyline(view)}
        prices = {t: self.latest[t] for t in needed if t in self.latest}
        try:
            updated = await db.run(do_persist_stream_prices, self.fence(), batch, live_tokens, games, prices)
        except StaleFenceError:
            raise
        except Exception as exc:  # keep the batch; newer prices that arrived meanwhile win
            for token, price in batch.items():
                self.persist_pending.setdefault(token, price)
            log.warning("price persist failed: %r", exc)
            return 0
        self.counters.persisted += updated
        return updated


def _is_live(index: GameIndex, game_id: str) -> bool:
    view = index.views.get(game_id)
    return view is not None and view.live


def _moneyline(view: Any) -> list[Any]:
    roles = view.moneyline
    return [o for o in (roles.home, roles.away, roles.draw) if o is not None]
