"""The ledger's consumer in memory: facts recorded, refusals dead-lettered by field."""

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from faststream.kafka import TestKafkaBroker
from faststream.kafka.annotations import KafkaMessage
from sqlmodel import Session, select

from services.ledger.adapters.tables import InvoiceRow, OutboxMessage
from services.ledger.app import create_app
from services.ledger.service import CreditorProfile, Ledger
from services.ledger.settings import LedgerSettings
from shared.clock import FixedClock
from shared.db.engine import make_engine
from shared.db.migrations import upgrade
from tests.support.databases import sqlite_url

PROFILE = {
    "legal_name": "ACME Supplies GmbH",
    "address": {"lines": ["ACME Supplies GmbH"], "city": "Berlin", "country": "DE"},
    "country": "DE",
    "timezone": "Europe/Berlin",
    "currency": "EUR",
    "language": "de",
    "branding": {"sender_name": "ACME", "sender_email": "ar@acme.example"},
    "payment_link": "https://pay.acme.example/",
}


@pytest.fixture
def ledger(tmp_path: Path) -> Ledger:
    url = sqlite_url(tmp_path)
    upgrade("ledger", url)
    ledger = Ledger(make_engine(url), FixedClock(datetime(2026, 1, 5, 10, tzinfo=UTC)))
    ledger.add_creditor(CreditorProfile.model_validate(PROFILE), creditor_id="acme")
    return ledger


def envelope(kind: str, data: dict[str, Any], creditor: str = "acme") -> dict:
    return {
        "id": str(uuid4()),
        "type": kind,
        "schema": 1,
        "occurred_at": "2026-01-05T10:12:00+00:00",
        "creditor": creditor,
        "debtor": "d1",
        "data": data,
    }


DEBTOR = {"name": "Beta GmbH"}
INVOICE = {
    "number": "INV-1",
    "issued_on": "2026-01-05",
    "due_on": "2026-01-19",
    "currency": "EUR",
    "amount": "1200.00",
}


async def publish_all(ledger: Ledger, *messages: dict) -> list[KafkaMessage]:
    app = create_app(LedgerSettings(), ledger=ledger)
    dead: list[KafkaMessage] = []

    @app.broker.subscriber("ledger.inbound.dlq")
    async def capture(message: KafkaMessage) -> None:
        dead.append(message)

    async with TestKafkaBroker(app.broker) as broker:
        for message in messages:
            await broker.publish(message, "ledger.inbound", key=b"acme/d1")
    return dead


async def test_a_fact_is_recorded_with_its_event_and_logged_by_ids(ledger, caplog):
    caplog.set_level("INFO", logger="services.ledger")

    dead = await publish_all(
        ledger, envelope("debtor.upserted", DEBTOR), envelope("invoice.issued", INVOICE)
    )

    assert dead == []
    assert ledger.invoice("acme", "INV-1").balance == 1200
    with Session(ledger.engine) as session:
        types = session.exec(select(OutboxMessage.type)).all()
    assert types == ["creditor.updated", "debtor.upserted", "invoice.issued"]
    lines = [r for r in caplog.records if r.name == "services.ledger.app"]
    assert [line.type for line in lines] == ["debtor.upserted", "invoice.issued"]
    assert "Beta GmbH" not in caplog.text


async def test_a_refused_fact_is_dead_lettered_naming_the_field(ledger):
    payment = {
        "payment_id": "P-1",
        "currency": "USD",
        "amount": "10.00",
        "received_on": "2026-01-20",
    }

    dead = await publish_all(
        ledger,
        envelope("debtor.upserted", DEBTOR),
        envelope("invoice.issued", INVOICE),
        envelope("payment.received", payment),
    )

    [letter] = dead
    assert json.loads(letter.body)["type"] == "payment.received"
    assert letter.headers["x-dlq-reason"].startswith("currency: ")
    assert letter.headers["x-dlq-error"] == "FactRefused"


async def test_a_fact_for_an_unknown_creditor_is_dead_lettered_naming_creditor(ledger):
    dead = await publish_all(ledger, envelope("debtor.upserted", DEBTOR, "nobody"))

    [letter] = dead
    assert letter.headers["x-dlq-reason"].startswith("creditor: ")


async def test_an_invalid_payload_is_dead_lettered_naming_the_field(ledger):
    dead = await publish_all(
        ledger, envelope("invoice.issued", {**INVOICE, "amount": "12.345"})
    )

    [letter] = dead
    assert letter.headers["x-dlq-reason"].startswith("amount: ")
    with Session(ledger.engine) as session:
        assert session.exec(select(InvoiceRow)).all() == []
