"""Announcing changes, after the writes: the one place where actions publish realtime events and mark the
listing stale. Publishing is best effort — the data is written, and clients that miss an event resync from REST
or history — but a stale fence always raises: the writer has lost its lease and must stop."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence

from core.errors import StaleFenceError
from core.lease import Fence
from core.publish import GameEvent, game_events_publish, game_events_publish_async
from readmodels.listing import listing_invalidate, listing_invalidate_async

log = logging.getLogger(__name__)
Publish = Callable[..., Awaitable[None]]


def events_announce(events: Sequence[GameEvent], *, fence: Fence | None = None) -> bool:
    """Publish `events` and mark the listing stale; returns whether the events went out."""
    sent = True
    if events:
        try:
            game_events_publish(events, fence=fence)
        except StaleFenceError:
            raise
        except Exception as exc:
            sent = False
            log.warning("publishing %d events failed: %r", len(events), exc)
    try:
        listing_invalidate()
    except Exception as exc:  # the listing re-renders within its max age anyway
        log.info("listing invalidation failed: %r", exc)
    return sent


async def events_announce_async(
    events: Sequence[GameEvent], *, fence: Fence | None = None, publish: Publish = game_events_publish_async
) -> bool:
    """The async twin of events_announce (the stream's event loop); `publish` is replaceable for benchmarks."""
    sent = True
    if events:
        try:
            await publish(events, fence=fence)
        except StaleFenceError:
            raise
        except Exception as exc:
            sent = False
            log.warning("publishing %d events failed: %r", len(events), exc)
    try:
        await listing_invalidate_async()
    except Exception as exc:
        log.info("listing invalidation failed: %r", exc)
    return sent
