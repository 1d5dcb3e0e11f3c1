"""REST re-snapshots: repair books the socket left wrong or stale (rate-limited).

There are no sequence numbers on the socket (README §3.6): a frame lost to corruption is only visible
as a hash mismatch on the token's NEXT change, and a lost last frame or lost subscription dump is not
visible at all. So books are repaired from `POST /books` in three cases, most urgent first:
  1. hash mismatch (at most once per token per `per_token_s`),
  2. tokens whose subscription dump never arrived (`dump_grace_s` after subscribing),
  3. a slow background sweep over every token (`sweep_every_s`), which bounds how long any loss can last.
CLOB allows 500 `/books` requests per 10 s; we stay far below with `per_s` requests of `batch` tokens.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import httpx

from core import metrics
from core.aio import event_wait
from core.tls import tls_context
from stream.feed import BookStore

log = logging.getLogger("mevu.stream.resnapshot")


class Resnapshotter:
    def __init__(
        self,
        store: BookStore,
        clob_url: str,
        *,
        per_s: float,
        batch: int = 50,
        per_token_s: float = 10.0,
        dump_grace_s: float = 5.0,
        sweep_every_s: float = 60.0,
        timeout_s: float = 10.0,
    ) -> None:
        self.store = store
        self.clob_url = clob_url
        self.interval = 1.0 / per_s
        self.batch = batch
        self.per_token_s = per_token_s
        self.dump_grace_s = dump_grace_s
        self.sweep_every_s = sweep_every_s
        self.timeout_s = timeout_s
        self._urgent: dict[str, None] = {}  # ordered sets
        self._sweep: dict[str, None] = {}
        self._last: dict[str, float] = {}
        self._awaiting_since: dict[str, float] = {}
        self._next_sweep = time.monotonic() + sweep_every_s
        self._wake = asyncio.Event()

    def request(self, token: str) -> bool:
        """Queue a token whose hash did not verify."""
        if token in self._urgent or time.monotonic() - self._last.get(token, -1e9) < self.per_token_s:
            return False
        self._urgent[token] = None
        self._wake.set()
        return True

    def _collect(self) -> None:
        """Lost dumps become urgent; the periodic sweep queues every token."""
        now = time.monotonic()
        awaiting = self.store.awaiting_dump
        for token in list(self._awaiting_since):
            if token not in awaiting:
                del self._awaiting_since[token]
        for token in awaiting:
            since = self._awaiting_since.setdefault(token, now)
            if now - since >= self.dump_grace_s and token not in self._urgent:
                self._urgent[token] = None
                self._awaiting_since[token] = now
        if self.sweep_every_s > 0 and now >= self._next_sweep:
            self._next_sweep = now + self.sweep_every_s
            self._sweep = dict.fromkeys(self.store.books)

    def _take(self) -> list[str]:
        tokens: list[str] = []
        for queue in (self._urgent, self._sweep):
            while queue and len(tokens) < self.batch:
                token = next(iter(queue))
                del queue[token]
                if token in self.store.books and token not in tokens:
                    tokens.append(token)
        return tokens

    async def run(self) -> None:
        async with httpx.AsyncClient(base_url=self.clob_url, timeout=self.timeout_s, verify=tls_context()) as client:
            while True:
                self._collect()
                tokens = self._take()
                if not tokens:
                    self._wake.clear()
                    await event_wait(self._wake, 1.0)
                    continue
                now = time.monotonic()
                for token in tokens:
                    self._last[token] = now
                pause = await self._fetch(client, tokens)
                await asyncio.sleep(max(self.interval, pause))

    async def _fetch(self, client: httpx.AsyncClient, tokens: list[str]) -> float:
        """One `/books` request; returns how long to wait before the next one (Retry-After on a 429).
        Tokens of a failed request are queued again (found by tests/reliability/test_upstream_faults.py:
        a 429 was answered by the next request 0.2 s later and its tokens were dropped)."""
        try:
            response = await client.post("/books", json=[{"token_id": t} for t in tokens])
            metrics.upstream_http("clob", response.status_code)
            if response.status_code != 200:
                log.info("re-snapshot of %s tokens: HTTP %s", len(tokens), response.status_code)
                self._urgent.update(dict.fromkeys(tokens))
                return _retry_after_s(response.headers.get("Retry-After")) if response.status_code == 429 else 0.0
            body: Any = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            if isinstance(exc, httpx.TransportError):
                metrics.upstream_http("clob", None)
            log.info("re-snapshot of %s tokens failed: %r", len(tokens), exc)
            self._urgent.update(dict.fromkeys(tokens))
            return 0.0
        for book in body if isinstance(body, list) else ():
            try:
                if isinstance(book, dict) and self.store.apply_rest_book(book):
                    self.store.counters.resnapshots += 1
            except (KeyError, TypeError, ValueError):
                self.store.counters.malformed += 1
        return 0.0


def _retry_after_s(value: str | None) -> float:
    """Retry-After in seconds (delta form; an HTTP-date or garbage counts as 1 s), at most a minute."""
    try:
        return min(60.0, max(0.0, float(value or "")))
    except ValueError:
        return 1.0
