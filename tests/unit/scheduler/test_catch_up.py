"""Timers wait for the consumers of ledger.events: the rule, and the service."""

import logging
from datetime import datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from aiokafka import TopicPartition
from sqlalchemy import Engine

from services.scheduler.catch_up import LedgerProgress
from services.scheduler.service import Scheduler
from services.scheduler.service.catch_up import STALE_AFTER, Watermark, horizon
from shared.clock import SharedClock, VirtualClock, reading_at, write_offset
from shared.topics import LEDGER_EVENTS
from tests.support.scheduler import (
    at,
    contacts,
    creditor_updated,
    debtor_upserted,
    invoice_issued,
    outbox,
    payment_received,
)

REMINDER_SLOT = at("2026-01-20", "09:00")
START = at("2026-01-20", "08:00")
SECOND = timedelta(seconds=1)


# -- the rule -------------------------------------------------------------------


def test_the_slowest_partition_bounds_the_horizon() -> None:
    now = START
    marks = [
        Watermark(0, now - 3 * SECOND, now),
        Watermark(1, now - SECOND, now),
    ]

    found = horizon(marks, now, since=now - timedelta(hours=1))

    assert found.until == now - 3 * SECOND
    assert found.ignored == ()


def test_the_horizon_is_never_later_than_now() -> None:
    marks = [Watermark(0, START + SECOND, START)]

    assert horizon(marks, START, since=START).until == START


def test_a_partition_never_caught_up_holds_every_timer() -> None:
    marks = [Watermark(0, START, START), Watermark(1, None, START)]

    assert horizon(marks, START, since=START).until is None


def test_a_partition_whose_owner_went_silent_is_left_out_after_a_while() -> None:
    silent_since = START - STALE_AFTER - SECOND
    marks = [
        Watermark(0, START - SECOND, START),
        Watermark(1, silent_since, silent_since),
    ]

    found = horizon(marks, START, since=START - timedelta(hours=1))

    assert found.until == START - SECOND
    assert found.ignored == (1,)


def test_after_a_restart_a_silent_partition_holds_timers_while_consumers_join() -> None:
    long_ago = START - timedelta(hours=2)
    marks = [Watermark(0, long_ago, long_ago)]

    just_started = horizon(marks, START, since=START - SECOND)
    too_long = horizon(marks, START + STALE_AFTER, since=START - SECOND)

    assert just_started.until == long_ago
    assert too_long.until == START + STALE_AFTER
    assert too_long.ignored == (0,)


def test_with_no_report_at_all_nothing_fires_until_the_wait_is_over() -> None:
    early = horizon([], START + SECOND, since=START)
    late = horizon([], START + STALE_AFTER + SECOND, since=START)

    assert early.until is None
    assert late.until == START + STALE_AFTER + SECOND
    assert late.unreported


# -- the service on SQLite, its clock injected ---------------------------------------


@pytest.fixture
def scheduler(engine: Engine, clock: VirtualClock) -> Scheduler:
    return Scheduler(engine, clock, wait_for_ledger=True)


def debtor_with_invoice(scheduler: Scheduler, clock: VirtualClock) -> None:
    scheduler.report_caught_up("test", {0: clock.now(), 1: clock.now()})
    scheduler.follow_creditor(creditor_updated(clock.now()))
    scheduler.follow_ledger_many(
        [debtor_upserted(clock.now()), invoice_issued(clock.now())]
    )


def test_a_timer_waits_while_a_partition_is_caught_up_only_to_before_its_moment(
    scheduler: Scheduler, clock: VirtualClock, engine: Engine
) -> None:
    debtor_with_invoice(scheduler, clock)
    clock.advance_to(REMINDER_SLOT + SECOND)
    scheduler.report_caught_up("test", {0: REMINDER_SLOT + SECOND})
    scheduler.report_caught_up("test", {1: REMINDER_SLOT - SECOND})

    scheduler.fire_due(clock.now())

    assert [c["template"] for c in contacts(engine)] == []


def test_a_timer_fires_once_every_partition_is_caught_up_to_its_moment(
    scheduler: Scheduler, clock: VirtualClock, engine: Engine
) -> None:
    debtor_with_invoice(scheduler, clock)
    clock.advance_to(REMINDER_SLOT + 2 * SECOND)
    scheduler.report_caught_up("test", {0: REMINDER_SLOT + SECOND, 1: REMINDER_SLOT})

    fired = scheduler.fire_due(clock.now())

    reminders = [c for c in contacts(engine) if c["template"] == "reminder"]
    assert fired == 1
    assert [r["due_at"] for r in reminders] == [REMINDER_SLOT.isoformat()]


def test_a_payment_applied_while_its_timer_waited_for_the_consumers_prevents_it(
    scheduler: Scheduler, clock: VirtualClock, engine: Engine
) -> None:
    debtor_with_invoice(scheduler, clock)
    clock.advance_to(REMINDER_SLOT - 2 * SECOND)
    recorded_before_the_slot = payment_received(clock.now())
    clock.advance_to(REMINDER_SLOT + 5 * SECOND)
    scheduler.report_caught_up("test", {0: REMINDER_SLOT - 3 * SECOND})
    scheduler.report_caught_up("test", {1: clock.now()})
    scheduler.fire_due(clock.now())
    held = [c["template"] for c in contacts(engine)]

    scheduler.follow_ledger_many([recorded_before_the_slot])
    scheduler.report_caught_up("test", {0: clock.now()})
    scheduler.fire_due(clock.now())

    assert held == []
    assert [c["template"] for c in contacts(engine)] == []


def test_an_owner_silent_for_too_long_stops_holding_timers_and_is_warned_of(
    scheduler: Scheduler,
    clock: VirtualClock,
    engine: Engine,
    caplog: pytest.LogCaptureFixture,
) -> None:
    debtor_with_invoice(scheduler, clock)
    clock.advance_to(REMINDER_SLOT)
    scheduler.report_caught_up("test", {0: REMINDER_SLOT})
    clock.advance_to(REMINDER_SLOT + STALE_AFTER + SECOND)
    scheduler.report_caught_up("test", {0: clock.now()})

    with caplog.at_level(logging.WARNING):
        fired = scheduler.fire_due(clock.now())

    assert fired == 1
    assert "ledger.events partitions silent" in caplog.text
    assert [r.partitions for r in caplog.records if hasattr(r, "partitions")] == [[1]]


def test_a_poll_advances_its_collections_only_as_far_as_the_consumers_caught_up(
    scheduler: Scheduler, clock: VirtualClock, engine: Engine
) -> None:
    scheduler.report_caught_up("test", {0: clock.now()})
    scheduler.follow_creditor(creditor_updated(clock.now()))
    clock.advance_to(REMINDER_SLOT + 5 * SECOND)
    scheduler.report_caught_up("test", {0: REMINDER_SLOT - SECOND})

    scheduler.follow_ledger_many(
        [debtor_upserted(clock.now()), invoice_issued(clock.now())]
    )
    before = [c["template"] for c in contacts(engine)]
    scheduler.report_caught_up("test", {0: clock.now()})
    scheduler.fire_due(clock.now())

    assert before == []
    assert [c["template"] for c in contacts(engine)] == ["reminder"]


def test_without_waiting_for_the_ledger_timers_fire_at_now_as_before(
    engine: Engine, clock: VirtualClock
) -> None:
    scheduler = Scheduler(engine, clock)
    scheduler.follow_creditor(creditor_updated(clock.now()))
    scheduler.follow_ledger_many(
        [debtor_upserted(clock.now()), invoice_issued(clock.now())]
    )

    fired = scheduler.fire_due(REMINDER_SLOT)

    assert fired == 1


def test_each_partition_bounds_only_the_timers_of_the_debtors_on_it():
    marks = [
        Watermark(0, REMINDER_SLOT + SECOND, REMINDER_SLOT),
        Watermark(1, None, REMINDER_SLOT),
    ]

    found = horizon(marks, REMINDER_SLOT + 2 * SECOND, REMINDER_SLOT)

    assert found.until is None
    assert found.by_partition == {0: REMINDER_SLOT + SECOND, 1: None}


def reminded(engine: Engine) -> list[str | None]:
    return [e.debtor for e in outbox(engine) if e.data.get("template") == "reminder"]


def test_a_debtor_waits_only_for_the_consumer_of_its_own_partition(
    scheduler: Scheduler, clock: VirtualClock, engine: Engine
) -> None:
    scheduler.report_caught_up("test", {0: clock.now(), 1: clock.now()})
    scheduler.follow_creditor(creditor_updated(clock.now()))
    scheduler.follow_ledger_many(
        [
            debtor_upserted(clock.now(), debtor="d1"),
            invoice_issued(clock.now(), debtor="d1"),
            debtor_upserted(clock.now(), debtor="d2"),
            invoice_issued(clock.now(), debtor="d2", number="INV-2"),
        ],
        partitions=[0, 0, 1, 1],
    )
    clock.advance_to(REMINDER_SLOT + 2 * SECOND)
    scheduler.report_caught_up("test", {0: REMINDER_SLOT + SECOND, 1: None})

    scheduler.fire_due(clock.now())
    while_one_lags = reminded(engine)
    scheduler.report_caught_up("test", {1: REMINDER_SLOT + SECOND})
    scheduler.fire_due(clock.now())

    assert while_one_lags == ["d1"]
    assert reminded(engine) == ["d1", "d2"]


# -- on a shared virtual clock that jumps ------------------------------------------


def test_after_the_shared_clock_jumps_a_timer_still_waits_for_the_consumers(
    engine: Engine, tmp_path: Path
) -> None:
    wall = VirtualClock(START)
    clock_file = tmp_path / "clock"
    clock = SharedClock(clock_file, wall=wall)
    scheduler = Scheduler(engine, clock, wait_for_ledger=True)
    debtor_with_invoice(scheduler, clock)
    fetched_before_the_jump = wall.advance(SECOND)

    write_offset(clock_file, REMINDER_SLOT + 5 * SECOND - wall.now())
    wall.advance(SECOND)
    right_after_the_jump = scheduler.fire_due(clock.now())
    scheduler.report_caught_up("test", {0: reading_at(clock, fetched_before_the_jump)})
    scheduler.report_caught_up("test", {1: reading_at(clock, fetched_before_the_jump)})
    with_fetches_of_before = scheduler.fire_due(clock.now())
    fetched_after_the_jump = wall.advance(SECOND)
    scheduler.report_caught_up(
        "test", dict.fromkeys((0, 1), reading_at(clock, fetched_after_the_jump))
    )
    once_caught_up = scheduler.fire_due(clock.now())

    assert right_after_the_jump == 0
    assert with_fetches_of_before == 0
    assert once_caught_up == 1
    assert [c["template"] for c in contacts(engine)] == ["reminder"]


class FetchedConsumer:
    """The consumer of partition 0 of ledger.events, all applied, last fetched at a
    real moment the test sets."""

    def __init__(self) -> None:
        self.fetched: datetime | None = None

    def assignment(self) -> set[TopicPartition]:
        return {TopicPartition(LEDGER_EVENTS.name, 0)}

    def highwater(self, tp: TopicPartition) -> int:
        return 0

    def last_poll_timestamp(self, tp: TopicPartition) -> int | None:
        return None if self.fetched is None else int(self.fetched.timestamp() * 1000)

    async def committed(self, tp: TopicPartition) -> int:
        return 0


async def test_a_fetch_is_reported_as_the_shared_clock_read_when_it_happened(
    tmp_path: Path,
) -> None:
    wall = VirtualClock(START)
    clock_file = tmp_path / "clock"
    clock = SharedClock(clock_file, wall=wall)
    consumer = FetchedConsumer()
    progress = LedgerProgress(clock)
    progress.subscriber = SimpleNamespace(consumer=consumer)
    clock.now()

    consumer.fetched = wall.advance(SECOND)
    write_offset(clock_file, timedelta(days=3))
    wall.advance(SECOND)
    before_the_jump = await progress.caught_up()
    consumer.fetched = wall.advance(SECOND)
    after_the_jump = await progress.caught_up()

    assert before_the_jump == {0: START + SECOND}
    assert after_the_jump == {0: START + 3 * SECOND + timedelta(days=3)}
