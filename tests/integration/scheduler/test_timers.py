"""The scheduler's timers on the real PostgreSQL: claimed once, kept over restarts."""

import threading
from collections import Counter

import pytest
from sqlalchemy import Engine

from services.scheduler.service import Scheduler
from shared.clock import VirtualClock
from shared.db.engine import make_engine
from tests.support.scheduler import (
    at,
    contacts,
    creditor_updated,
    debtor_upserted,
    invoice_issued,
    payment_received,
)

pytestmark = pytest.mark.integration

DEBTORS = 200
REMINDER_SLOT = at("2026-01-20", "09:00")


def many_debtors(scheduler: Scheduler, clock: VirtualClock) -> None:
    scheduler.follow_creditor(creditor_updated(clock.now()))
    for n in range(DEBTORS):
        scheduler.follow_ledger(debtor_upserted(clock.now(), debtor=f"d{n}"))
        scheduler.follow_ledger(
            invoice_issued(clock.now(), debtor=f"d{n}", number=f"INV-{n}")
        )


def test_two_workers_never_fire_the_same_contact(
    database_url: str, engine: Engine
) -> None:
    clock = VirtualClock(at("2026-01-05", "08:00"))
    many_debtors(Scheduler(engine, clock), clock)
    workers = [Scheduler(make_engine(database_url), clock) for _ in range(2)]
    fired = [0, 0]
    start = threading.Barrier(2)

    def work(index: int) -> None:
        start.wait()
        while n := workers[index].fire_due(REMINDER_SLOT, limit=10, chunk=5):
            fired[index] += n

    threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    reminders = [c for c in contacts(engine) if c["template"] == "reminder"]
    assert sum(fired) == DEBTORS
    assert len(reminders) == DEBTORS
    assert max(Counter(c["contact_id"] for c in reminders).values()) == 1
    for worker in workers:
        worker.engine.dispose()


def test_a_restart_in_the_middle_of_a_day_fires_each_contact_once(
    engine: Engine,
) -> None:
    clock = VirtualClock(at("2026-01-05", "08:00"))
    many_debtors(Scheduler(engine, clock), clock)
    before = Scheduler(engine, clock)
    before.fire_due(REMINDER_SLOT, limit=DEBTORS // 2)

    after = Scheduler(engine, clock)
    rest = after.fire_due(REMINDER_SLOT, limit=DEBTORS * 2)

    reminders = [
        c["contact_id"] for c in contacts(engine) if c["template"] == "reminder"
    ]
    assert rest == DEBTORS // 2
    assert len(reminders) == len(set(reminders)) == DEBTORS


def test_a_payment_two_seconds_before_the_slot_prevents_the_contact(
    engine: Engine,
) -> None:
    clock = VirtualClock(at("2026-01-05", "08:00"))
    scheduler = Scheduler(engine, clock)
    scheduler.follow_creditor(creditor_updated(clock.now()))
    scheduler.follow_ledger(debtor_upserted(clock.now()))
    scheduler.follow_ledger(invoice_issued(clock.now()))
    scheduler.fire_due(at("2026-01-20", "00:00"))
    clock.advance_to(at("2026-01-20", "08:59:58"))

    scheduler.follow_ledger(payment_received(clock.now()))
    scheduler.fire_due(REMINDER_SLOT)

    assert [c["template"] for c in contacts(engine)] == []
