"""Stopping the stream program cancels its loops; a cancellation must never be lost.

On Python 3.11 `asyncio.wait_for(event.wait(), t)` returns normally when the task is cancelled in the loop
iteration where the event fires, and a `while True` loop around it then runs on forever: the program's
shutdown waited for it, and the worker's warm shutdown never ended. A stop that hangs anyway says where.
"""

from __future__ import annotations

import asyncio

import pytest

from core.aio import event_wait, tasks_cancel
from core.redis import redis_async, redis_key
from stream.feed import BookStore
from stream.loops import every
from stream.resnapshot import Resnapshotter
from stream.watchdog import _tasks_dump


@pytest.mark.parametrize("spins", range(6))
def test_a_resnapshot_wake_racing_the_cancel_still_ends_the_loop(spins: int) -> None:
    async def scenario() -> None:
        resnapshot = Resnapshotter(BookStore(), "http://127.0.0.1:9", per_s=5)
        runner = asyncio.create_task(resnapshot.run())
        for _ in range(3):
            await asyncio.sleep(0)  # the loop is waiting for a wake-up now
        resnapshot.request("token-not-in-any-book")
        for _ in range(spins):  # the cancel lands `spins` loop iterations after the wake-up
            await asyncio.sleep(0)
        runner.cancel()
        done, _ = await asyncio.wait([runner], timeout=3)
        assert runner in done and runner.cancelled()

    asyncio.run(scenario())


@pytest.mark.parametrize("spins", range(4))
def test_event_wait_reraises_a_cancel_that_races_the_event(spins: int) -> None:
    async def scenario() -> None:
        event = asyncio.Event()
        waiter = asyncio.create_task(event_wait(event, 5))
        await asyncio.sleep(0)
        event.set()
        for _ in range(spins):
            await asyncio.sleep(0)
        pending = not waiter.done()
        waiter.cancel()
        await asyncio.wait([waiter], timeout=3)
        assert waiter.cancelled() if pending else waiter.result() is True

    asyncio.run(scenario())


def test_event_wait_says_whether_the_event_came() -> None:
    async def scenario() -> tuple[bool, bool]:
        event = asyncio.Event()
        timed_out = await event_wait(event, 0.01)
        asyncio.get_running_loop().call_later(0.01, event.set)
        return timed_out, await event_wait(event, 5)

    assert asyncio.run(scenario()) == (False, True)


def test_a_stuck_stop_reports_where_each_task_waits(capfd: pytest.CaptureFixture[str]) -> None:
    async def inner() -> None:
        await asyncio.sleep(30)

    async def outer() -> None:
        await inner()

    async def scenario() -> None:
        stuck = asyncio.create_task(outer(), name="stuck-loop")
        await asyncio.sleep(0)
        _tasks_dump(asyncio.get_running_loop())
        stuck.cancel()

    asyncio.run(scenario())
    report = capfd.readouterr().err.split("stuck task stuck-loop:", 1)[1]
    assert [line.rsplit(" in ", 1)[1] for line in report.strip().splitlines()[:3]] == ["outer", "inner", "sleep"]


async def test_a_loop_of_redis_commands_ends_on_tasks_cancel() -> None:
    """redis-py sends every command through wait_for, so a single cancel of a loop of commands is often lost
    (132 of 300 cancels at random points on this machine): the stream's window loop outlived its stop."""
    client = redis_async()
    key = redis_key("test", "cancel-probe")
    for trial in range(40):

        async def step(value: int = trial) -> None:
            await client.set(key, value)

        commands = asyncio.create_task(every(0, step, "probe"))
        for _ in range(trial % 20 + 1):  # the cancel lands at a different point of a command each time
            await asyncio.sleep(0)
        async with asyncio.timeout(10):  # a hang guard only: a lost cancel is re-sent after 0.05 s
            await tasks_cancel([commands], recancel_s=0.05)
        assert commands.cancelled()


async def test_tasks_cancel_leaves_a_failure_to_read_and_a_cleanup_undisturbed() -> None:
    cleaned: list[str] = []

    async def fails() -> None:
        raise ValueError("boom")

    async def cleans_up() -> None:
        try:
            await asyncio.sleep(30)
        finally:
            await asyncio.sleep(0.1)  # shorter than recancel_s: not interrupted
            cleaned.append("done")

    failing, cleaning = asyncio.create_task(fails()), asyncio.create_task(cleans_up())
    await asyncio.sleep(0)
    await tasks_cancel([failing, cleaning], recancel_s=1)
    assert isinstance(failing.exception(), ValueError)
    assert cleaning.cancelled() and cleaned == ["done"]
