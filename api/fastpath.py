"""ASGI fast path: warm hits of `GET /api/games/frontend` answered without Django's request cycle.

It serves only what Django would answer identically: a valid Host, no pending HTTPS redirect,
parameters that parse, and a listing this process already holds for the current cluster version
(or, for a moment after the version moved, the previous one while it is being refreshed).
Everything else (cold listings, bad input, other paths) falls through to Django unchanged. Headers
match the Django path: the same listing headers (readmodels.listing.listing_response) plus what
SecurityMiddleware, XFrameOptionsMiddleware, CommonMiddleware and django-cors-headers add there.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from corsheaders.conf import conf as cors_conf
from corsheaders.middleware import CorsMiddleware
from corsheaders.signals import check_request_enabled
from django.conf import settings
from django.http.request import split_domain_port, validate_host

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


def _allowed_hosts() -> list[str]:
    if settings.DEBUG and not settings.ALLOWED_HOSTS:
        return [".localhost", "127.0.0.1", "[::1]"]
    return list(settings.ALLOWED_HOSTS)


def _security_headers(secure: bool) -> list[tuple[str, str]]:
    """What SecurityMiddleware and XFrameOptionsMiddleware add to a plain response."""
    headers: list[tuple[str, str]] = []
    if settings.SECURE_HSTS_SECONDS and secure:
        value = f"max-age={settings.SECURE_HSTS_SECONDS}"
        if settings.SECURE_HSTS_INCLUDE_SUBDOMAINS:
            value += "; includeSubDomains"
        if settings.SECURE_HSTS_PRELOAD:
            value += "; preload"
        headers.append(("Strict-Transport-Security", value))
    if settings.SECURE_CONTENT_TYPE_NOSNIFF:
        headers.append(("X-Content-Type-Options", "nosniff"))
    policy = settings.SECURE_REFERRER_POLICY
    if policy:
        parts = [v.strip() for v in policy.split(",")] if isinstance(policy, str) else list(policy)
        headers.append(("Referrer-Policy", ",".join(parts)))
    if settings.SECURE_CROSS_ORIGIN_OPENER_POLICY:
        headers.append(("Cross-Origin-Opener-Policy", settings.SECURE_CROSS_ORIGIN_OPENER_POLICY))
    headers.append(("X-Frame-Options", getattr(settings, "X_FRAME_OPTIONS", "DENY").upper()))
    return headers


def _remember(memo: dict[Any, Any], key: Any, value: Any, limit: int = 1024) -> None:
    if len(memo) >= limit:
        memo.clear()
    memo[key] = value


class ListingFastPath:
    def __init__(self, app: Any) -> None:
        self.app = app
        self.cors = CorsMiddleware(lambda request: None)
        self.max_fields = settings.DATA_UPLOAD_MAX_NUMBER_FIELDS
        self.redirect_exempt = any(re.search(r, LISTING_PATH.lstrip("/")) for r in settings.SECURE_REDIRECT_EXEMPT)
        self.security = {True: _security_headers(True), False: _security_headers(False)}
        proxy = settings.SECURE_PROXY_SSL_HEADER
        self.proxy_header = proxy[0].removeprefix("HTTP_").replace("_", "-").lower().encode() if proxy else None
        self.proxy_expected = proxy[1] if proxy else ""
        # Work that depends only on a header, the query string or the listing, memoised (bounded).
        self.hosts: dict[str, bool] = {}
        self.queries: dict[bytes, Any] = {}
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
        headers: dict[bytes, bytes] = {}
        for name, value in scope["headers"]:  # ASGI header names are lower-case
            if name in headers:
                return None  # Django would join duplicates; leave such requests to it
            headers[name] = value
        host = headers.get(b"host")
        if not host or not self._host_ok(host.decode("latin-1")):
            return None  # Django answers 400
        secure = self._secure(headers, scope)
        if settings.SECURE_SSL_REDIRECT and not secure and not self.redirect_exempt:
            return None  # Django redirects to https
        query = scope.get("query_string", b"")
        params = self.queries.get(query, False)
        if params is False:
            params = self._params(query)
            _remember(self.queries, query, params)
        if params is None:
            return None
        entry = listing_cached(params)
        if entry is None:
            return None
        metrics.LISTING_CACHE.labels("frontend", "hit").inc()
        key = (entry.etag, entry.built_at, headers.get(b"accept-encoding"), headers.get(b"if-none-match"),
               headers.get(b"origin"), headers.get(b"access-control-request-private-network"), secure)
        answer = self.answers.get(key)
        if answer is None:
            answer = self._answer(entry, headers, secure)
            if answer is None:
                return None
            _remember(self.answers, key, answer, limit=256)
        return answer

    def _answer(self, entry: Any, raw: dict[bytes, bytes], secure: bool) -> tuple[int, Headers, bytes] | None:
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in raw.items()}
        status, listing_headers, body = listing_response(
            entry, headers.get("accept-encoding", ""), headers.get("if-none-match", "")
        )
        out = [*listing_headers, *self.security[secure]]
        if not self._cors(headers, out):
            return None
        out.append(("Content-Length", str(len(body))))
        return status, [(k.encode("latin-1"), v.encode("latin-1")) for k, v in out], body

    def _host_ok(self, host: str) -> bool:
        known = self.hosts.get(host)
        if known is None:
            domain, _ = split_domain_port(host)
            known = bool(domain) and validate_host(domain, _allowed_hosts())
            _remember(self.hosts, host, known)
        return known

    def _params(self, query_string: bytes) -> Any:
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

    def _cors(self, headers: dict[str, str], out: list[tuple[str, str]]) -> bool:
        """Add django-cors-headers' response headers; False when only Django can decide."""
        if check_request_enabled.has_listeners():
            return False
        if not re.match(cors_conf.CORS_URLS_REGEX, LISTING_PATH):
            return True
        out[:] = [(k, f"{v}, origin" if k == "Vary" else v) for k, v in out]
        origin = headers.get("origin")
        if not origin:
            return True
        try:
            url = urlsplit(origin)
        except ValueError:
            return True
        if not cors_conf.CORS_ALLOW_ALL_ORIGINS and not self.cors.origin_found_in_white_lists(origin, url):
            return True
        if cors_conf.CORS_ALLOW_ALL_ORIGINS and not cors_conf.CORS_ALLOW_CREDENTIALS:
            out.append(("access-control-allow-origin", "*"))
        else:
            out.append(("access-control-allow-origin", origin))
        if cors_conf.CORS_ALLOW_CREDENTIALS:
            out.append(("access-control-allow-credentials", "true"))
        if len(cors_conf.CORS_EXPOSE_HEADERS):
            out.append(("access-control-expose-headers", ", ".join(cors_conf.CORS_EXPOSE_HEADERS)))
        if cors_conf.CORS_ALLOW_PRIVATE_NETWORK and headers.get("access-control-request-private-network") == "true":
            out.append(("access-control-allow-private-network", "true"))
        return True
