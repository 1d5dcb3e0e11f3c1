"""ASGI fast path: warm hits of `GET /api/games/frontend` answered without Django's request cycle.

It serves only what Django would answer identically: a valid Host, no pending HTTPS redirect,
parameters that parse, and a listing this process already holds for the current cluster version
(or, for a moment after the version moved, the previous one while it is being refreshed).
Everything else (cold listings, bad input, other paths) falls through to Django unchanged. Headers
match the Django path: the same listing headers (readmodels.listing.listing_response), post-processed by
the same SecurityMiddleware, XFrameOptionsMiddleware and django-cors-headers instances' own methods.
"""

from __future__ import annotations

import functools
import io
import re
from typing import Any
from urllib.parse import parse_qsl

from corsheaders.middleware import CorsMiddleware
from django.conf import settings
from django.core.handlers.asgi import ASGIRequest
from django.http import HttpRequest, HttpResponse
from django.http.request import split_domain_port, validate_host
from django.middleware.clickjacking import XFrameOptionsMiddleware
from django.middleware.security import SecurityMiddleware

from core import metrics
from readmodels.listing import (
    LISTING_PATH,
    PARAM_NAMES,
    ListingParamError,
    listing_cached,
    listing_params_parse,
    listing_response,
)

Headers = list[tuple[bytes, bytes]]
ANSWERS_MAX = 256


def _allowed_hosts() -> list[str]:
    if settings.DEBUG and not settings.ALLOWED_HOSTS:
        return [".localhost", "127.0.0.1", "[::1]"]
    return list(settings.ALLOWED_HOSTS)


def _no_view(request: HttpRequest) -> None:
    """The middlewares are used here only to post-process an already built response."""


class ListingFastPath:
    def __init__(self, app: Any) -> None:
        self.app = app
        self.post_processors = (
            SecurityMiddleware(_no_view).process_response,
            XFrameOptionsMiddleware(_no_view).process_response,
            CorsMiddleware(_no_view).add_response_headers,
        )
        self.max_fields = settings.DATA_UPLOAD_MAX_NUMBER_FIELDS
        self.redirect_exempt = any(re.search(r, LISTING_PATH.lstrip("/")) for r in settings.SECURE_REDIRECT_EXEMPT)
        proxy = settings.SECURE_PROXY_SSL_HEADER
        self.proxy_header = proxy[0].removeprefix("HTTP_").replace("_", "-").lower().encode() if proxy else None
        self.proxy_expected = proxy[1] if proxy else ""
        self.cache_hit = metrics.LISTING_CACHE.labels("frontend", "hit")
        # Work that depends only on a header, the query string or the listing, memoised (bounded; C-level
        # lru_cache and a plain dict: a warm hit is a few dict look-ups).
        self._host_ok = functools.lru_cache(maxsize=1024)(self._host_check)
        self._params = functools.lru_cache(maxsize=1024)(self._params_parse)
        self.answers: dict[tuple[Any, ...], tuple[int, Headers, bytes]] = {}

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["method"] == "GET" and scope["path"] == LISTING_PATH:
            answer = self._warm(scope)
            if answer is not None:
                status, headers, body = answer
                await send({"type": "http.response.start", "status": status, "headers": headers})
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)

    def _secure(self, headers: dict[bytes, bytes], scope: dict[str, Any]) -> bool:
        if self.proxy_header is not None:
            value = headers.get(self.proxy_header)
            if value is not None:
                return value.decode("latin-1").split(",", 1)[0].strip() == self.proxy_expected
        return scope.get("scheme") == "https"

    def _warm(self, scope: dict[str, Any]) -> tuple[int, Headers, bytes] | None:
        if scope.get("root_path") or settings.USE_X_FORWARDED_HOST:
            return None
        headers: dict[bytes, bytes] = dict(scope["headers"])  # ASGI header names are lower-case
        if len(headers) != len(scope["headers"]):
            return None  # Django would join duplicates; leave such requests to it
        host = headers.get(b"host")
        if not host or not self._host_ok(host):
            return None  # Django answers 400
        secure = self._secure(headers, scope)
        if settings.SECURE_SSL_REDIRECT and not secure and not self.redirect_exempt:
            return None  # Django redirects to https
        params = self._params(scope.get("query_string", b""))
        if params is None:
            return None
        entry = listing_cached(params)
        if entry is None:
            return None
        self.cache_hit.inc()
        key = (entry.etag, entry.built_at, headers.get(b"accept-encoding"), headers.get(b"if-none-match"),
               headers.get(b"origin"), headers.get(b"access-control-request-private-network"), secure)
        answer = self.answers.get(key)
        if answer is None:
            if len(self.answers) >= ANSWERS_MAX:
                self.answers.clear()  # old listing versions and odd header values; the hot keys come back at once
            answer = self.answers[key] = self._answer(entry, scope, headers)
        return answer

    def _answer(self, entry: Any, scope: dict[str, Any], raw: dict[bytes, bytes]) -> tuple[int, Headers, bytes]:
        """The listing response after the same post-processing the Django path gives it (SecurityMiddleware,
        XFrameOptionsMiddleware, django-cors-headers), run by those middlewares themselves; memoised by the
        caller per listing version and per request header it depends on."""
        status, listing_headers, body = listing_response(
            entry, raw.get(b"accept-encoding", b"").decode("latin-1"), raw.get(b"if-none-match", b"").decode("latin-1")
        )
        response = HttpResponse(body, status=status)
        if status == 304:
            del response["Content-Type"]
        for name, value in listing_headers:
            response[name] = value
        request = ASGIRequest(scope, io.BytesIO())
        for post_process in self.post_processors:
            post_process(request, response)
        response["Content-Length"] = str(len(body))
        return status, [(k.encode("latin-1"), v.encode("latin-1")) for k, v in response.items()], body

    @staticmethod
    def _host_check(host: bytes) -> bool:
        domain, _ = split_domain_port(host.decode("latin-1"))
        return bool(domain) and validate_host(domain, _allowed_hosts())

    def _params_parse(self, query_string: bytes) -> Any:
        try:
            text = query_string.decode("ascii")
            pairs = parse_qsl(text, keep_blank_values=True)
        except (UnicodeDecodeError, ValueError):
            return None
        if self.max_fields is not None and len(pairs) > self.max_fields:
            return None
        raw: dict[str, str] = {}
        for name, value in pairs:
            if name in PARAM_NAMES:
                if name in raw:
                    return None
                raw[name] = value
        try:
            return listing_params_parse(raw)
        except ListingParamError:
            return None
