"""Redis keys written by one layer and read by another: their one home, below both."""

from __future__ import annotations

from core.redis import redis_key


def stream_status_key() -> str:
    """HASH the stream holder writes every second (sockets, subscribed tokens, newest frame); status pages read it."""
    return redis_key("stream", "status")


def stream_metrics_key() -> str:
    """The stream holder's counters and socket states (JSON, short TTL), for the admin and tests."""
    return redis_key("stream", "metrics")
