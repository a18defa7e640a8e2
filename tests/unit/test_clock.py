import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from shared.clock import (
    Clock,
    ClockError,
    FixedClock,
    SharedClock,
    SystemClock,
    VirtualClock,
    clock_from_settings,
    parse_duration,
    read_offset,
    reading_at,
    wall_clock,
    write_offset,
)

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


# -- the shared clock, kept in a file -------------------------------------------


@pytest.fixture
def wall() -> VirtualClock:
    """The real time, as the tests move it."""
    return VirtualClock(START)


@pytest.fixture
def clock_file(tmp_path: Path) -> Path:
    return tmp_path / "clock"


def test_a_shared_clock_without_its_file_tells_the_real_time(
    wall: VirtualClock, clock_file: Path
) -> None:
    clock = SharedClock(clock_file, wall=wall)

    assert clock.now() == START


def test_every_process_on_one_clock_file_moves_when_it_is_advanced(
    wall: VirtualClock, clock_file: Path
) -> None:
    ledger, scheduler = (
        SharedClock(clock_file, wall=wall),
        SharedClock(clock_file, wall=wall),
    )
    ledger.now(), scheduler.now()

    write_offset(clock_file, timedelta(days=3))
    wall.advance(timedelta(seconds=1))

    later = START + timedelta(days=3, seconds=1)
    assert ledger.now() == later
    assert scheduler.now() == later


def test_a_shared_clock_keeps_running_with_the_real_time(
    wall: VirtualClock, clock_file: Path
) -> None:
    write_offset(clock_file, timedelta(hours=2))
    clock = SharedClock(clock_file, wall=wall)

    first = clock.now()
    wall.advance(timedelta(minutes=5))

    assert clock.now() - first == timedelta(minutes=5)


def test_a_shared_clock_never_goes_back_when_its_file_is_set_back(
    wall: VirtualClock, clock_file: Path, caplog: pytest.LogCaptureFixture
) -> None:
    write_offset(clock_file, timedelta(days=1))
    clock = SharedClock(clock_file, wall=wall)
    told = clock.now()

    write_offset(clock_file, timedelta(0))
    with caplog.at_level(logging.WARNING):
        held = clock.now()

    assert held == told
    assert "set back" in caplog.text


def test_a_shared_clock_keeps_its_offset_when_the_file_cannot_be_read(
    wall: VirtualClock, clock_file: Path
) -> None:
    write_offset(clock_file, timedelta(hours=1))
    clock = SharedClock(clock_file, wall=wall)
    clock.now()

    clock_file.write_text("not a clock")

    assert clock.now() == START + timedelta(hours=1)


def test_a_real_moment_before_a_jump_is_read_with_the_offset_of_then(
    wall: VirtualClock, clock_file: Path
) -> None:
    clock = SharedClock(clock_file, wall=wall)
    clock.now()
    before_the_jump = wall.advance(timedelta(seconds=1))
    wall.advance(timedelta(seconds=1))

    write_offset(clock_file, timedelta(days=3))
    after_the_jump = wall.advance(timedelta(seconds=1))

    assert reading_at(clock, before_the_jump) == before_the_jump
    assert reading_at(clock, after_the_jump) == after_the_jump + timedelta(days=3)


def test_the_system_clock_reads_a_real_moment_as_itself() -> None:
    assert reading_at(SystemClock(), START) == START


def test_the_staleness_of_a_shared_clock_is_measured_on_the_real_one(
    wall: VirtualClock, clock_file: Path
) -> None:
    assert wall_clock(SharedClock(clock_file, wall=wall)) is wall
    assert wall_clock(wall) is wall


def test_the_clock_file_is_written_whole_and_read_back(clock_file: Path) -> None:
    write_offset(clock_file, timedelta(days=2, seconds=1.5))

    assert read_offset(clock_file) == timedelta(days=2, seconds=1.5)
    assert [p.name for p in clock_file.parent.iterdir()] == ["clock"]


def test_a_file_that_is_no_clock_file_is_refused(clock_file: Path) -> None:
    clock_file.write_text("{}")

    with pytest.raises(ClockError, match="not a clock file"):
        read_offset(clock_file)


@pytest.mark.parametrize(
    ("text", "span"),
    [
        ("3d", timedelta(days=3)),
        ("2h", timedelta(hours=2)),
        ("90s", timedelta(seconds=90)),
        ("15m", timedelta(minutes=15)),
        ("1w2d", timedelta(days=9)),
        ("1d12h", timedelta(days=1, hours=12)),
        ("1.5h", timedelta(minutes=90)),
    ],
)
def test_a_duration_is_a_number_and_a_unit(text: str, span: timedelta) -> None:
    assert parse_duration(text) == span


@pytest.mark.parametrize("text", ["", "3", "-1d", "3x", "d3", "2h 5"])
def test_anything_else_is_no_duration(text: str) -> None:
    with pytest.raises(ClockError, match="no duration"):
        parse_duration(text)


def test_the_services_run_on_the_system_clock_unless_told_of_a_clock_file(
    monkeypatch: pytest.MonkeyPatch, clock_file: Path
) -> None:
    monkeypatch.delenv("OVERDUE_CLOCK", raising=False)
    unset = clock_from_settings()
    monkeypatch.setenv("OVERDUE_CLOCK", "system")
    system = clock_from_settings()
    monkeypatch.setenv("OVERDUE_CLOCK", str(clock_file))
    shared = clock_from_settings()

    assert isinstance(unset, SystemClock)
    assert isinstance(system, SystemClock)
    assert isinstance(shared, SharedClock)
    assert shared.path == clock_file
