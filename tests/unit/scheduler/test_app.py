"""The scheduler's consumers in memory: the ledger's events in, contacts out."""

from pathlib import Path

import pytest
from faststream.kafka import TestKafkaBroker
from faststream.kafka.annotations import KafkaMessage

from services.scheduler.app import create_app
from services.scheduler.service import Scheduler
from services.scheduler.settings import SchedulerSettings
from shared.clock import VirtualClock
from shared.db.engine import make_engine
from shared.db.migrations import upgrade
from tests.support.databases import sqlite_url
from tests.support.scheduler import (
    at,
    collection_row,
    contacts,
    creditor_updated,
    debtor_upserted,
    invoice_issued,
)


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock(at("2026-01-05"))


@pytest.fixture
def scheduler(tmp_path: Path, clock: VirtualClock) -> Scheduler:
    url = sqlite_url(tmp_path)
    upgrade("scheduler", url)
    return Scheduler(make_engine(url), clock)


async def test_the_ledgers_events_become_a_reminder_at_its_slot(
    scheduler: Scheduler, clock: VirtualClock
):
    app = create_app(SchedulerSettings(), scheduler=scheduler)
    moment = at("2026-01-05")

    async with TestKafkaBroker(app.broker) as broker:
        await broker.publish(creditor_updated(moment).to_bytes(), "ledger.creditors")
        for event in (debtor_upserted(moment), invoice_issued(moment)):
            await broker.publish(event.to_bytes(), "ledger.events", key=b"acme/d1")
    row = collection_row(scheduler.engine)
    for moment in (at("2026-01-16", "09:00"), at("2026-01-20", "09:00")):
        clock.advance(moment - clock.now())
        scheduler.fire_due(clock.now())

    assert row is not None and row.next_moment is not None
    assert [(c["template"], c["amount_due"]) for c in contacts(scheduler.engine)] == [
        ("pre_due", "1200.00"),
        ("reminder", "1200.00"),
    ]


async def test_an_event_of_a_type_the_topic_does_not_carry_is_dead_lettered(
    scheduler: Scheduler,
):
    app = create_app(SchedulerSettings(), scheduler=scheduler)
    dead: list[KafkaMessage] = []

    @app.broker.subscriber("ledger.events.dlq")
    async def capture(message: KafkaMessage) -> None:
        dead.append(message)

    wrong = creditor_updated(at("2026-01-05"))
    async with TestKafkaBroker(app.broker) as broker:
        await broker.publish(wrong.to_bytes(), "ledger.events", key=b"acme")

    assert len(dead) == 1
    assert contacts(scheduler.engine) == []
