"""App-level rate limit for expensive endpoints, shared by every HTTP process through Redis.

nginx's `limit_req` guards the whole site per address; this guards the endpoints whose cost is in the
database (price history, its batch form) per client address, cluster-wide, with a fixed window
counter in Redis. Over the limit: HTTP 429, `Retry-After` (seconds until the window ends) and a JSON
body. If Redis is unreachable the request is let through: availability beats limiting.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from django.conf import settings
from redis.exceptions import RedisError

from core.redis import redis_async, redis_key

log = logging.getLogger(__name__)
Scope = dict[str, Any]
ASGIApp = Callable[[Scope, Callable[..., Awaitable[Any]], Callable[..., Awaitable[Any]]], Awaitable[None]]

# KEYS[1] counter. ARGV: window ms. Returns {count, ms left in the window}.
_HIT = """
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local left = redis.call('PTTL', KEYS[1])
if left < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]); left = tonumber(ARGV[1]) end
return {n, left}
"""


def ratelimit_rule(path: str) -> str | None:
    """The rule name for a path, or None when the path is not limited here."""
    for prefix in settings.RATELIMIT_EXPENSIVE_PREFIXES:
        if path.startswith(prefix):
            return "expensive"
    return None


def client_address(scope: Scope) -> str:
    """The client's address (daphne --proxy-headers already resolved X-Forwarded-For from nginx)."""
    client = scope.get("client") or ("unknown", 0)
    return str(client[0])


async def ratelimit_hit(rule: str, who: str, limit: int, window_s: float) -> tuple[bool, int, float]:
    """Count one request; (allowed, remaining, seconds until the window resets)."""
    window_ms = max(1, int(window_s * 1000))
    key = redis_key("ratelimit", rule, who)
    count, left_ms = await redis_async().eval(_HIT, 1, key, window_ms)
    return int(count) <= limit, max(0, limit - int(count)), int(left_ms) / 1000


def _too_many(limit: int, retry_after_s: float) -> tuple[list[tuple[bytes, bytes]], bytes]:
    retry = max(1, math.ceil(retry_after_s))
    body = orjson.dumps({"success": False, "error": "rate limit exceeded; retry later", "retryAfter": retry})
    headers = [
        (b"content-type", b"application/json"),
        (b"retry-after", str(retry).encode()),
        (b"x-ratelimit-limit", str(limit).encode()),
        (b"x-ratelimit-remaining", b"0"),
        (b"content-length", str(len(body)).encode()),
    ]
    return headers, body


class RateLimitMiddleware:
    """ASGI middleware (HTTP only) applying ratelimit_rule to each request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not settings.RATELIMIT_ENABLED:
            await self.app(scope, receive, send)
            return
        rule = ratelimit_rule(scope.get("path", ""))
        if rule is None:
            await self.app(scope, receive, send)
            return
        limit = settings.RATELIMIT_EXPENSIVE_PER_WINDOW
        try:
            allowed, _remaining, reset_s = await ratelimit_hit(
                rule, client_address(scope), limit, settings.RATELIMIT_WINDOW_S
            )
        except (RedisError, OSError) as exc:
            log.warning("rate limit: Redis unavailable (%s); request allowed", exc)
            allowed, reset_s = True, 0.0
        if allowed:
            await self.app(scope, receive, send)
            return
        headers, body = _too_many(limit, reset_s)
        await send({"type": "http.response.start", "status": 429, "headers": headers})
        await send({"type": "http.response.body", "body": body})
