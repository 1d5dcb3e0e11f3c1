"""Cluster status (/api/games/status): the same whichever instance answers (the original reported its own
process): the stream holder's self-report, the token set, queue depths, heartbeats, the listing, game counts."""

from __future__ import annotations

import time

from django.conf import settings
from django.db.models import Count

from core.heartbeats import heartbeats_alive
from core.keys import stream_status_key
from core.lease import lease_status
from core.redis import redis_sync
from games.models import Game
from markets.tokenset import token_set_read
from readmodels.listing import listing_counters

CELERY_QUEUES = ("sports", "stream")
_PRIORITY_SUFFIXES = ("", "\x06\x163", "\x06\x166", "\x06\x169")  # kombu's Redis priority sub-queues


def _number(value: object) -> float | None:
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


def stream_status_read() -> dict[str, object]:
    """The stream worker's self-report (core.keys.stream_status_key), read defensively."""
    raw = redis_sync().hgetall(stream_status_key())
    fields = {k.decode(errors="replace"): v.decode(errors="replace") for k, v in raw.items()}
    last = _number(fields.get("last_frame_ts"))
    if last is not None and last > 1e11:  # milliseconds
        last /= 1000
    sockets = _number(fields.get("sockets"))
    subscribed = _number(fields.get("subscribed"))
    return {
        "reported": bool(fields),
        "sockets": int(sockets) if sockets is not None else None,
        "subscribed": int(subscribed) if subscribed is not None else None,
        "lastFrameAgeS": round(max(0.0, time.time() - last), 3) if last else None,
        "fields": fields,
    }


def queue_depths() -> dict[str, int]:
    """Messages waiting per Celery queue: kombu's Redis layout (a list per queue and priority step, under the
    broker's key prefix). kombu's own `queue_declare(passive=True)` answers NOT_FOUND for a prefixed queue that
    exists, so the lists are read directly."""
    prefix = settings.CELERY_BROKER_TRANSPORT_OPTIONS.get("global_keyprefix", "")
    pipe = redis_sync().pipeline(transaction=False)
    for queue in CELERY_QUEUES:
        for suffix in _PRIORITY_SUFFIXES:
            pipe.llen(f"{prefix}{queue}{suffix}")
    lengths = pipe.execute()
    n = len(_PRIORITY_SUFFIXES)
    return {queue: sum(lengths[i * n : (i + 1) * n]) for i, queue in enumerate(CELERY_QUEUES)}


def games_status_read() -> dict[str, object]:
    token_version, tokens = token_set_read()
    counts = dict(Game.objects.values_list("status").annotate(n=Count("id")).order_by())
    listing_version, builds = listing_counters()
    return {
        "instance": settings.INSTANCE_ID,
        "stream": {"lease": lease_status("stream"), **stream_status_read()},
        "tokens": {"version": token_version, "subscribed": len(tokens)},
        "queues": queue_depths(),
        "workers": heartbeats_alive("worker"),
        "beat": heartbeats_alive("beat"),
        "listing": {"version": listing_version, "builds": builds},
        "games": {status: counts.get(status, 0) for status in Game.Status.values},
    }
