"""Reconnect delays: jittered exponential back-off for rapid failures, a fast retry after a stable link."""

from __future__ import annotations

import random

from stream.loops import backoff_delay


def test_backoff_grows_with_jitter_is_capped_and_fast_after_stable() -> None:
    rng = random.Random(1)
    assert all(0.1 <= backoff_delay(0, 0.5, 30, rng) <= 0.5 for _ in range(50))  # stable link: fast retry
    for failures, ceiling in ((1, 0.5), (2, 1.0), (3, 2.0), (6, 16.0), (7, 30.0), (20, 30.0)):
        delays = [backoff_delay(failures, 0.5, 30, rng) for _ in range(50)]
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
        assert len(set(delays)) > 40  # jittered: reconnecting clients do not stampede together
