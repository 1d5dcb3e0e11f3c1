"""Shared pieces of the stream tests that run against the simulator."""

from __future__ import annotations

import asyncio
import threading
from decimal import Decimal
from typing import Any

from django.db import connections
from django.test import override_settings

from markets.models import Outcome
from markets.prices import prices_read
from markets.tokenset import token_set_read
from stream.program import StreamConfig, StreamProgram, stream_config_from_settings
from stream.sockets import SocketConfig


def sim_env(service_env: dict[str, str], sim: Any, **extra: str) -> dict[str, str]:
    return {
        **service_env,
        "MEVU_UPSTREAM": "sim",
        "GAMMA_URL": sim.gamma_url,
        "CLOB_URL": sim.clob_url,
        "CLOB_WS_URL": sim.clob_ws_url,
        "SPORTS_WS_URL": sim.sports_ws_url,
        "DATA_API_URL": sim.data_api_url,
        **extra,
    }


def games_ingest(sim: Any) -> set[str]:
    """Run the games pipeline's sync (leagues, teams, games) against the simulator; returns the token set."""
    from jobs.sync import sync_games, sync_leagues, sync_teams

    with override_settings(GAMMA_URL=sim.gamma_url):
        sync_leagues()
        sync_teams()
        sync_games()
    connections.close_all()
    return token_set_read()[1]


def program_config(sim: Any, **socket_overrides: Any) -> StreamConfig:
    sockets = {"url": sim.clob_ws_url, "backoff_max_s": 1.0, **socket_overrides}
    return stream_config_from_settings(
        holder="test-program", clob_url=sim.clob_url, run_sports=False, tokenset_poll_s=0.5,
        sockets=SocketConfig(**sockets),
    )


class ProgramThread:
    """The stream program on its own thread and event loop, stopped like SIGTERM would."""

    def __init__(self, config: StreamConfig) -> None:
        self.config = config
        self.program: StreamProgram | None = None
        self.reason: str | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="stream-program", daemon=True)

    def __enter__(self) -> ProgramThread:
        self._thread.start()
        self._ready.wait(10)
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    def _run(self) -> None:
        async def main() -> None:
            self._loop = asyncio.get_running_loop()
            self._stop = asyncio.Event()
            self.program = StreamProgram(self.config)
            self._ready.set()
            self.reason = await self.program.run(self._stop)

        asyncio.run(main())
        connections.close_all()

    def stop(self, timeout_s: float = 20) -> str | None:
        if self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._stop.set)
            self._thread.join(timeout_s)
        return self.reason


def _num(value: object) -> float | None:
    if value is None or value == "":
        return None
    return float(value)  # type: ignore[arg-type]


def price_differences(sim_books: dict[str, dict[str, Any]], tokens: set[str]) -> dict[str, str]:
    """Tokens whose Redis price or PostgreSQL Outcome row differs from the simulator's book."""
    redis_prices = prices_read(tokens)
    rows = {
        row["token_id"]: row
        for row in Outcome.objects.filter(token_id__in=list(tokens)).values(
            "token_id", "best_bid", "best_ask", "last_trade"
        )
    }
    bad: dict[str, str] = {}
    for token in tokens:
        book = sim_books.get(token)
        if book is None:
            continue  # resolved market: no book upstream either
        want = (_num(book["best_bid"]), _num(book["best_ask"]), _num(book["last_trade_price"]))
        got = redis_prices.get(token)
        have = None if got is None else (got["bid"], got["ask"], got["last"])
        if have != want:
            bad[token] = f"redis {have} != sim {want}"
            continue
        row = rows.get(token)
        db = None if row is None else tuple(
            None if row[k] is None else float(Decimal(row[k])) for k in ("best_bid", "best_ask", "last_trade")
        )
        if db != want:
            bad[token] = f"postgres {db} != sim {want}"
    return bad
