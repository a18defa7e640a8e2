"""The ledger's consumer against the real Kafka and PostgreSQL."""

import asyncio
import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from uuid import UUID, uuid4

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from sqlalchemy import func
from sqlmodel import Session, select

from services.ledger.adapters.tables import InvoiceRow, OutboxMessage, ProcessedMessage
from services.ledger.app import create_app
from services.ledger.service import Ledger
from services.ledger.settings import LedgerSettings
from shared.clock import SystemClock
from shared.db.engine import make_engine
from shared.devstack.topics import skip_to_end
from shared.events import Envelope
from shared.events.inbound import (
    InboundDebtorUpserted,
    InboundInvoiceIssued,
    InboundPaymentReceived,
)
from shared.topics import LEDGER_INBOUND
from tests.support.databases import fresh_postgres_database
from tests.support.ledger import PROFILE

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("kafka_topics")]

TIMEOUT = 60.0
NOW = datetime(2026, 1, 5, 10, tzinfo=UTC)


@pytest.fixture
def ledger() -> Iterator[Ledger]:
    with fresh_postgres_database(migrated_for="ledger") as url:
        engine = make_engine(url)
        yield Ledger(engine, SystemClock())
        engine.dispose()


@pytest.fixture
def creditor(ledger: Ledger) -> str:
    """A creditor of this run alone, so other runs' records on the topic differ."""
    creditor_id, _ = ledger.add_creditor(PROFILE, creditor_id=f"acme-{uuid4().hex[:8]}")
    return creditor_id


@pytest.fixture
async def running(kafka_bootstrap: str, ledger: Ledger):
    """The ledger's app in a consumer group of this run, from the topic's end."""
    group = f"overdue-ledger-test-{uuid4()}"
    await skip_to_end(kafka_bootstrap, group, LEDGER_INBOUND.name)
    app = create_app(
        LedgerSettings(kafka_bootstrap_servers=kafka_bootstrap, consumer_group=group),
        ledger=ledger,
    )
    await app.start()
    yield group
    await app.stop()


@pytest.fixture
async def producer(kafka_bootstrap: str):
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")
    await producer.start()
    yield producer
    await producer.stop()


def _facts(creditor: str) -> list[Envelope]:
    def wrap(payload):
        return Envelope.wrap(payload, creditor=creditor, debtor="d1", occurred_at=NOW)

    return [
        wrap(InboundDebtorUpserted(name="Beta GmbH")),
        wrap(
            InboundInvoiceIssued(
                number="INV-1",
                issued_on=date(2026, 1, 5),
                due_on=date(2026, 1, 19),
                currency="EUR",
                amount="1200.00",
            )
        ),
    ]


async def _send(producer: AIOKafkaProducer, *envelopes: Envelope) -> None:
    for envelope in envelopes:
        await producer.send_and_wait(
            LEDGER_INBOUND.name, envelope.to_bytes(), key=envelope.key.encode()
        )


def _processed(ledger: Ledger, event_id: UUID) -> bool:
    with Session(ledger.engine) as session:
        return session.get(ProcessedMessage, event_id) is not None


def _outbox_types(ledger: Ledger) -> list[str]:
    with Session(ledger.engine) as session:
        return list(
            session.exec(
                select(OutboxMessage.type).order_by(OutboxMessage.position)
            ).all()
        )


async def _eventually(condition: Callable[[], object], what: str) -> None:
    deadline = time.monotonic() + TIMEOUT
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"after {TIMEOUT:.0f} s still waiting for {what}")
        await asyncio.sleep(0.1)


async def test_an_inbound_fact_is_recorded_with_its_outbox_event(
    ledger, creditor, running, producer
):
    debtor, issued = _facts(creditor)

    await _send(producer, debtor, issued)
    await _eventually(lambda: _processed(ledger, issued.id), "the invoice")

    assert ledger.invoice(creditor, "INV-1").balance == 1200
    assert _outbox_types(ledger) == [
        "creditor.updated",
        "debtor.upserted",
        "invoice.issued",
    ]


async def test_the_same_envelope_id_twice_is_recorded_once(
    ledger, creditor, running, producer
):
    debtor, issued = _facts(creditor)
    sentinel = Envelope.wrap(
        InboundDebtorUpserted(name="Beta GmbH & Co. KG"),
        creditor=creditor,
        debtor="d1",
        occurred_at=NOW,
    )

    await _send(producer, debtor, issued, issued, sentinel)
    await _eventually(lambda: _processed(ledger, sentinel.id), "the sentinel")

    with Session(ledger.engine) as session:
        invoices = session.exec(select(func.count()).select_from(InvoiceRow)).one()
    assert invoices == 1
    assert _outbox_types(ledger).count("invoice.issued") == 1


async def test_a_payment_in_another_currency_lands_in_the_dlq_naming_the_field(
    ledger, creditor, running, producer, kafka_bootstrap
):
    debtor, issued = _facts(creditor)
    payment = Envelope.wrap(
        InboundPaymentReceived(
            payment_id="P-1",
            currency="USD",
            amount="10.00",
            received_on=date(2026, 1, 20),
        ),
        creditor=creditor,
        debtor="d1",
        occurred_at=NOW,
    )

    await _send(producer, debtor, issued, payment)
    [letter] = await _dead_letters_of(kafka_bootstrap, running, count=1)

    headers = {name: value.decode() for name, value in letter.headers}
    assert letter.value == payment.to_bytes()
    assert headers["x-dlq-reason"].startswith("currency: ")
    assert headers["x-dlq-error"] == "FactRefused"
    assert not _processed(ledger, payment.id)
    assert "payment.received" not in _outbox_types(ledger)


async def _dead_letters_of(bootstrap: str, group: str, count: int) -> list:
    reader = AIOKafkaConsumer(
        LEDGER_INBOUND.dlq,
        bootstrap_servers=bootstrap,
        group_id=f"{group}-reader",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await reader.start()
    letters = []
    deadline = time.monotonic() + TIMEOUT
    try:
        while len(letters) < count:
            if time.monotonic() > deadline:
                pytest.fail(f"{len(letters)} of {count} dead letters after {TIMEOUT} s")
            batches = await reader.getmany(timeout_ms=500)
            for record in (r for batch in batches.values() for r in batch):
                if dict(record.headers).get("x-dlq-consumer-group") == group.encode():
                    letters.append(record)
    finally:
        await reader.stop()
    return letters


async def test_one_bad_fact_in_a_batch_is_dead_lettered_and_the_others_recorded(
    ledger, creditor, kafka_bootstrap, producer
):
    debtor, issued = _facts(creditor)

    def paid(payment_id: str, currency: str) -> Envelope:
        return Envelope.wrap(
            InboundPaymentReceived(
                payment_id=payment_id,
                currency=currency,
                amount="100.00",
                received_on=date(2026, 1, 20),
                invoice="INV-1" if currency == "EUR" else None,
            ),
            creditor=creditor,
            debtor="d1",
            occurred_at=NOW,
        )

    refused, first, second = paid("P-9", "USD"), paid("P-1", "EUR"), paid("P-2", "EUR")
    malformed = b'{"id": "not an envelope"}'
    group = f"overdue-ledger-test-{uuid4()}"
    await skip_to_end(kafka_bootstrap, group, LEDGER_INBOUND.name)
    # All sent before the consumer starts: its first poll takes them as one batch.
    await _send(producer, debtor, issued, first, refused)
    await producer.send_and_wait(LEDGER_INBOUND.name, malformed, key=b"x")
    await _send(producer, second)
    app = create_app(
        LedgerSettings(kafka_bootstrap_servers=kafka_bootstrap, consumer_group=group),
        ledger=ledger,
    )

    await app.start()
    try:
        letters = await _dead_letters_of(kafka_bootstrap, group, count=2)
        await _eventually(lambda: _processed(ledger, second.id), "the last payment")
    finally:
        await app.stop()

    reasons = {
        letter.value: dict(letter.headers)["x-dlq-reason"].decode()
        for letter in letters
    }
    assert reasons[refused.to_bytes()].startswith("currency: ")
    assert reasons[malformed].startswith("id: ")
    assert not _processed(ledger, refused.id)
    assert [p.payment_id for p in ledger.statement(creditor, "d1").payments] == [
        "P-1",
        "P-2",
    ]
    assert _outbox_types(ledger).count("payment.received") == 2
