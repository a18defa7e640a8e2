"""The notifier's consumers in memory: facts and a contact in, an email out."""

from faststream.kafka import TestKafkaBroker
from faststream.kafka.annotations import KafkaMessage

from services.notifier.app import create_app
from services.notifier.service import Notifier
from services.notifier.settings import NotifierSettings
from shared.clock import VirtualClock
from tests.support.notifier import FakeMailer, contact_due, outcomes
from tests.support.scheduler import (
    at,
    creditor_updated,
    debtor_upserted,
    invoice_issued,
)


async def test_a_contact_due_on_the_topic_is_sent_once_and_reported(
    notifier: Notifier, mailer: FakeMailer, clock: VirtualClock, caplog: object
) -> None:
    app = create_app(NotifierSettings(), notifier=notifier)
    moment = at("2026-01-05")
    due = contact_due(clock.now())
    caplog.set_level("INFO", logger="services.notifier")  # type: ignore[attr-defined]

    async with TestKafkaBroker(app.broker) as broker:
        await broker.publish(creditor_updated(moment).to_bytes(), "ledger.creditors")
        for event in (debtor_upserted(moment), invoice_issued(moment)):
            await broker.publish(event.to_bytes(), "ledger.events", key=b"acme/d1")
        for _ in range(2):
            await broker.publish(due.to_bytes(), "collections.contacts", key=b"acme/d1")

    assert len(mailer.sent) == 1
    assert [e.type for e in outcomes(notifier.engine)] == ["contact.sent"]
    logged = [r for r in caplog.records if r.name == "services.notifier.app"]  # type: ignore[attr-defined]
    assert {getattr(r, "event_id", None) for r in logged} >= {str(due.id)}
    assert "Beta GmbH" not in caplog.text  # type: ignore[attr-defined]
    assert "ap@beta.example" not in caplog.text  # type: ignore[attr-defined]


async def test_a_contact_due_without_its_contact_id_is_dead_lettered(
    notifier: Notifier, mailer: FakeMailer, clock: VirtualClock
) -> None:
    app = create_app(NotifierSettings(), notifier=notifier)
    dead: list[KafkaMessage] = []

    @app.broker.subscriber("collections.contacts.dlq")
    async def capture(message: KafkaMessage) -> None:
        dead.append(message)

    broken = contact_due(clock.now())
    del broken.data["contact_id"]
    async with TestKafkaBroker(app.broker) as broker:
        await broker.publish(broken.to_bytes(), "collections.contacts", key=b"acme/d1")

    [letter] = dead
    assert "contact_id" in letter.headers["x-dlq-reason"]
    assert mailer.sent == []
