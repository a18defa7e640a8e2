"""Each service's subscribers in memory: bad envelopes go to the DLQ, unchanged."""

import json
from uuid import uuid4

import pytest
from faststream.kafka import TestKafkaBroker
from faststream.kafka.annotations import KafkaMessage

from services.ledger.app import create_app as ledger_app
from services.ledger.settings import LedgerSettings
from services.notifier.app import create_app as notifier_app
from services.notifier.settings import NotifierSettings
from services.scheduler.app import create_app as scheduler_app
from services.scheduler.settings import SchedulerSettings

# (service, app factory, settings, topic it consumes, a type that topic carries)
SUBSCRIPTIONS = [
    ("ledger", ledger_app, LedgerSettings, "ledger.inbound", "invoice.issued"),
    (
        "scheduler",
        scheduler_app,
        SchedulerSettings,
        "ledger.events",
        "payment.received",
    ),
    (
        "scheduler",
        scheduler_app,
        SchedulerSettings,
        "ledger.creditors",
        "creditor.updated",
    ),
    ("scheduler", scheduler_app, SchedulerSettings, "notifier.events", "contact.sent"),
    ("notifier", notifier_app, NotifierSettings, "collections.contacts", "contact.due"),
    (
        "notifier",
        notifier_app,
        NotifierSettings,
        "ledger.creditors",
        "creditor.updated",
    ),
    ("notifier", notifier_app, NotifierSettings, "ledger.events", "invoice.issued"),
]
IDS = [f"{s[0]}-{s[3]}" for s in SUBSCRIPTIONS]


def _envelope(event_type: str, **changes) -> dict:
    envelope = {
        "id": str(uuid4()),
        "type": event_type,
        "schema": 1,
        "occurred_at": "2026-01-05T10:12:00+00:00",
        "creditor": "acme",
        "debtor": "d-1001",
        "data": {"name": "Beta GmbH", "amount": "1250.00"},
    }
    envelope.update(changes)
    return {k: v for k, v in envelope.items() if v is not None}


def _app_with_dlq_capture(factory, settings_cls, topic):
    app = factory(settings_cls())
    dead = []

    @app.broker.subscriber(f"{topic}.dlq")
    async def capture(message: KafkaMessage) -> None:
        dead.append(message)

    return app, dead


# A valid envelope is handled by each service's own test_app.py, with the
# database it records it in; bad input is turned away before any state.


@pytest.mark.parametrize(
    ("service", "factory", "settings", "topic", "kind"), SUBSCRIPTIONS, ids=IDS
)
async def test_bytes_that_are_not_json_go_to_the_dlq_twin_unchanged(
    service, factory, settings, topic, kind
):
    app, dead = _app_with_dlq_capture(factory, settings, topic)
    raw = b'{"type": "invoice.issued", '

    async with TestKafkaBroker(app.broker) as broker:
        await broker.publish(raw, topic, key=b"acme/d-1001")

    [letter] = dead
    assert letter.body == raw
    assert letter.raw_message.key == b"acme/d-1001"
    assert letter.headers["x-dlq-reason"].startswith("Invalid JSON")
    assert letter.headers["x-dlq-topic"] == topic
    assert letter.headers["x-dlq-consumer-group"] == f"overdue-{service}"


@pytest.mark.parametrize(
    ("service", "factory", "settings", "topic", "kind"), SUBSCRIPTIONS, ids=IDS
)
async def test_an_envelope_without_occurred_at_is_dead_lettered_naming_the_field(
    service, factory, settings, topic, kind
):
    app, dead = _app_with_dlq_capture(factory, settings, topic)
    envelope = _envelope(kind, occurred_at=None)

    async with TestKafkaBroker(app.broker) as broker:
        await broker.publish(envelope, topic, key=b"acme/d-1001")

    [letter] = dead
    assert json.loads(letter.body) == envelope
    assert letter.headers["x-dlq-reason"] == "occurred_at: Field required"
    assert letter.headers["x-dlq-error"] == "ValidationError"


@pytest.mark.parametrize(
    ("service", "factory", "settings", "topic", "kind"), SUBSCRIPTIONS, ids=IDS
)
async def test_a_type_the_topic_does_not_carry_is_dead_lettered(
    service, factory, settings, topic, kind
):
    app, dead = _app_with_dlq_capture(factory, settings, topic)

    async with TestKafkaBroker(app.broker) as broker:
        await broker.publish(_envelope("invoice.exploded"), topic, key=b"acme/d-1001")

    [letter] = dead
    assert letter.headers["x-dlq-error"] == "UnknownEventType"
    assert "invoice.exploded" in letter.headers["x-dlq-reason"]
