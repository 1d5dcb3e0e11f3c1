"""The stream program's plain counters become Prometheus counters once a second (no hot-path cost)."""

from __future__ import annotations

import pytest

from core import metrics
from core.lease import Lease
from stream.metrics_export import stream_metrics_end, stream_metrics_export
from stream.program import StreamProgram, stream_config_from_settings
from stream.sockets import MarketSocket


def _get(metric, *labels: str) -> float:
    return (metric.labels(*labels) if labels else metric)._value.get()


@pytest.fixture
def program() -> StreamProgram:
    return StreamProgram(stream_config_from_settings(holder="metrics-test"))


def test_counter_deltas_are_exported_once_and_gauges_follow_the_program(program: StreamProgram) -> None:
    frames_before = _get(metrics.UPSTREAM_FRAMES, "clob", "price_change")
    books_before = _get(metrics.UPSTREAM_FRAMES, "clob", "book")
    malformed_before = _get(metrics.UPSTREAM_MALFORMED, "clob")
    other_before = _get(metrics.UPSTREAM_FRAMES, "clob", "other")
    mismatch_before = _get(metrics.STREAM_EVENTS, "hash_mismatch")

    # Real frames through the real feed: a dump, two price changes, garbage, an unknown event type.
    store = program.store
    store.track(["t1"], {"t1": "0xm"})
    store.feed(b'{"event_type":"book","asset_id":"t1","market":"0xm","timestamp":"1000",'
               b'"bids":[{"price":"0.4","size":"10"}],"asks":[{"price":"0.6","size":"10"}],"hash":"x"}')
    store.feed(b'{"event_type":"price_change","market":"0xm","timestamp":"1001","price_changes":['
               b'{"asset_id":"t1","price":"0.45","size":"5","side":"BUY","hash":"y"},'
               b'{"asset_id":"t1","price":"0.55","size":"5","side":"SELL","hash":"z"}]}')
    store.feed(b'{"event_type":"price_chan')
    store.feed(b'{"event_type":"surprise_event","asset_id":"t1"}')
    program.counters.hash_mismatch += 2
    program.counters.extra["loop_lag_max_ms"] = 250  # a gauge, not an event type
    program.holder.lease = Lease("stream", "metrics-test", 41, 10_000)

    stream_metrics_export(program)
    stream_metrics_export(program)  # nothing new: nothing added twice
    assert _get(metrics.UPSTREAM_FRAMES, "clob", "price_change") == frames_before + 2
    assert _get(metrics.UPSTREAM_FRAMES, "clob", "book") == books_before + 1
    assert _get(metrics.UPSTREAM_MALFORMED, "clob") == malformed_before + 1
    assert _get(metrics.UPSTREAM_FRAMES, "clob", "other") == other_before + 1
    assert _get(metrics.STREAM_EVENTS, "hash_mismatch") == mismatch_before + 2
    assert _get(metrics.STREAM_LOOP_LAG) == 0.25
    assert _get(metrics.LEASE_HELD, "stream") == 1 and _get(metrics.LEASE_FENCE, "stream") == 41

    stream_metrics_end(program)
    assert _get(metrics.LEASE_HELD, "stream") == 0
    assert _get(metrics.UPSTREAM_SOCKETS, "clob") == 0 and _get(metrics.UPSTREAM_TOKENS) == 0
    assert _get(metrics.LEASE_FENCE, "stream") == 41  # the token only grows; kept for the dashboard


async def test_connected_sockets_report_when_they_last_heard_from_upstream(program: StreamProgram) -> None:
    import time

    sock = MarketSocket(3, program.config.sockets, program.store)
    sock.last_pong = time.monotonic() - 30
    sock.last_frame_ms = int((time.time() - 12) * 1000)  # its last message, 12 s ago
    sock.ws = object()  # type: ignore[assignment]  # connected (the exporter only asks whether it is)
    program.pool.sockets.append(sock)
    program.pool.owner.update({"a": sock, "b": sock})
    stream_metrics_export(program)
    assert _get(metrics.UPSTREAM_SOCKETS, "clob") == 1 and _get(metrics.UPSTREAM_TOKENS) == 2
    assert abs(time.time() - _get(metrics.UPSTREAM_LAST_FRAME, "clob", "3") - 12) < 1
