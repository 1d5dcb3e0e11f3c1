"""Headless Chromium (Debian's `chromium` package) driven by Playwright, and page probes for the board tests.

Never `playwright install`: the browser is the system one. Only loopback requests leave the page (team
logos on the upstream CDN are refused, so the fallback badges show and nothing waits on the network).
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
LOOPBACK = ("http://127.0.0.1:", "ws://127.0.0.1:", "data:")

# Installed before any page script: logs every change of a price/score cell on the board with its time,
# the game, the side and whether it flashed. Observation only; the page does not know about it.
CELL_LOG_SCRIPT = """
() => {
  window.__cellLog = [];
  const board = document.getElementById("board");
  new MutationObserver((records) => {
    const t = Date.now();
    for (const r of records) {
      const cell = r.target.nodeType === 1 ? r.target : r.target.parentElement;
      if (!cell || !cell.matches(".prob, .buy, .sell, .score")) continue;
      const row = cell.closest(".row"), team = cell.closest(".team");
      if (!row || !team) continue;
      window.__cellLog.push({t, game: row.dataset.gameId, side: team.classList.contains("home") ? "home" : "away",
        cell: cell.className.split(" ")[0], text: cell.textContent,
        flashed: cell.classList.contains("flash-up") || cell.classList.contains("flash-down")});
    }
  }).observe(board, {subtree: true, childList: true, characterData: true});
}
"""


def chromium_path() -> str:
    """The system Chromium; a clear failure (not a skip) when CI did not install it."""
    found = str(CHROMIUM) if CHROMIUM.exists() else shutil.which("chromium")
    if not found:
        pytest.fail("Debian's chromium is required: apt-get install -y chromium")
    return found


@contextlib.contextmanager
def browser_running() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


class PageWatch:
    """A page restricted to loopback, collecting script errors and CSP violations."""

    def __init__(self, context: Any) -> None:
        self.page = context.new_page()
        self.errors: list[str] = []
        self.page.route("**/*", self._route)
        self.page.on("pageerror", lambda exc: self.errors.append(f"pageerror: {exc}"))
        self.page.on("console", self._console)

    @staticmethod
    def _route(route: Any) -> None:
        if route.request.url.startswith(LOOPBACK):
            route.continue_()
        else:
            route.abort()

    def _console(self, message: Any) -> None:
        text = message.text
        if "Content Security Policy" in text or (message.type == "error" and "ERR_FAILED" not in text):
            self.errors.append(f"console {message.type}: {text}")

    def ready(self, timeout_s: float = 20) -> None:
        self.page.wait_for_selector("body[data-ready=true]", state="attached", timeout=timeout_s * 1000)


def home_cents(value: float | None, *, ask: bool) -> float | None:
    """What FrontendGame shows for a best ask (buy) or best bid (sell), in cents; None when one-sided."""
    if value is None:
        return None
    if ask and not 0 < value < 1:
        return None
    if not ask and not value > 0:
        return None
    return round(value * 1000) / 10


def cents_parse(text: str) -> float | None:
    text = text.strip().rstrip("¢")
    try:
        return float(text)
    except ValueError:
        return None
