"""Holding the `stream` lease: take it (or stand by until it frees up), register its fence in PostgreSQL,
renew it from a thread of its own, give it back. Losing it raises LeaseLost, which stops the program."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
import time
from collections.abc import Callable

from core import metrics
from core.aio import event_wait
from core.lease import (
    Fence,
    Lease,
    fence_floor_raise_async,
    lease_acquire_async,
    lease_release_async,
    lease_renew,
)
from core.redis import redis_async, redis_key
from markets.fences import FenceBehindError, fence_pg_advance
from stream.loops import DbThread, Fatal

log = logging.getLogger("mevu.stream")

LEASE_NAME = "stream"
STANDBY_TTL_S = 3


class LeaseLost(Fatal):
    """The lease could not be renewed: another holder may already be writing."""


def standby_key() -> str:
    return redis_key("stream", "standby")


class LeaseHolder:
    def __init__(self, name: str, holder: str, ttl_s: float, parent_pid: int | None = None,
                 standby_poll_s: float = 0.1) -> None:
        self.name, self.holder, self.ttl_s = name, holder, ttl_s
        # A stand-by retries this often: takeover ≈ the rest of the TTL + up to one poll after a death.
        self.standby_poll_s = standby_poll_s
        self.parent_pid = parent_pid  # under a Celery prefork worker: stop if it dies (orphaned child)
        self.lease: Lease | None = None

    @property
    def fence(self) -> Fence:
        assert self.lease is not None
        return self.lease.fence

    async def acquire(self, stop: asyncio.Event) -> bool:
        """Take the lease now, or stand by until it frees up, so takeover never waits for beat or a queue.

        While standing by we advertise ourselves (a short-TTL key), so the watchdog keeps exactly one
        stand-by and does not enqueue more. False only when asked to stop.
        """
        client = redis_async()
        announced, announced_at = False, -STANDBY_TTL_S
        try:
            while not stop.is_set():
                self.lease = await lease_acquire_async(self.name, self.holder, int(self.ttl_s * 1000))
                if self.lease is not None:
                    return True
                if time.monotonic() - announced_at >= STANDBY_TTL_S / 3:  # polls are faster than this
                    with contextlib.suppress(Exception):  # advertising is best effort; acquisition is what counts
                        await client.set(standby_key(), self.holder, ex=STANDBY_TTL_S)
                        announced, announced_at = True, time.monotonic()
                await event_wait(stop, self.standby_poll_s)
            return False
        finally:
            if announced:
                with contextlib.suppress(Exception):
                    await client.delete(standby_key())

    async def fence_register(self, db: DbThread) -> None:
        """Advance PostgreSQL's fence row to our token. If PostgreSQL has seen a higher token, Redis lost
        its counter: raise the counter above it, give the lease back and take it again (once)."""
        assert self.lease is not None
        try:
            await db.run(fence_pg_advance, self.fence)
        except FenceBehindError as behind:
            log.warning("fence counter behind PostgreSQL (%s): raising it", behind.current)
            await fence_floor_raise_async(self.name, behind.current)
            await lease_release_async(self.lease)
            self.lease = await lease_acquire_async(self.name, self.holder, int(self.ttl_s * 1000))
            if self.lease is None:
                raise LeaseLost("lease taken by another process while the fence was raised") from behind
            await db.run(fence_pg_advance, self.fence)

    async def release(self) -> None:
        if self.lease is not None:
            with contextlib.suppress(Exception):
                await lease_release_async(self.lease)

    async def keep(self) -> None:
        """Renew until the lease is lost (LeaseLost) or the worker process died (returns). Renewals run on
        their own thread: a busy event loop (a flood of frames, a CPU-starved host) must not let the lease
        expire under a healthy holder."""
        assert self.lease is not None
        loop = asyncio.get_running_loop()
        ended: asyncio.Future[str | None] = loop.create_future()
        halt = threading.Event()

        def report(outcome: str | None) -> None:
            if not ended.done():
                ended.set_result(outcome)

        thread = threading.Thread(
            target=self._renew, args=(self.lease, halt, lambda o: loop.call_soon_threadsafe(report, o)),
            name="stream-lease-renew", daemon=True,
        )
        thread.start()
        try:
            outcome = await ended
        finally:
            halt.set()
        if outcome is not None:
            raise LeaseLost(outcome)

    def _renew(self, lease: Lease, halt: threading.Event, report: Callable[[str | None], None]) -> None:
        period = self.ttl_s / 3
        last_ok = time.monotonic()
        while not halt.wait(period):
            if self.parent_pid is not None and os.getppid() != self.parent_pid:
                log.warning("stream worker process died: releasing the lease")
                report(None)
                return
            try:
                renewed = lease_renew(lease)
            except Exception as exc:  # Redis unreachable: the lease may expire under us
                metrics.LEASE_RENEWALS.labels(lease.name, "error").inc()
                if time.monotonic() - last_ok > self.ttl_s - period / 2:
                    report(f"renewal failing: {exc!r}")
                    return
                continue
            metrics.LEASE_RENEWALS.labels(lease.name, "ok" if renewed else "lost").inc()
            if not renewed:
                report("renewal refused: another holder has the lease")
                return
            last_ok = time.monotonic()
