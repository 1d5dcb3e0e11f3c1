"""The live board: two page shells (`/` and `/games/<slug>`). Thin on purpose.

The pages hold no data: their scripts (delivery/static/board/) read the public REST API and the
/ws/games and /ws/activity sockets, exactly like any other client. Every response carries a strict
Content Security Policy (scripts and styles only from our own static files, no inline code).
"""

from __future__ import annotations

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.templatetags.static import static

from delivery.frames import SLUG_RE


def asset_url(path: str) -> str:
    """The static URL (hashed after collectstatic); the plain one when the manifest lacks the file."""
    try:
        return static(path)
    except ValueError:  # manifest storage without collectstatic: whitenoise still serves the plain name
        prefix = settings.STATIC_URL if settings.STATIC_URL.startswith("/") else "/" + settings.STATIC_URL
        return prefix + path


def content_security_policy(request: HttpRequest) -> str:
    host = request.get_host()
    return "; ".join((
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' https: data:",  # team logos come from the upstream's CDN
        f"connect-src 'self' ws://{host} wss://{host}",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ))


def _page(request: HttpRequest, template: str, context: dict[str, str]) -> HttpResponse:
    context = {"css_url": asset_url("board/board.css"), **context}
    response = render(request, template, context)
    response["Content-Security-Policy"] = content_security_policy(request)
    response["Cache-Control"] = "no-cache"
    return response


def board_page_view(request: HttpRequest) -> HttpResponse:
    return _page(request, "board/board.html", {"script_url": asset_url("board/board.js")})


def game_page_view(request: HttpRequest, slug: str) -> HttpResponse:
    if not SLUG_RE.match(slug):
        raise Http404("not a game slug")
    return _page(request, "board/game.html", {"script_url": asset_url("board/game.js"), "slug": slug})
