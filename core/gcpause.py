"""Bulk work with the cyclic garbage collector paused.

A cold sync decodes ~16 MB of events and builds ~30k rows: millions of container objects, and every full
collection that their allocations trigger walks all of them (about a tenth of the sync's time). Reference
counting frees them all the same; only cycles made meanwhile wait for the first collection after the pause.
"""

from __future__ import annotations

import contextlib
import gc
import threading
from collections.abc import Iterator

_lock = threading.Lock()
_pauses = 0
_resume = False  # whether the collector was enabled when the first pause began


@contextlib.contextmanager
def cyclic_gc_paused() -> Iterator[None]:
    """The block runs with the cyclic collector off; pauses may overlap (threads) or nest, and the collector
    comes back when the last one ends, unless it was off before the first."""
    global _pauses, _resume
    with _lock:
        if _pauses == 0:
            _resume = gc.isenabled()
            gc.disable()
        _pauses += 1
    try:
        yield
    finally:
        with _lock:
            _pauses -= 1
            if _pauses == 0 and _resume:
                gc.enable()
