import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from services.scheduler.timers import fire_timers, timers_running
from shared.clock import VirtualClock

START = datetime(2026, 1, 20, 8, tzinfo=UTC)


async def test_the_loop_asks_again_at_once_while_timers_keep_firing():
    answers = [500, 500, 3, 0, 0]
    asked: list[datetime] = []
    stop = asyncio.Event()

    def fire_due(now: datetime) -> int:
        asked.append(now)
        if len(asked) == len(answers):
            stop.set()
        return answers[len(asked) - 1]

    await asyncio.wait_for(
        fire_timers(fire_due, VirtualClock(START), stop, tick=0.01), 5
    )

    assert len(asked) == 5


async def test_the_loop_asks_with_the_clocks_moment():
    clock = VirtualClock(START)
    asked: list[datetime] = []
    enough = asyncio.Event()
    loop = asyncio.get_running_loop()

    def fire_due(now: datetime) -> int:
        asked.append(now)
        clock.advance(timedelta(minutes=1))
        if len(asked) == 3:
            loop.call_soon_threadsafe(enough.set)
        return 0

    async with timers_running(fire_due, clock, tick=0.01):
        await asyncio.wait_for(enough.wait(), 5)

    assert asked[:3] == [START + timedelta(minutes=m) for m in range(3)]


async def test_a_failed_look_is_retried_not_fatal(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr("services.scheduler.timers.RETRY_AFTER", 0.01)
    calls = 0
    enough = asyncio.Event()
    loop = asyncio.get_running_loop()

    def fire_due(now: datetime) -> int:
        nonlocal calls
        calls += 1
        if calls == 3:
            loop.call_soon_threadsafe(enough.set)
        if calls == 1:
            raise ConnectionError("database gone")
        return 0

    async with timers_running(fire_due, VirtualClock(START), tick=0.01):
        await asyncio.wait_for(enough.wait(), 5)

    assert calls >= 3
