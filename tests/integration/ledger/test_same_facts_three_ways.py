"""The API, the inbound topic and the CSV import record the same facts alike.

The same debtor, two invoices, a payment, a credit note and a write-off go
into three fresh databases, each by one entry point; the statements and the
events waiting for `ledger.events` must not differ. The CSV layout has no
rows for credit notes and write-offs: after the file, those two go through
the API.
"""

import asyncio
import time
from collections.abc import Iterator
from contextlib import suppress
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from aiokafka import AIOKafkaProducer
from fastapi.testclient import TestClient

from services.ledger.app import create_app
from services.ledger.domain.errors import UnknownInvoice
from services.ledger.http.app import api_app
from services.ledger.imports.recording import import_open_items
from services.ledger.service import Ledger
from services.ledger.settings import LedgerSettings
from shared.events import Envelope
from shared.events.inbound import (
    InboundCreditNoteIssued,
    InboundDebtorUpserted,
    InboundInvoiceIssued,
    InboundInvoiceWrittenOff,
    InboundPaymentReceived,
)
from shared.events.payload import Payload
from shared.topics import LEDGER_EVENTS, LEDGER_INBOUND
from tests.support.ledger import (
    PROFILE,
    migrated_ledger,
    outbox,
    start_group_at_the_end,
)

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("kafka_topics")]

TIMEOUT = 60.0
NOW = datetime(2026, 3, 1, 9, tzinfo=UTC)
DEBTOR = "d-1001"

FACTS: list[Payload] = [
    InboundDebtorUpserted(
        name="Müller & Söhne GmbH",
        email="ap@mueller.example",
        language="de",
        timezone="Europe/Berlin",
        country="DE",
        address={
            "lines": ["Müller & Söhne GmbH", "Hauptstraße 1"],
            "postcode": "10115",
            "city": "Berlin",
            "country": "DE",
        },
        reference="K-1001",
    ),
    InboundInvoiceIssued(
        number="RE-1",
        issued_on=date(2026, 1, 5),
        due_on=date(2026, 1, 19),
        currency="EUR",
        amount="1234.56",
    ),
    InboundInvoiceIssued(
        number="RE-2",
        issued_on=date(2026, 1, 10),
        due_on=date(2026, 2, 9),
        currency="EUR",
        amount="500.00",
    ),
    InboundPaymentReceived(
        payment_id="PAY-1",
        currency="EUR",
        amount="1300.00",
        received_on=date(2026, 1, 20),
        reference="RE-1",
    ),
    InboundCreditNoteIssued(
        number="GS-1",
        issued_on=date(2026, 2, 1),
        currency="EUR",
        amount="100.00",
        invoice="RE-2",
    ),
    InboundInvoiceWrittenOff(
        number="RE-2", written_off_on=date(2026, 2, 28), reason="settled"
    ),
]

CSV = """\
record,debtor_id,name,email,language,timezone,country,address_line_1,address_line_2,postcode,city,address_country,debtor_reference,invoice_number,issue_date,due_date,currency,amount,payment_id,received_date,payment_reference
debtor,d-1001,Müller & Söhne GmbH,ap@mueller.example,de,Europe/Berlin,DE,Müller & Söhne GmbH,Hauptstraße 1,10115,Berlin,DE,K-1001,,,,,,,,
invoice,d-1001,,,,,,,,,,,,RE-1,05.01.2026,19.01.2026,EUR,"1.234,56",,,
invoice,d-1001,,,,,,,,,,,,RE-2,10.01.2026,09.02.2026,EUR,500,,,
payment,d-1001,,,,,,,,,,,,,,,EUR,"1.300,00",PAY-1,20.01.2026,RE-1
"""  # noqa: E501
"""The facts the CSV layout holds: a debtor, invoices, payments."""

IN_CSV = 4


def fact_path(payload: Payload) -> tuple[str, dict[str, Any]]:
    """The API route and body recording `payload`."""
    data = payload.to_data()
    if isinstance(payload, InboundDebtorUpserted):
        return "/v1/debtors", {"id": DEBTOR, **data}
    if isinstance(payload, InboundInvoiceWrittenOff):
        number = data.pop("number")
        return f"/v1/invoices/{number}/write-off", data
    route = {
        InboundInvoiceIssued: "/v1/invoices",
        InboundPaymentReceived: "/v1/payments",
        InboundCreditNoteIssued: "/v1/credit-notes",
    }[type(payload)]
    return route, {"debtor": DEBTOR, **data}


def post_all(ledger: Ledger, key: str, facts: list[Payload]) -> None:
    with TestClient(api_app(ledger)) as client:
        for payload in facts:
            path, body = fact_path(payload)
            response = client.post(
                path, json=body, headers={"Authorization": f"Bearer {key}"}
            )
            assert response.status_code == 201, response.text


def what_it_emitted(ledger: Ledger) -> list[tuple[str, dict[str, Any]]]:
    return [(e["type"], e["data"]) for e in outbox(ledger, LEDGER_EVENTS.name)]


def state(ledger: Ledger, creditor: str) -> dict[str, Any]:
    statement = ledger.statement(creditor, DEBTOR).model_dump(mode="json")
    statement["debtor"].pop("creditor")
    invoices = [
        ledger.invoice(creditor, number).model_dump(mode="json")
        for number in ("RE-1", "RE-2")
    ]
    return {"statement": statement, "invoices": invoices}


@pytest.fixture
def through_the_api(tmp_path: Path) -> Iterator[Ledger]:
    with migrated_ledger("postgresql", tmp_path) as ledger:
        _, key = ledger.add_creditor(PROFILE, creditor_id="acme")
        post_all(ledger, key, FACTS)
        yield ledger


@pytest.fixture
def through_a_csv_file(tmp_path: Path) -> Iterator[Ledger]:
    with migrated_ledger("postgresql", tmp_path) as ledger:
        _, key = ledger.add_creditor(PROFILE, creditor_id="acme")
        report = import_open_items(ledger, "acme", CSV.encode(), imported_at=NOW)
        assert report.ok, report.problems
        assert report.recorded == IN_CSV
        post_all(ledger, key, FACTS[IN_CSV:])
        yield ledger


@pytest.fixture
async def through_the_topic(tmp_path: Path, kafka_bootstrap: str):
    creditor = f"acme-{uuid4().hex[:8]}"
    group = f"overdue-ledger-test-{uuid4()}"
    with migrated_ledger("postgresql", tmp_path) as ledger:
        ledger.add_creditor(PROFILE, creditor_id=creditor)
        await start_group_at_the_end(kafka_bootstrap, group, LEDGER_INBOUND.name)
        app = create_app(
            LedgerSettings(
                kafka_bootstrap_servers=kafka_bootstrap, consumer_group=group
            ),
            ledger=ledger,
        )
        envelopes = [
            Envelope.wrap(payload, creditor=creditor, debtor=DEBTOR, occurred_at=NOW)
            for payload in FACTS
        ]
        producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")
        await app.start()
        await producer.start()
        try:
            for envelope in envelopes:
                await producer.send_and_wait(
                    LEDGER_INBOUND.name, envelope.to_bytes(), key=envelope.key.encode()
                )
            await _until_written_off(ledger, creditor)
        finally:
            await producer.stop()
            await app.stop()
        yield ledger, creditor


async def _until_written_off(ledger: Ledger, creditor: str) -> None:
    deadline = time.monotonic() + TIMEOUT
    while True:
        with suppress(UnknownInvoice):
            if ledger.invoice(creditor, "RE-2").status == "written_off":
                return
        if time.monotonic() > deadline:
            pytest.fail(f"the write-off was not recorded within {TIMEOUT:.0f} s")
        await asyncio.sleep(0.1)


async def test_the_api_the_topic_and_a_csv_file_record_the_same_state(
    through_the_api: Ledger,
    through_a_csv_file: Ledger,
    through_the_topic: tuple[Ledger, str],
) -> None:
    by_topic, creditor = through_the_topic

    expected = state(through_the_api, "acme")

    assert expected["invoices"][1]["status"] == "written_off"
    assert state(by_topic, creditor) == expected
    assert state(through_a_csv_file, "acme") == expected


async def test_the_api_the_topic_and_a_csv_file_emit_the_same_events(
    through_the_api: Ledger,
    through_a_csv_file: Ledger,
    through_the_topic: tuple[Ledger, str],
) -> None:
    by_topic, _ = through_the_topic

    expected = what_it_emitted(through_the_api)

    assert [kind for kind, _ in expected] == [
        "debtor.upserted",
        "invoice.issued",
        "invoice.issued",
        "payment.received",
        "invoice.adjusted",
        "invoice.written_off",
    ]
    assert what_it_emitted(by_topic) == expected
    assert what_it_emitted(through_a_csv_file) == expected
