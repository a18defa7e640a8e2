"""When a contact may reach a debtor: the send window on allowed days (SPEC §3).

Local time is the debtor's IANA timezone; public holidays are those of the
debtor's country (ISO 3166 alpha-2). "Now" is always passed in, never read
from a clock, so every answer depends on its arguments alone.

Moments are compared in UTC: two aware datetimes sharing one `ZoneInfo`
compare by wall time, which is wrong across a DST fold.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays

from shared.clock import ensure_aware
from shared.policy.model import WEEKDAYS, Policy, SendWindow

SEARCH_DAYS: Final = 366 * 2
"""How many days past D the search for an allowed day goes before giving up."""


class CalendarError(ValueError):
    """A calendar cannot be made, or no allowed day exists within the search cap."""


@lru_cache(maxsize=4096)
def holidays_in(country: str | None, year: int) -> frozenset[date]:
    """The public holidays of `country` falling in `year`; none for an unknown one.

    A missing country, or a code the `holidays` package does not support,
    means no holidays at all. Codes are read case-insensitively.
    """
    if not country:
        return frozenset()
    try:
        # Observed days can move across New Year (US: 2021-12-31 observes
        # 2022-01-01), so the neighbouring years are asked too and filtered.
        found = holidays.country_holidays(
            country.upper(), years=(year - 1, year, year + 1)
        )
    except NotImplementedError:
        return frozenset()
    return frozenset(day for day in found if day.year == year)


@dataclass(frozen=True, slots=True)
class DebtorCalendar:
    """A debtor's local days and send window: which days count, when to send."""

    timezone: str
    country: str | None
    window: SendWindow
    skip_holidays: bool
    _zone: ZoneInfo = dataclasses.field(init=False, repr=False, compare=False)
    _weekdays: frozenset[int] = dataclasses.field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        try:
            zone = ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise CalendarError(f"{self.timezone!r} is not an IANA timezone") from None
        # Frozen: derived fields are set once, here, and never again.
        object.__setattr__(self, "_zone", zone)
        object.__setattr__(
            self, "_weekdays", frozenset(WEEKDAYS.index(d) for d in self.window.days)
        )

    @classmethod
    def for_policy(
        cls, policy: Policy, *, timezone: str, country: str | None
    ) -> DebtorCalendar:
        """The calendar of a debtor in `timezone` and `country` under `policy`."""
        return cls(
            timezone=timezone,
            country=country,
            window=policy.send_window,
            skip_holidays=policy.skip_holidays,
        )

    @property
    def zone(self) -> ZoneInfo:
        """The debtor's timezone."""
        return self._zone

    def local_date(self, moment: datetime) -> date:
        """The debtor's local date at an aware `moment`."""
        return ensure_aware(moment).astimezone(self._zone).date()

    def is_holiday(self, day: date) -> bool:
        """Whether `day` is a public holiday of the debtor's country."""
        return day in holidays_in(self.country, day.year)

    def is_allowed_day(self, day: date) -> bool:
        """An allowed weekday that, with skip_holidays, is not a public holiday."""
        if day.weekday() not in self._weekdays:
            return False
        return not (self.skip_holidays and self.is_holiday(day))

    def start_of(self, day: date) -> datetime:
        """The first moment of local `day`: midnight, or the end of a gap there."""
        return self._moment(day, time(0)).astimezone(self._zone)

    def window_on(self, day: date) -> tuple[datetime, datetime]:
        """The window's opening and closing moments on local `day`, in the zone.

        A wall time lost to spring-forward becomes the first moment after the
        gap; one repeated by fall-back is its first occurrence. The window is
        empty (end <= start) when both ends fall into the same gap.
        """
        start = self._moment(day, self.window.start)
        end = self._moment(day, self.window.end)
        return start.astimezone(self._zone), end.astimezone(self._zone)

    def slot(self, day: date, now: datetime) -> datetime:
        """The earliest moment, not before now, in the window of an allowed day >= D."""
        now_utc = ensure_aware(now).astimezone(UTC)
        # Days before today's local date end before now; one day back is kept
        # because a zone falling back across midnight repeats part of a date.
        today = now_utc.astimezone(self._zone).date()
        first = max(day, today - timedelta(days=1))
        try:
            for offset in range(SEARCH_DAYS + 1):
                candidate = first + timedelta(days=offset)
                if not self.is_allowed_day(candidate):
                    continue
                start = self._moment(candidate, self.window.start)
                end = self._moment(candidate, self.window.end)
                if end > now_utc and end > start:
                    return max(start, now_utc).astimezone(self._zone)
        except OverflowError:
            raise CalendarError(
                "no allowed day before the end of the calendar"
            ) from None
        raise CalendarError(
            f"no allowed day within {SEARCH_DAYS} days of {first.isoformat()}"
        )

    def _moment(self, day: date, at: time) -> datetime:
        """The UTC moment of wall time `at` on `day`: after a gap, first of a fold."""
        wall = datetime.combine(day, at, tzinfo=self._zone)  # fold=0: first occurrence
        moment = wall.astimezone(UTC)
        # A wall time exists when it survives the round trip; the naive
        # comparison is deliberate, it asks about the wall clock itself.
        if moment.astimezone(self._zone).replace(tzinfo=None) == wall.replace(
            tzinfo=None
        ):
            return moment
        return _after_gap(wall, self._zone)


def _after_gap(wall: datetime, zone: ZoneInfo) -> datetime:
    """The first existing moment after the gap that swallowed `wall`, in UTC."""
    # In a gap, the two folds read `wall` with the offsets on either side of
    # the transition: one UTC reading lies before it, the other after it.
    readings = (wall.astimezone(UTC), wall.replace(fold=1).astimezone(UTC))
    naive = wall.replace(tzinfo=None)
    low = int(min(readings).timestamp()) - 1
    high = int(max(readings).timestamp()) + 1
    # tzdata transitions fall on whole seconds: bisect for the first second
    # whose local wall time is past the missing one (low: before, high: after).
    while high - low > 1:
        middle = (low + high) // 2
        local = datetime.fromtimestamp(middle, UTC).astimezone(zone)
        if local.replace(tzinfo=None) > naive:
            high = middle
        else:
            low = middle
    return datetime.fromtimestamp(high, UTC)
