"""Where "now" comes from: the system clock in production, a virtual one in tests.

Every moment handed out is timezone-aware; code that compares moments or
turns them into a debtor's local date must never meet a naive datetime.
"""

from datetime import UTC, datetime, timedelta
from typing import Protocol


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
