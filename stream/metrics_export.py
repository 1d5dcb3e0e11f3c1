"""Exports the stream program's in-memory counters as Prometheus metrics, once a second.

The feed (stream/feed.py) is the hot path: it only bumps plain integers. The program's metrics
loop calls `stream_metrics_export(program)` every second, which turns the increase of each integer since
the previous call into counter increments and refreshes the gauges (sockets, tokens, lease, last
message time per socket); `stream_metrics_end(program)` zeroes the gauges when the program stops (the
Celery process lives on, so its "live" gauges would otherwise keep claiming the lease).
"""

from __future__ import annotations

import logging
import time
import weakref
from typing import Any

from core import metrics

log = logging.getLogger("core.metrics")
SOURCE = "clob"
# StreamCounters field -> upstream message type (mevu_upstream_frames_total{type}).
FRAME_FIELDS = {"books": "book", "changes": "price_change", "trades": "last_trade_price", "non_json": "text"}
GAUGE_EXTRAS = {"loop_lag_max_ms"}  # StreamCounters.extra entries that are not event counts
EVENT_FIELDS = ("duplicates", "stale", "unknown_asset", "hash_ok", "hash_mismatch", "resnapshots", "published",
                "publish_errors", "persisted")

_previous: weakref.WeakKeyDictionary[Any, dict[str, int]] = weakref.WeakKeyDictionary()


def stream_metrics_export(program: Any) -> None:
    """Counter deltas since the last call, and the current gauges, of a running StreamProgram."""
    current = program.counters.as_dict()
    before = _previous.get(program, {})
    _previous[program] = current

    def delta(field: str) -> int:
        return max(0, current.get(field, 0) - before.get(field, 0))

    for field, frame_type in FRAME_FIELDS.items():
        if delta(field):
            metrics.UPSTREAM_FRAMES.labels(SOURCE, frame_type).inc(delta(field))
    for field in set(program.counters.extra) - GAUGE_EXTRAS:  # other event types (new_market, ...)
        if delta(field):
            label = field if field in metrics.CLOB_FRAME_TYPES else "other"
            metrics.UPSTREAM_FRAMES.labels(SOURCE, label).inc(delta(field))
    if delta("malformed"):
        metrics.UPSTREAM_MALFORMED.labels(SOURCE).inc(delta("malformed"))
    if delta("disconnects"):
        metrics.UPSTREAM_RECONNECTS.labels(SOURCE).inc(delta("disconnects"))
    for field in EVENT_FIELDS:
        if delta(field):
            metrics.STREAM_EVENTS.labels(field).inc(delta(field))

    sockets = list(program.pool.sockets)
    metrics.UPSTREAM_SOCKETS.labels(SOURCE).set(sum(1 for s in sockets if s.ws is not None))
    metrics.UPSTREAM_TOKENS.set(len(program.pool.owner))
    offset = time.time() - time.monotonic()  # monotonic PONG stamps -> wall clock
    for sock in sockets:
        # Any message, PONG included (wall-clock ms); older programs only stamped PONGs (monotonic).
        heard = (getattr(sock, "last_frame_ms", 0) or 0) / 1000
        heard = heard or (sock.last_pong + offset if sock.last_pong else 0.0)
        if sock.ws is not None and heard:
            metrics.UPSTREAM_LAST_FRAME.labels(SOURCE, str(sock.index)).set(heard)
    metrics.STREAM_LOOP_LAG.set(program.counters.extra.get("loop_lag_max_ms", 0) / 1000)
    if program.holder.lease is not None:
        metrics.LEASE_HELD.labels(program.holder.lease.name).set(1)
        metrics.LEASE_FENCE.labels(program.holder.lease.name).set(program.holder.lease.token)


def stream_metrics_end(program: Any) -> None:
    """The program stopped: this process holds nothing any more. Never raises (called during cleanup)."""
    try:
        stream_metrics_export(program)  # the last counter increases
    except Exception:
        log.exception("stream metrics: final export failed")
    metrics.UPSTREAM_SOCKETS.labels(SOURCE).set(0)
    metrics.UPSTREAM_TOKENS.set(0)
    metrics.LEASE_HELD.labels(program.config.lease_name).set(0)
