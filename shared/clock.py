"""Where "now" comes from: the system clock in production, a virtual one in tests,
and one kept in a file that the processes of `overdue up` share.

Every moment handed out is timezone-aware; code that compares moments or
turns them into a debtor's local date must never meet a naive datetime.
"""

import json
import logging
import os
import re
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol

from shared.settings import CommonSettings

logger = logging.getLogger(__name__)


class ClockError(ValueError):
    """A naive moment was given, or a virtual clock was asked to run backwards."""


def ensure_aware(moment: datetime) -> datetime:
    """Return `moment` if it carries a UTC offset; refuse a naive datetime."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ClockError(f"{moment.isoformat()} has no timezone")
    return moment


class Clock(Protocol):
    """Tells the current moment, always timezone-aware."""

    def now(self) -> datetime: ...


class SystemClock:
    """The machine's clock, in UTC."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class FixedClock:
    """A clock stopped at one moment."""

    def __init__(self, at: datetime) -> None:
        self._at = ensure_aware(at)

    def now(self) -> datetime:
        return self._at


class VirtualClock:
    """A clock that moves only when told to, and only forwards (simulation, tests)."""

    def __init__(self, start: datetime) -> None:
        self._now = ensure_aware(start)

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta) -> datetime:
        """Move forward by `delta` and return the new moment."""
        if delta < timedelta(0):
            raise ClockError(f"cannot move a virtual clock back by {-delta}")
        self._now = self._now + delta
        return self._now

    def advance_to(self, moment: datetime) -> datetime:
        """Move forward to `moment`; staying put is allowed, going back is not."""
        moment = ensure_aware(moment)
        if moment < self._now:
            raise ClockError(
                f"cannot move a virtual clock back from {self._now.isoformat()} "
                f"to {moment.isoformat()}"
            )
        self._now = moment
        return self._now


# -- a virtual clock several processes share through a file ------------------------

CLOCK_FILE_VERSION = 1
HISTORY = 64
"""Offsets a shared clock remembers, to tell what it read at a past real moment."""

_DURATION = re.compile(r"(\d+(?:\.\d+)?)([wdhms])")
_UNITS = {"w": "weeks", "d": "days", "h": "hours", "m": "minutes", "s": "seconds"}


def parse_duration(text: str) -> timedelta:
    """`3d`, `2h`, `90s`, `1w2d`, `1.5h`: a span forward; refuse anything else."""
    cleaned = text.strip().lower().replace(" ", "")
    parts = _DURATION.findall(cleaned)
    if not cleaned or "".join(n + u for n, u in parts) != cleaned:
        raise ClockError(
            f"{text!r} is no duration: write a number and a unit of w, d, h, m or s, "
            "such as 3d, 2h, 90s or 1d12h"
        )
    return sum(
        (timedelta(**{_UNITS[unit]: float(number)}) for number, unit in parts),
        timedelta(0),
    )


def read_offset(path: Path) -> timedelta | None:
    """The offset a clock file holds; None when there is no such file.

    A file that is not a clock file is refused with a `ClockError`.
    """
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        return timedelta(seconds=float(document["offset_seconds"]))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, TypeError, KeyError) as error:
        raise ClockError(f"{path} is not a clock file: {error}") from None


def write_offset(path: Path, offset: timedelta, *, now: datetime | None = None) -> None:
    """Keep `offset` in the clock file, written aside and renamed over it, so a
    process reading it meanwhile sees the old offset or the new, never half."""
    real = ensure_aware(now or datetime.now(UTC))
    document = {
        "version": CLOCK_FILE_VERSION,
        "offset_seconds": offset.total_seconds(),
        "written_at": real.isoformat(),
        "reads_then": (real + offset).isoformat(),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    os.replace(temporary, path)


class SharedClock:
    """The system time plus an offset kept in a file, so that several processes
    tell the same moment, and `overdue clock` moves them all at once.

    Every `now()` looks at the file's identity (inode and modification time)
    and reads it again when that changed. Within a process the clock never
    runs backwards: an offset made smaller holds the clock at the moment it
    last told until the real time catches up, and is warned of. A missing
    file is a zero offset; a file that cannot be read keeps the last one.
    """

    # TODO(#6): the file is one host's; services on several hosts would need
    # the offset where all of them read it (the database, say).
    def __init__(self, path: Path, *, wall: Clock | None = None) -> None:
        self.path = path
        self.wall: Clock = wall or SystemClock()
        """The real clock the offset is added to; staleness is measured on it."""
        self._identity: tuple[int, int] | None = None
        self._offset = timedelta(0)
        self._history: list[tuple[datetime, timedelta]] = []
        self._last: datetime | None = None
        # The services ask from worker threads; one look at a time.
        self._lock = threading.RLock()

    def now(self) -> datetime:
        with self._lock:
            real = self.wall.now()
            self._look(real)
            moment = real + self._offset
            if self._last is not None and moment < self._last:
                moment = self._last
            self._last = moment
            return moment

    def reading_at(self, real: datetime) -> datetime:
        """What this clock told at the real moment `real`, erring early.

        The offset used is the one this process had seen by then: a change it
        noticed late counts from when it noticed, which, the clock moving
        forwards, gives an earlier moment, never a later one.
        """
        with self._lock:
            told = self.now()
            offset = self._history[0][1] if self._history else timedelta(0)
            for seen, in_force in self._history:
                if seen > real:
                    break
                offset = in_force
            return min(ensure_aware(real) + offset, told)

    def _look(self, real: datetime) -> None:
        try:
            stat = os.stat(self.path)
            identity: tuple[int, int] | None = (stat.st_ino, stat.st_mtime_ns)
        except FileNotFoundError:
            identity = None
        if identity == self._identity and self._history:
            return
        self._identity = identity
        try:
            offset = read_offset(self.path) or timedelta(0)
        except ClockError:
            logger.warning("clock file unreadable, offset kept", exc_info=True)
            return
        if offset < self._offset and self._history:
            logger.warning(
                "clock file set back; this process's clock waits, never going back",
                extra={"clock_file": str(self.path), "by": str(self._offset - offset)},
            )
        if not self._history or offset != self._offset:
            self._history = [*self._history, (real, offset)][-HISTORY:]
        self._offset = offset


def reading_at(clock: Clock, real: datetime) -> datetime:
    """What `clock` told at the real moment `real`: the same moment for the system
    clock (and for clocks not tied to the real time), shifted for a shared one."""
    if isinstance(clock, SharedClock):
        return clock.reading_at(real)
    return real


def wall_clock(clock: Clock) -> Clock:
    """The clock that measures how long a process has been silent: the real one
    behind a shared virtual clock, which a jump forward must not age; else
    `clock` itself."""
    return clock.wall if isinstance(clock, SharedClock) else clock


SYSTEM = "system"


def clock_from_settings(settings: CommonSettings | None = None) -> Clock:
    """The clock a service process runs on: `OVERDUE_CLOCK` unset or `system`,
    the system clock; a file's path, the virtual clock kept in that file."""
    choice = (settings or CommonSettings()).clock.strip()
    if choice in ("", SYSTEM):
        return SystemClock()
    return SharedClock(Path(choice).expanduser())
