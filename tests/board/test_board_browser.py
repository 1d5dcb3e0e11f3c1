"""The live board in a real browser against the real system: simulator -> games sync -> stream worker
(Celery, queue `stream`) -> Redis -> the production HTTP server (daphne + drain) -> headless Chromium.

One setup, several behaviours (each phase is a user-visible promise of issue 10):
  1. `/` shows the games, grouped by sport, with kickoff in the viewer's time zone;
  2. a price change made by the simulator reaches the row within 2 s, and the cell flashes;
  3. the sport and status filters change the rows;
  4. a game page shows every market of the game and a price-history chart;
  5. at 375 px: no horizontal scroll, readable rows (font >= 12 px, abbreviations visible);
  6. after the server restarts, the page reconnects and resumes with the last seq it saw.
Screenshots go to .data/test-artifacts/board-*.png.
"""

from __future__ import annotations

import datetime as dt
import sys
import time
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import orjson
import pytest

from jobs.stream import stream_run
from markets.prices import prices_read
from readmodels.frontend import game_views_load
from simulator.testing import run_simulator
from tests.board.browser import CELL_LOG_SCRIPT, PageWatch, browser_running, cents_parse, home_cents
from tests.conftest import ARTIFACTS, free_port, httpserver_argv, wait_until
from tests.stream.simhelpers import games_ingest, sim_env

pytestmark = [pytest.mark.timeout(240), pytest.mark.django_db(transaction=True)]

VIEWER_TZ = "America/New_York"
LATENCY_LIMIT_S = 2.0


def _http_server(spawn: Any, env: dict[str, str], port: int, name: str) -> Any:
    """What `make run` serves with: on SIGTERM it stops listening before it closes the sockets with 1001, so a
    page reconnecting during a restart is refused (plain daphne kept accepting while it shut down and then
    dropped those connections before their handshake)."""
    proc = spawn(name, httpserver_argv(port), env)
    wait_until(lambda: httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200, 30, 0.2)
    return proc


def _stream_worker(spawn: Any, env: dict[str, str]) -> Any:
    argv = [sys.executable, "-m", "celery", "-A", "mevu", "worker", "-Q", "stream", "-c", "1",
            "--prefetch-multiplier", "1", "-n", f"board-stream-{time.time_ns()}@%h", "--without-mingle",
            "--without-gossip", "-l", "INFO"]
    worker = spawn("board-stream", argv, env)
    wait_until(lambda: "ready." in worker.log(), 60, 0.2)
    stream_run.apply_async()  # what the watchdog (beat) enqueues in production
    return worker


def _rows(page: Any) -> list[dict[str, str]]:
    return page.eval_on_selector_all(
        "#board .row",
        "rows => rows.map(r => ({id: r.dataset.gameId, slug: r.dataset.slug, status: r.dataset.status, "
        "sport: r.closest('section').dataset.sport, when: (r.querySelector('.badge').textContent + ' ' + "
        "r.querySelector('.when-sub').textContent).replace(/[\\u202f\\u00a0]/g, ' ')}))",
    )


def _home_tokens(views: dict[str, Any], game_ids: list[str], streamed: set[str]) -> dict[str, str]:
    """home moneyline token -> game id, for games whose tokens the stream worker follows."""
    out = {}
    for gid in game_ids:
        view = views.get(gid)
        home = view.moneyline.home if view is not None else None
        if home is not None and home.token_id in streamed:
            out[home.token_id] = gid
    return out


def _book_quote(books: dict[str, Any], token: str) -> tuple[float | None, float | None]:
    book = books.get(token) or {}
    bid, ask = book.get("best_bid"), book.get("best_ask")
    return (None if bid is None else float(bid), None if ask is None else float(ask))


def _two_sided(books: dict[str, Any], token: str) -> bool:
    bid, ask = _book_quote(books, token)
    return home_cents(bid, ask=False) is not None and home_cents(ask, ask=True) is not None


ROW_QUOTES_SCRIPT = """
(ids) => Object.fromEntries(ids.map((id) => {
  const team = document.querySelector(`#board .row[data-game-id="${id}"] .team.home`);
  const text = (cell) => team?.querySelector(cell)?.textContent ?? "";
  return [id, {buy: text(".buy"), sell: text(".sell")}];
}))
"""


def _row_quotes(page: Any, game_ids: list[str]) -> dict[str, dict[str, float | None]]:
    """What the watched rows show for the home side, read in one call."""
    shown = page.evaluate(ROW_QUOTES_SCRIPT, game_ids)
    return {gid: {cell: cents_parse(text) for cell, text in cells.items()} for gid, cells in shown.items()}


def _measure_price_latency(page: Any, sim: Any, watched: dict[str, str]) -> tuple[float, str]:
    """Wait for the simulator to move one watched book; seconds from that change to the row showing it.

    The change time is bounded from below by the start of the last poll that still saw the old book,
    so the figure can only overstate the latency. The simulator is paused once a change is seen, so
    the expected final price is known exactly. Each poll also reads what the rows show, just after it: a change
    whose final price the row already showed then is passed over (a book that moved and moved back before the
    pause, A -> B -> A, leaves the row as it was: the stream rightly sends nothing), so the row must change after
    the change time.
    """
    games = sorted(set(watched.values()))
    before, before_at, rows_before = sim.control("GET", "/_sim/books"), time.time(), _row_quotes(page, games)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        polled_at = time.time()
        now = sim.control("GET", "/_sim/books")
        rows_now = _row_quotes(page, games)
        moved = [t for t in watched if _book_quote(now, t) != _book_quote(before, t) and _two_sided(now, t)]
        if moved:
            sim.control("POST", "/_sim/pause")
            final = sim.control("GET", "/_sim/books")
            token = moved[0]
            bid, ask = _book_quote(final, token)
            want = {"buy": home_cents(ask, ask=True), "sell": home_cents(bid, ask=False)}
            since_before = _book_quote(final, token) == _book_quote(now, token)
            changed_from, rows_then = (before_at, rows_before) if since_before else (polled_at, rows_now)
            if _two_sided(final, token) and rows_then[watched[token]] != want:
                break
            sim.control("POST", "/_sim/resume")
            now = final
        before, before_at, rows_before = now, polled_at, rows_now
        time.sleep(0.03)
    else:
        pytest.fail("the simulator moved none of the watched books in 30 s")
    game_id = watched[token]

    def shown_at() -> float | None:
        state: dict[str, float | None] = {}
        for entry in page.evaluate("window.__cellLog"):
            if entry["game"] != game_id or entry["side"] != "home" or entry["cell"] not in want:
                continue
            if entry["t"] / 1000 < changed_from:
                continue
            state[entry["cell"]] = cents_parse(entry["text"])
            if all(state.get(cell, _dom_value(page, game_id, cell)) == value for cell, value in want.items()):
                return entry["t"] / 1000
        return None

    shown = wait_until(shown_at, 10, 0.05)
    sim.control("POST", "/_sim/resume")
    return float(shown) - changed_from, game_id  # type: ignore[arg-type]


def _dom_value(page: Any, game_id: str, cell: str) -> float | None:
    text = page.text_content(f'#board .row[data-game-id="{game_id}"] .team.home .{cell}')
    return cents_parse(text or "")


def _narrow_checks(page: Any) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, f"horizontal scroll at 375 px: scrollWidth {width}"
    fonts = page.eval_on_selector_all(
        "#board .row",
        "rows => rows.flatMap(r => [...r.querySelectorAll('*')].filter(e => e.childElementCount === 0 && "
        "e.textContent.trim()).map(e => parseFloat(getComputedStyle(e).fontSize)))",
    )
    assert fonts and min(fonts) >= 12, f"row text smaller than 12 px: {min(fonts)}"
    abbrs = page.eval_on_selector_all(
        "#board .row .abbr",
        "els => els.map(e => { const r = e.getBoundingClientRect(); "
        "return {text: e.textContent, w: r.width, right: r.right, visible: getComputedStyle(e).visibility}; })",
    )
    assert abbrs and all(a["text"] and a["w"] >= 16 and a["right"] <= 375 and a["visible"] == "visible"
                         for a in abbrs), abbrs[:5]


def test_live_board_in_a_browser(service_env: dict[str, str], spawn: Any) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    started, marks = time.monotonic(), {}
    with run_simulator(seed=21, rate=150, extra_args=("--games", "24")) as sim:
        streamed = games_ingest(sim)
        assert streamed, "the games sync published no tokens"
        env = sim_env(service_env, sim)
        _stream_worker(spawn, env)
        wait_until(lambda: len(prices_read(streamed)) >= len(streamed) * 0.9, 60, 0.3)
        port = free_port()
        server = _http_server(spawn, env, port, "board-http")
        base = f"http://127.0.0.1:{port}"
        views = game_views_load()  # before the browser: Playwright's sync API runs an event loop here

        shell = httpx.get(base + "/")
        assert shell.status_code == 200
        assert "script-src 'self'" in shell.headers["content-security-policy"]
        assert "<script>" not in shell.text  # no inline code: every script is a static file
        assert httpx.get(base + "/games/not a slug").status_code == 404

        marks["setup"] = time.monotonic() - started
        with browser_running() as browser:
            context = browser.new_context(viewport={"width": 1200, "height": 900}, timezone_id=VIEWER_TZ,
                                          locale="en-US")
            watch = PageWatch(context)
            page = watch.page
            sockets: list[Any] = []
            page.on("websocket", lambda ws: sockets.append(ws))
            page.goto(base + "/")
            watch.ready()
            page.evaluate(CELL_LOG_SCRIPT)

            # 1. Games, grouped by sport, kickoff in the viewer's time zone.
            listed = httpx.get(base + "/api/games/frontend?limit=100").json()["games"]
            rows = _rows(page)
            assert {g["id"] for g in listed} <= {r["id"] for r in rows}
            sports = {r["sport"] for r in rows}
            assert len(sports) >= 2, sports
            upcoming = next(g for g in listed if g["status"] == "scheduled" and g["kickoff"])
            kickoff = dt.datetime.fromisoformat(upcoming["kickoff"].replace("Z", "+00:00")).astimezone(
                ZoneInfo(VIEWER_TZ))
            local = kickoff.strftime("%-I:%M %p")
            shown = next(r["when"] for r in rows if r["id"] == upcoming["id"])
            assert local in shown, f"kickoff {upcoming['kickoff']} shown as {shown!r}, want {local} ({VIEWER_TZ})"
            assert page.inner_text("#conn").strip() == "Live"
            page.screenshot(path=str(ARTIFACTS / "board-desktop.png"))

            marks["page"] = time.monotonic() - started
            # 2. A simulator price change reaches the row within 2 s (and flashes).
            on_page = [r["id"] for r in rows if r["status"] != "ended"]
            watched = _home_tokens(views, on_page, streamed)
            assert len(watched) >= 5, "too few streamed games on the page to watch"
            latencies, moved_games = [], set()
            for _ in range(3):
                latency, game_id = _measure_price_latency(page, sim, watched)
                latencies.append(latency)
                moved_games.add(game_id)
            print(f"board price latency (sim book change -> DOM): {[round(x, 3) for x in latencies]} s")
            assert max(latencies) < LATENCY_LIMIT_S, latencies
            log = page.evaluate("window.__cellLog")
            assert any(e["flashed"] for e in log if e["game"] in moved_games and e["cell"] in ("buy", "sell")), \
                "changed prices did not flash"

            marks["latency"] = time.monotonic() - started
            # 3. Filters: sport, then status.
            sport = sorted(sports)[0]
            unfiltered = _rows(page)
            page.select_option("#sport-filter", sport)
            filtered = _rows(page)
            assert filtered and {r["sport"] for r in filtered} == {sport}
            assert [r for r in unfiltered if r["sport"] == sport] == filtered
            assert len(filtered) < len(unfiltered)
            assert f"sport={sport}" in page.url
            page.select_option("#sport-filter", "")
            page.click(".status-pick .chip[data-status=live]")
            live_rows = _rows(page)
            assert live_rows and {r["status"] for r in live_rows} == {"live"}
            page.click(".status-pick .chip[data-status='']")
            assert len(_rows(page)) >= len(rows)

            marks["filters"] = time.monotonic() - started
            # 4. A game page: its markets (from /ws/activity) and its price-history chart.
            target = next(gid for gid in watched.values())
            page.click(f'#board .row[data-game-id="{target}"]')
            page.wait_for_url("**/games/**")
            watch.ready()
            view = views[target]
            types = {m.type for m in view.markets}
            page.wait_for_selector("#chart[data-state=ready] svg .chart-line", timeout=15000)
            cards = page.eval_on_selector_all("#markets .market", "els => els.map(e => e.dataset.type)")
            assert len(cards) == len(view.markets)
            assert {"moneyline", "spreads", "totals"} & types <= set(cards)
            tokens_shown = page.eval_on_selector_all("#markets .outcome", "els => els.map(e => e.dataset.token)")
            assert set(tokens_shown) == set(view.token_ids)
            assert int(page.get_attribute("#chart", "data-points") or 0) >= 2
            assert page.get_attribute("#chart", "data-token") == view.moneyline.home.token_id  # type: ignore[union-attr]
            page.screenshot(path=str(ARTIFACTS / "board-game.png"), full_page=True)

            marks["game page"] = time.monotonic() - started
            # 5. 375 px wide: no horizontal scroll, readable rows.
            phone = browser.new_context(viewport={"width": 375, "height": 800}, timezone_id=VIEWER_TZ,
                                        locale="en-US", device_scale_factor=2, is_mobile=True, has_touch=True)
            narrow = PageWatch(phone)
            narrow.page.goto(base + "/")
            narrow.ready()
            _narrow_checks(narrow.page)
            narrow.page.screenshot(path=str(ARTIFACTS / "board-375.png"))
            narrow.page.goto(f"{base}/games/{view.slug}")
            narrow.ready()
            narrow.page.wait_for_selector("#chart[data-state=ready] svg", timeout=15000)
            assert narrow.page.evaluate("document.documentElement.scrollWidth") <= 375
            narrow.page.screenshot(path=str(ARTIFACTS / "board-game-375.png"))
            phone.close()
            assert watch.errors == [] and narrow.errors == [], watch.errors + narrow.errors  # incl. CSP

            marks["narrow"] = time.monotonic() - started
            # 6. Server restart: reconnect with back-off, then `resume` from the last seq seen.
            page.goto(base + "/")
            watch.ready()
            page.evaluate(CELL_LOG_SCRIPT)
            wait_until(lambda: any(s.url.endswith("/ws/games?protocol=2") for s in sockets[-1:]), 10)
            feed = sockets[-1]
            seen: list[int] = []
            feed.on("framereceived", lambda payload: seen.extend(_topic_seqs(payload)))
            wait_until(lambda: _pump(page) and seen, 15)
            server.stop()
            wait_until(lambda: page.get_attribute("#conn", "data-state") in ("offline", "reconnecting"), 10)
            last_seen = max(seen)
            sent: list[dict[str, Any]] = []
            page.on("websocket", lambda ws: ws.on("framesent", lambda p: sent.append(orjson.loads(p))))
            _http_server(spawn, env, port, "board-http-2")
            wait_until(lambda: page.get_attribute("#conn", "data-state") == "live", 30)
            wait_until(lambda: _pump(page) and sent, 10)
            # Frames keep arriving between sampling `last_seen` and the restart: the page resumes from the
            # newest sequence it saw, which is at least the sampled one.
            assert sent[0]["type"] == "resume" and set(sent[0]["seqs"]) == {"all"}, sent[:2]
            assert sent[0]["seqs"]["all"] >= last_seen, sent[:2]
            mark = time.time() * 1000
            wait_until(lambda: any(e["t"] > mark for e in page.evaluate("window.__cellLog")), 15)
            # While the server was down the browser logged refused connections; nothing else went wrong.
            assert [e for e in watch.errors if "ERR_CONNECTION_REFUSED" not in e] == []
            marks["resume"] = time.monotonic() - started
            print("board test phases (s since start):", {k: round(v, 1) for k, v in marks.items()})


def _pump(page: Any) -> bool:
    """Playwright's sync API delivers events (frames seen by the page) only while it is called."""
    page.evaluate("1")
    return True


def _topic_seqs(payload: str | bytes) -> list[int]:
    frame = orjson.loads(payload)
    if frame.get("topic") == "all" and frame.get("type") in ("batch", "snapshot", "resync", "initial"):
        return [int(frame["seq"])]
    return []
