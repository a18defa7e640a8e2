from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from shared.clock import Clock, ClockError, FixedClock, SystemClock, VirtualClock

BERLIN = ZoneInfo("Europe/Berlin")
START = datetime(2026, 1, 5, 8, 0, tzinfo=BERLIN)


def test_the_system_clock_tells_an_aware_moment() -> None:
    clock: Clock = SystemClock()

    now = clock.now()

    assert now.utcoffset() == timedelta(0)
    assert abs(now - datetime.now(UTC)) < timedelta(seconds=5)


def test_a_fixed_clock_always_tells_the_same_moment() -> None:
    clock: Clock = FixedClock(START)

    assert clock.now() == START
    assert clock.now() == START


def test_a_virtual_clock_moves_only_when_told() -> None:
    clock = VirtualClock(START)

    clock.advance(timedelta(hours=2))
    after_advance = clock.now()
    clock.advance_to(datetime(2026, 1, 6, 9, 0, tzinfo=BERLIN))

    assert after_advance == datetime(2026, 1, 5, 10, 0, tzinfo=BERLIN)
    assert clock.now() == datetime(2026, 1, 6, 9, 0, tzinfo=BERLIN)


def test_a_virtual_clock_never_runs_backwards() -> None:
    clock = VirtualClock(START)

    with pytest.raises(ClockError):
        clock.advance(timedelta(seconds=-1))
    with pytest.raises(ClockError):
        clock.advance_to(START - timedelta(minutes=1))
    assert clock.now() == START


def test_clocks_refuse_a_naive_moment() -> None:
    naive = datetime(2026, 1, 5, 8, 0)

    with pytest.raises(ClockError):
        FixedClock(naive)
    with pytest.raises(ClockError):
        VirtualClock(naive)
    with pytest.raises(ClockError):
        VirtualClock(START).advance_to(naive)
