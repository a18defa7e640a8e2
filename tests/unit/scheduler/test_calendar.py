"""The debtor's calendar: allowed days and the slot of the send window, rule by rule."""

from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.scheduler.domain import calendar as calendar_module
from services.scheduler.domain.calendar import (
    CalendarError,
    DebtorCalendar,
    holidays_in,
)
from shared.clock import ClockError
from shared.policy.model import WEEKDAYS, Policy, SendWindow, Weekday

WORKING_WEEK: list[Weekday] = ["mon", "tue", "wed", "thu", "fri"]
WHOLE_WEEK: list[Weekday] = list(WEEKDAYS)


def calendar(
    *,
    tz: str = "Europe/Berlin",
    country: str | None = "DE",
    start: str = "09:00",
    end: str = "17:00",
    days: list[Weekday] | None = None,
    skip_holidays: bool = True,
) -> DebtorCalendar:
    return DebtorCalendar(
        timezone=tz,
        country=country,
        window=SendWindow(
            start=time.fromisoformat(start),
            end=time.fromisoformat(end),
            days=WORKING_WEEK if days is None else days,
        ),
        skip_holidays=skip_holidays,
    )


def at(text: str, tz: str = "Europe/Berlin") -> datetime:
    """A wall time in `tz`, or the moment itself when `text` carries an offset."""
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(tz))
    return moment


def day(text: str) -> date:
    return date.fromisoformat(text)


SLOTS = [
    ("window start on D when now is before it", "2026-06-10 07:00", "2026-06-10",
     "2026-06-10T09:00:00+02:00"),
    ("window start on a later D", "2026-06-10 12:00", "2026-06-12",
     "2026-06-12T09:00:00+02:00"),
    ("now itself when the window is open and D is today", "2026-06-10 12:34:56",
     "2026-06-10", "2026-06-10T12:34:56+02:00"),
    ("now itself at the very opening", "2026-06-10 09:00", "2026-06-10",
     "2026-06-10T09:00:00+02:00"),
    ("now itself just before the end", "2026-06-10 16:59:59.999999", "2026-06-10",
     "2026-06-10T16:59:59.999999+02:00"),
    ("the next day when now is exactly the end", "2026-06-10 17:00", "2026-06-10",
     "2026-06-11T09:00:00+02:00"),
    ("Monday's start after Friday's window closed", "2026-06-12 17:30",
     "2026-06-12", "2026-06-15T09:00:00+02:00"),
    ("Monday's start for a Saturday", "2026-06-13 10:00", "2026-06-13",
     "2026-06-15T09:00:00+02:00"),
    ("Monday's start for a Sunday D", "2026-06-10 12:00", "2026-06-14",
     "2026-06-15T09:00:00+02:00"),
    ("now when D is in the past and the window is open", "2026-06-10 12:00",
     "2026-06-01", "2026-06-10T12:00:00+02:00"),
    ("tomorrow when D is in the past and today's window closed",
     "2026-06-10 18:00", "2026-06-01", "2026-06-11T09:00:00+02:00"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("now", "d", "expected"),
    [case[1:] for case in SLOTS],
    ids=[case[0] for case in SLOTS],
)
def test_the_slot_is_the_earliest_window_moment_not_before_now(
    now: str, d: str, expected: str
) -> None:
    debtor = calendar()

    slot = debtor.slot(day(d), at(now))

    assert slot.isoformat() == expected
    assert slot.tzinfo == ZoneInfo("Europe/Berlin")


HOLIDAYS = [
    ("DE Good Friday and Easter Monday", "DE", "Europe/Berlin", WORKING_WEEK,
     "2026-04-02 18:00", "2026-04-02",
     "2026-04-07T09:00:00+02:00", "2026-04-03T09:00:00+02:00"),
    ("DE Easter Monday", "DE", "Europe/Berlin", WORKING_WEEK,
     "2026-04-01 10:00", "2026-04-06",
     "2026-04-07T09:00:00+02:00", "2026-04-06T09:00:00+02:00"),
    ("DE Christmas Day, then the weekend", "DE", "Europe/Berlin", WORKING_WEEK,
     "2026-12-20 10:00", "2026-12-25",
     "2026-12-28T09:00:00+01:00", "2026-12-25T09:00:00+01:00"),
    ("DE Second Day of Christmas in a seven-day week", "DE", "Europe/Berlin",
     WHOLE_WEEK, "2026-12-20 10:00", "2026-12-25",
     "2026-12-27T09:00:00+01:00", "2026-12-25T09:00:00+01:00"),
    ("DE New Year's Day", "DE", "Europe/Berlin", WORKING_WEEK,
     "2026-12-30 10:00", "2027-01-01",
     "2027-01-04T09:00:00+01:00", "2027-01-01T09:00:00+01:00"),
    ("GB Boxing Day observed on Monday 28 December", "GB", "Europe/London",
     WORKING_WEEK, "2026-12-20 10:00", "2026-12-25",
     "2026-12-29T09:00:00+00:00", "2026-12-25T09:00:00+00:00"),
    ("US New Year's Day observed in the year before", "US", "America/New_York",
     WORKING_WEEK, "2021-12-30 10:00", "2021-12-31",
     "2022-01-03T09:00:00-05:00", "2021-12-31T09:00:00-05:00"),
    ("AT Immaculate Conception", "AT", "Europe/Vienna", WORKING_WEEK,
     "2026-12-07 18:00", "2026-12-08",
     "2026-12-09T09:00:00+01:00", "2026-12-08T09:00:00+01:00"),
    ("FR Armistice Day", "FR", "Europe/Paris", WORKING_WEEK,
     "2026-11-10 18:00", "2026-11-11",
     "2026-11-12T09:00:00+01:00", "2026-11-11T09:00:00+01:00"),
    ("a lower-case country code", "de", "Europe/Berlin", WORKING_WEEK,
     "2026-12-20 10:00", "2026-12-25",
     "2026-12-28T09:00:00+01:00", "2026-12-25T09:00:00+01:00"),
    ("no holidays for an unknown country", "XX", "Europe/Berlin", WORKING_WEEK,
     "2026-12-20 10:00", "2026-12-25",
     "2026-12-25T09:00:00+01:00", "2026-12-25T09:00:00+01:00"),
    ("no holidays without a country", None, "Europe/Berlin", WORKING_WEEK,
     "2026-12-20 10:00", "2026-12-25",
     "2026-12-25T09:00:00+01:00", "2026-12-25T09:00:00+01:00"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("country", "tz", "days", "now", "d", "skipping", "not_skipping"),
    [case[1:] for case in HOLIDAYS],
    ids=[case[0] for case in HOLIDAYS],
)
def test_public_holidays_are_skipped_only_with_skip_holidays(
    country: str | None,
    tz: str,
    days: list[Weekday],
    now: str,
    d: str,
    skipping: str,
    not_skipping: str,
) -> None:
    skips = calendar(tz=tz, country=country, days=days, skip_holidays=True)
    keeps = calendar(tz=tz, country=country, days=days, skip_holidays=False)

    slots = (skips.slot(day(d), at(now, tz)), keeps.slot(day(d), at(now, tz)))

    assert [slot.isoformat() for slot in slots] == [skipping, not_skipping]


@pytest.mark.parametrize(
    ("country", "year", "present", "absent"),
    [
        ("GB", 2026, "2026-12-28", "2026-04-06"),
        ("DE", 2026, "2026-04-06", "2026-12-28"),
        ("US", 2021, "2021-12-31", "2022-01-01"),
        ("US", 2022, "2022-01-01", "2021-12-31"),
    ],
)
def test_holidays_of_a_year_are_the_country_s_public_holidays_falling_in_it(
    country: str, year: int, present: str, absent: str
) -> None:
    found = holidays_in(country, year)

    assert day(present) in found
    assert day(absent) not in found


@pytest.mark.parametrize("country", [None, "", "XX", "ZZ"])
def test_a_missing_or_unknown_country_has_no_holidays(country: str | None) -> None:
    found = holidays_in(country, 2026)

    assert found == frozenset()


@pytest.mark.parametrize(
    ("d", "allowed"),
    [
        ("2026-06-10", True),  # a Wednesday
        ("2026-06-13", False),  # a Saturday
        ("2026-04-03", False),  # Good Friday
        ("2026-10-03", False),  # a Saturday and German Unity Day
        ("2026-10-05", True),  # the Monday after
    ],
)
def test_an_allowed_day_is_an_allowed_weekday_that_is_not_a_holiday(
    d: str, allowed: bool
) -> None:
    debtor = calendar()

    result = debtor.is_allowed_day(day(d))

    assert result is allowed


DST = [
    ("Europe/Berlin", "2026-03-28", "2026-03-28T09:00:00+01:00"),
    ("Europe/Berlin", "2026-03-29", "2026-03-29T09:00:00+02:00"),
    ("Europe/Berlin", "2026-03-30", "2026-03-30T09:00:00+02:00"),
    ("Europe/Berlin", "2026-10-24", "2026-10-24T09:00:00+02:00"),
    ("Europe/Berlin", "2026-10-25", "2026-10-25T09:00:00+01:00"),
    ("Europe/Berlin", "2026-10-26", "2026-10-26T09:00:00+01:00"),
    ("America/New_York", "2026-03-07", "2026-03-07T09:00:00-05:00"),
    ("America/New_York", "2026-03-08", "2026-03-08T09:00:00-04:00"),
    ("America/New_York", "2026-03-09", "2026-03-09T09:00:00-04:00"),
    ("America/New_York", "2026-10-31", "2026-10-31T09:00:00-04:00"),
    ("America/New_York", "2026-11-01", "2026-11-01T09:00:00-05:00"),
    ("America/New_York", "2026-11-02", "2026-11-02T09:00:00-05:00"),
]


@pytest.mark.parametrize(("tz", "d", "expected"), DST)
def test_the_window_opens_at_its_local_wall_time_across_dst_changes(
    tz: str, d: str, expected: str
) -> None:
    debtor = calendar(tz=tz, country=None, days=WHOLE_WEEK)
    a_week_before = datetime.combine(day(d) - timedelta(days=7), time(12), UTC)

    slot = debtor.slot(day(d), a_week_before)

    assert slot.isoformat() == expected


@pytest.mark.parametrize(
    ("tz", "now", "expected"),
    [
        ("Europe/Berlin", "2026-03-29T15:30:00+00:00", "2026-03-30T09:00:00+02:00"),
        ("Europe/Berlin", "2026-10-25T16:30:00+00:00", "2026-10-26T09:00:00+01:00"),
        ("America/New_York", "2026-03-08T21:30:00+00:00", "2026-03-09T09:00:00-04:00"),
        ("America/New_York", "2026-11-01T22:30:00+00:00", "2026-11-02T09:00:00-05:00"),
    ],
)
def test_after_the_window_of_a_dst_day_closes_the_next_day_opens_at_nine(
    tz: str, now: str, expected: str
) -> None:
    debtor = calendar(tz=tz, country=None, days=WHOLE_WEEK)
    now_moment = at(now)

    slot = debtor.slot(debtor.local_date(now_moment), now_moment)

    assert slot.isoformat() == expected


GAPS_AND_FOLDS = [
    ("a start lost to spring-forward opens when the gap ends", "Europe/Berlin",
     "02:30", "17:00", "2026-03-29", "2026-03-28T12:00:00+00:00",
     "2026-03-29T03:00:00+02:00"),
    ("a start lost to spring-forward opens when the gap ends (New York)",
     "America/New_York", "02:30", "17:00", "2026-03-08",
     "2026-03-07T12:00:00+00:00", "2026-03-08T03:00:00-04:00"),
    ("a start repeated by fall-back opens at its first occurrence",
     "Europe/Berlin", "02:30", "17:00", "2026-10-25", "2026-10-24T12:00:00+00:00",
     "2026-10-25T02:30:00+02:00"),
    ("a start repeated by fall-back opens at its first occurrence (New York)",
     "America/New_York", "01:30", "17:00", "2026-11-01",
     "2026-10-31T12:00:00+00:00", "2026-11-01T01:30:00-04:00"),
    ("a window wholly inside the gap is empty that day", "Europe/Berlin",
     "02:00", "02:59", "2026-03-29", "2026-03-28T12:00:00+00:00",
     "2026-03-30T02:00:00+02:00"),
    ("an end lost to spring-forward closes when the gap ends: open before",
     "Europe/Berlin", "01:00", "02:30", "2026-03-29", "2026-03-29T00:59:00+00:00",
     "2026-03-29T01:59:00+01:00"),
    ("an end lost to spring-forward closes when the gap ends: closed at it",
     "Europe/Berlin", "01:00", "02:30", "2026-03-29", "2026-03-29T01:00:00+00:00",
     "2026-03-30T01:00:00+02:00"),
    ("an end repeated by fall-back closes at its first occurrence",
     "America/New_York", "01:00", "01:45", "2026-11-01",
     "2026-11-01T01:10:00-05:00", "2026-11-02T01:00:00-05:00"),
    ("inside the first occurrence of a fold the window is open",
     "America/New_York", "01:00", "01:45", "2026-11-01",
     "2026-11-01T01:10:00-04:00", "2026-11-01T01:10:00-04:00"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("tz", "start", "end", "d", "now", "expected"),
    [case[1:] for case in GAPS_AND_FOLDS],
    ids=[case[0] for case in GAPS_AND_FOLDS],
)
def test_a_window_edge_inside_a_dst_gap_or_fold_is_resolved_as_specified(
    tz: str, start: str, end: str, d: str, now: str, expected: str
) -> None:
    debtor = calendar(tz=tz, country=None, start=start, end=end, days=WHOLE_WEEK)

    slot = debtor.slot(day(d), at(now))

    assert slot.isoformat() == expected


ELSEWHERE = [
    ("New York, before its window", "America/New_York", "2026-06-10T12:00:00+00:00",
     "2026-06-10", "2026-06-10T09:00:00-04:00"),
    ("New York, inside its window", "America/New_York", "2026-06-10T15:00:00+00:00",
     "2026-06-10", "2026-06-10T11:00:00-04:00"),
    ("Tokyo, already tomorrow there", "Asia/Tokyo", "2026-06-10T23:30:00+00:00",
     "2026-06-10", "2026-06-11T09:00:00+09:00"),
    ("Berlin, now given at +05:30", "Europe/Berlin", "2026-06-10T12:00:00+05:30",
     "2026-06-10", "2026-06-10T09:00:00+02:00"),
    ("Berlin, now given in New York after Berlin closed", "Europe/Berlin",
     "2026-06-12T12:00:00-04:00", "2026-06-12", "2026-06-15T09:00:00+02:00"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("tz", "now", "d", "expected"),
    [case[1:] for case in ELSEWHERE],
    ids=[case[0] for case in ELSEWHERE],
)
def test_a_debtor_in_another_zone_than_now_gets_a_slot_in_their_own_zone(
    tz: str, now: str, d: str, expected: str
) -> None:
    debtor = calendar(tz=tz, country=None)

    slot = debtor.slot(day(d), at(now))

    assert slot.isoformat() == expected
    assert slot.tzinfo == ZoneInfo(tz)


@pytest.mark.parametrize(
    ("tz", "expected"),
    [("Asia/Tokyo", "2026-06-11"), ("America/New_York", "2026-06-10")],
)
def test_the_local_date_is_the_debtor_s_date_at_that_moment(
    tz: str, expected: str
) -> None:
    debtor = calendar(tz=tz, country=None)

    local = debtor.local_date(at("2026-06-10T23:30:00+00:00"))

    assert local == day(expected)


def test_a_naive_now_is_refused() -> None:
    debtor = calendar()

    with pytest.raises(ClockError):
        debtor.slot(day("2026-06-10"), datetime(2026, 6, 10, 12))
    with pytest.raises(ClockError):
        debtor.local_date(datetime(2026, 6, 10, 12))


def test_an_unknown_timezone_is_refused() -> None:
    with pytest.raises(CalendarError):
        calendar(tz="Mars/Olympus_Mons")


def test_the_search_gives_up_when_no_allowed_day_exists(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    class EveryDay(frozenset[date]):
        def __contains__(self, item: object) -> bool:
            return True

    monkeypatch.setattr(calendar_module, "holidays_in", lambda c, y: EveryDay())
    debtor = calendar(days=["sat"])

    with pytest.raises(CalendarError, match="no allowed day"):
        debtor.slot(day("2026-06-10"), at("2026-06-10 12:00"))


def test_the_search_gives_up_at_the_end_of_the_calendar() -> None:
    debtor = calendar(country=None, days=["mon"])

    with pytest.raises(CalendarError, match="no allowed day"):
        debtor.slot(date.max, at("2026-06-10 12:00"))


def test_a_calendar_for_a_policy_takes_its_window_and_holiday_rule() -> None:
    policy = Policy.model_validate(
        {
            "name": "Test",
            "send_window": {"start": "08:00", "end": "12:00", "days": ["sat"]},
            "skip_holidays": False,
            "ladder": [{"stage": "reminder", "after_days": 7, "channels": ["email"]}],
        }
    )

    debtor = DebtorCalendar.for_policy(policy, timezone="Europe/Paris", country="FR")

    assert debtor.window == policy.send_window
    assert debtor.skip_holidays is False
    assert (debtor.timezone, debtor.country) == ("Europe/Paris", "FR")
    assert debtor.slot(
        day("2026-06-10"), at("2026-06-10T12:00:00+00:00")
    ).isoformat() == ("2026-06-13T08:00:00+02:00")


# Properties: zones with 30-minute and 45-minute offsets and southern DST too.
DEBTOR_ZONES = [
    "Europe/Berlin",
    "Europe/London",
    "America/New_York",
    "America/Sao_Paulo",
    "Asia/Tokyo",
    "Asia/Kolkata",
    "Australia/Lord_Howe",
    "Pacific/Chatham",
    "UTC",
]
COUNTRIES = ["DE", "GB", "US", "AT", "FR", "BR", None, "XX"]

fixed_offsets = st.integers(min_value=-12 * 4, max_value=14 * 4).map(
    lambda quarters: timezone(timedelta(minutes=15 * quarters))
)
now_zones: st.SearchStrategy[tzinfo] = st.one_of(fixed_offsets, st.timezones())
nows = st.datetimes(
    min_value=datetime(2000, 1, 1),
    max_value=datetime(2040, 12, 31),
    timezones=now_zones,
    allow_imaginary=False,
)


@st.composite
def windows(draw: st.DrawFn) -> SendWindow:
    start = draw(st.integers(min_value=0, max_value=24 * 60 - 2))
    end = draw(st.integers(min_value=start + 1, max_value=24 * 60 - 1))
    days = draw(st.lists(st.sampled_from(WEEKDAYS), min_size=1, unique=True))
    return SendWindow(
        start=time(*divmod(start, 60)), end=time(*divmod(end, 60)), days=days
    )


@st.composite
def calendars(draw: st.DrawFn) -> DebtorCalendar:
    return DebtorCalendar(
        timezone=draw(st.sampled_from(DEBTOR_ZONES)),
        country=draw(st.sampled_from(COUNTRIES)),
        window=draw(windows()),
        skip_holidays=draw(st.booleans()),
    )


@settings(deadline=None, max_examples=300)
@given(
    debtor=calendars(),
    now=nows,
    shift=st.integers(min_value=-60, max_value=60),
)
def test_the_slot_is_the_first_window_moment_of_an_allowed_day_not_before_now_or_d(
    debtor: DebtorCalendar, now: datetime, shift: int
) -> None:
    d = debtor.local_date(now) + timedelta(days=shift)

    slot = debtor.slot(d, now)

    local = debtor.local_date(slot)
    start, end = debtor.window_on(local)
    now_utc, slot_utc = now.astimezone(UTC), slot.astimezone(UTC)
    assert slot.tzinfo is debtor.zone
    assert slot_utc >= now_utc
    assert local >= d
    assert debtor.is_allowed_day(local)
    assert WEEKDAYS[local.weekday()] in debtor.window.days
    if debtor.skip_holidays:
        assert local not in holidays_in(debtor.country, local.year)
    assert start.astimezone(UTC) <= slot_utc < end.astimezone(UTC)
    assert slot_utc in (now_utc, start.astimezone(UTC))
    earlier = max(d, debtor.local_date(now) - timedelta(days=1))
    while earlier < local:
        if debtor.is_allowed_day(earlier):
            opens, closes = debtor.window_on(earlier)
            assert closes <= opens or closes.astimezone(UTC) <= now_utc
        earlier += timedelta(days=1)


@settings(deadline=None, max_examples=300)
@given(
    tz=st.sampled_from(DEBTOR_ZONES),
    d=st.dates(min_value=date(2000, 1, 1), max_value=date(2040, 12, 31)),
    minute=st.integers(min_value=0, max_value=24 * 60 - 2),
)
def test_a_window_opens_at_its_wall_time_or_when_the_gap_hiding_it_ends(
    tz: str, d: date, minute: int
) -> None:
    wall = time(*divmod(minute, 60))
    debtor = calendar(tz=tz, country=None, start=wall.isoformat(), end="23:59")

    opens, _ = debtor.window_on(d)

    local = opens.replace(tzinfo=None)
    asked = datetime.combine(d, wall)
    assert local >= asked
    if local != asked:
        just_before = (opens.astimezone(UTC) - timedelta(seconds=1)).astimezone(
            debtor.zone
        )
        assert just_before.replace(tzinfo=None) < asked
    else:
        assert opens.fold == 0
