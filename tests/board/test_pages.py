"""The board's page shells: no data, no inline code, a strict CSP, static files served by whitenoise."""

from __future__ import annotations

import re

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db

ASSETS = ("board/board.js", "board/game.js", "board/common.js", "board/board.css")


def _directives(header: str) -> dict[str, str]:
    return {part.split()[0]: part.strip() for part in header.split(";") if part.strip()}


@pytest.mark.parametrize("path", ["/", "/games/nba-lal-bos-2026-01-04"])
def test_shell_is_csp_strict_and_holds_no_data(path: str) -> None:
    response = Client().get(path, HTTP_HOST="127.0.0.1")
    assert response.status_code == 200
    html = response.content.decode()
    csp = _directives(response["Content-Security-Policy"])
    assert csp["script-src"] == "script-src 'self'"
    assert csp["style-src"] == "style-src 'self'"
    assert "ws://127.0.0.1" in csp["connect-src"] and "wss://127.0.0.1" in csp["connect-src"]
    assert csp["frame-ancestors"] == "frame-ancestors 'none'"
    # Every <script> has a src (no inline code), no inline style attributes or <style> blocks.
    scripts = re.findall(r"<script\b([^>]*)>(.*?)</script>", html, flags=re.S)
    assert scripts and all('src="/static/board/' in attrs and not body.strip() for attrs, body in scripts)
    assert "style=" not in html and "<style" not in html
    assert "homeTeam" not in html and "probability" not in html  # the page shell carries no game data


def test_game_page_keeps_the_slug_escaped_and_rejects_bad_ones() -> None:
    client = Client()
    assert client.get("/games/<script>", HTTP_HOST="127.0.0.1").status_code == 404
    assert client.get("/games/a%20b", HTTP_HOST="127.0.0.1").status_code == 404
    page = client.get("/games/nfl-kc-buf-2026-01-18", HTTP_HOST="127.0.0.1").content.decode()
    assert 'data-slug="nfl-kc-buf-2026-01-18"' in page


@pytest.mark.parametrize("asset", ASSETS)
def test_static_assets_are_served_by_whitenoise(asset: str) -> None:
    response = Client().get(f"/static/{asset}", HTTP_HOST="127.0.0.1")
    assert response.status_code == 200
    assert type(response).__module__.startswith("whitenoise")
    kind = "text/css" if asset.endswith(".css") else "javascript"
    assert kind in response["Content-Type"]
    assert len(b"".join(response.streaming_content)) > 500
