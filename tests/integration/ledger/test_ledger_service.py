"""The ledger service on SQLite and on the real PostgreSQL: facts, events, refusals."""

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from sqlalchemy import Engine, func
from sqlmodel import Session, col, select

from services.ledger.adapters.tables import (
    ApiKeyRow,
    InvoiceRow,
    OutboxMessage,
    PaymentRow,
)
from services.ledger.domain.errors import (
    CurrencyMismatch,
    DuplicateInvoice,
    DuplicatePayment,
    LedgerError,
    OverCredit,
    UnknownCreditor,
    UnknownDebtor,
    UnknownInvoice,
)
from services.ledger.service import CreditorProfile, Ledger
from shared.clock import FixedClock
from shared.db.engine import make_engine
from shared.db.migrations import upgrade
from shared.events import Envelope
from shared.events.inbound import (
    InboundCreditNoteIssued,
    InboundDebtorUpdated,
    InboundDebtorUpserted,
    InboundInvoiceIssued,
    InboundInvoiceWrittenOff,
    InboundPaymentReceived,
)
from shared.events.registry import EVENT_TYPES
from shared.policy import PolicyError
from tests.support.databases import fresh_postgres_database, sqlite_url

pytestmark = pytest.mark.integration

NOW = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)

PROFILE = CreditorProfile.model_validate(
    {
        "legal_name": "ACME Supplies GmbH",
        "address": {
            "lines": ["ACME Supplies GmbH", "Ring 1"],
            "city": "Berlin",
            "postcode": "10115",
            "country": "DE",
        },
        "country": "DE",
        "timezone": "Europe/Berlin",
        "currency": "EUR",
        "language": "de",
        "branding": {"sender_name": "ACME", "sender_email": "ar@acme.example"},
        "payment_link": "https://pay.acme.example/",
    }
)


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "sqlite":
        url = sqlite_url(tmp_path)
        upgrade("ledger", url)
        engine = make_engine(url)
        yield engine
        engine.dispose()
        return
    with fresh_postgres_database(migrated_for="ledger") as url:
        engine = make_engine(url)
        yield engine
        engine.dispose()


@pytest.fixture
def ledger(engine: Engine) -> Ledger:
    return Ledger(engine, FixedClock(NOW))


@pytest.fixture
def acme(ledger: Ledger) -> str:
    creditor, _ = ledger.add_creditor(PROFILE, creditor_id="acme")
    return creditor


def fact(
    payload: Any, debtor: str = "d1", creditor: str = "acme", **kw: Any
) -> Envelope:
    return Envelope.wrap(
        payload, creditor=creditor, debtor=debtor, occurred_at=NOW, **kw
    )


def debtor(name: str = "Beta GmbH") -> InboundDebtorUpserted:
    return InboundDebtorUpserted(name=name, email="ap@beta.example", language="de")


def invoice(
    number: str,
    amount: str,
    due: str,
    issued: str = "2026-01-05",
    currency: str = "EUR",
) -> InboundInvoiceIssued:
    return InboundInvoiceIssued(
        number=number,
        issued_on=date.fromisoformat(issued),
        due_on=date.fromisoformat(due),
        currency=currency,
        amount=amount,
    )


def payment(
    pid: str, amount: str, invoice: str | None = None, currency: str = "EUR"
) -> InboundPaymentReceived:
    return InboundPaymentReceived(
        payment_id=pid,
        currency=currency,
        amount=amount,
        received_on=date(2026, 1, 20),
        invoice=invoice,
    )


def outbox(engine: Engine, topic: str = "ledger.events") -> list[dict[str, Any]]:
    with Session(engine) as session:
        rows = session.exec(
            select(OutboxMessage)
            .where(OutboxMessage.topic == topic)
            .order_by(col(OutboxMessage.position))
        ).all()
        return [json.loads(row.envelope) for row in rows]


def count(engine: Engine, table: Any) -> int:
    with Session(engine) as session:
        return session.exec(select(func.count()).select_from(table)).one()


def test_a_new_creditor_gets_a_key_that_authenticates_and_is_stored_hashed(
    ledger: Ledger, engine: Engine
):
    creditor, key = ledger.add_creditor(PROFILE)

    assert ledger.authenticate(key) == creditor
    assert ledger.authenticate(key + "x") is None
    with Session(engine) as session:
        [stored] = session.exec(select(ApiKeyRow.hash)).all()
    assert key not in stored
    [event] = outbox(engine, "ledger.creditors")
    assert (event["type"], event["creditor"], event.get("debtor")) == (
        "creditor.updated",
        creditor,
        None,
    )
    assert event["data"]["api_key_hashes"] == [stored]
    assert event["data"]["legal_name"] == "ACME Supplies GmbH"


REMINDER = {"stage": "reminder", "after_days": 1, "channels": ["email"]}


def test_a_policy_and_a_second_key_each_publish_the_whole_profile(
    ledger: Ledger, engine: Engine, acme: str
):
    ledger.set_policy(acme, {"name": "standard-b2b", "ladder": [REMINDER]})
    second = ledger.issue_api_key(acme)

    *_, latest = outbox(engine, "ledger.creditors")
    assert latest["data"]["policy"]["name"] == "standard-b2b"
    assert latest["data"]["policy"]["ladder"][0]["stage"] == "reminder"
    assert latest["data"]["policy"]["min_gap_days"] == 5  # the default, filled in
    assert len(latest["data"]["api_key_hashes"]) == 2
    assert ledger.authenticate(second) == acme


def test_an_invalid_policy_is_refused_naming_its_path_and_publishes_nothing(
    ledger: Ledger, engine: Engine, acme: str
):
    before = outbox(engine, "ledger.creditors")
    ladder = [REMINDER, {**REMINDER, "stage": "second", "after_days": 0}]

    with pytest.raises(PolicyError) as refused:
        ledger.set_policy(acme, {"name": "x", "ladder": ladder})

    assert [p.path for p in refused.value.problems] == ["ladder[1].after_days"]
    assert outbox(engine, "ledger.creditors") == before


def test_each_fact_records_and_enqueues_exactly_its_event(
    ledger: Ledger, engine: Engine, acme: str
):
    ledger.record(acme, fact(debtor()))
    ledger.record(acme, fact(invoice("INV-1", "1200.00", "2026-01-19")))
    ledger.record(acme, fact(InboundDebtorUpdated(email_opt_out=True)))
    ledger.record(
        acme,
        fact(
            InboundCreditNoteIssued(
                number="CN-1",
                issued_on=date(2026, 1, 6),
                currency="EUR",
                amount="200.00",
                invoice="INV-1",
            )
        ),
    )
    ledger.record(
        acme,
        fact(InboundInvoiceWrittenOff(number="INV-1", written_off_on=date(2026, 3, 1))),
    )

    events = outbox(engine)
    assert [e["type"] for e in events] == [
        "debtor.upserted",
        "invoice.issued",
        "debtor.upserted",
        "invoice.adjusted",
        "invoice.written_off",
    ]
    assert all(e["creditor"] == "acme" and e["debtor"] == "d1" for e in events)
    assert events[1]["data"]["balance"] == "1200.00"
    assert events[2]["data"]["email_opt_out"] is True
    assert events[2]["data"]["email"] == "ap@beta.example"
    assert events[3]["data"] == {
        "number": "INV-1",
        "reason": "credit_note",
        "credit_note": "CN-1",
        "currency": "EUR",
        "amount": "200.00",
        "balance": "1000.00",
    }
    assert events[4]["data"]["amount"] == "1000.00"
    assert ledger.invoice(acme, "INV-1").status == "written_off"


def test_a_payment_event_carries_its_allocations_and_the_debtors_balances(
    ledger: Ledger, engine: Engine, acme: str
):
    ledger.record_many(
        acme,
        [
            fact(debtor()),
            fact(invoice("INV-1", "1000.00", "2026-01-19")),
            fact(invoice("INV-2", "300.00", "2026-02-19")),
            fact(invoice("INV-3", "500.00", "2026-03-19")),
        ],
    )

    ledger.record(acme, fact(payment("P-1", "1350.00", invoice="INV-2")))

    *_, event = outbox(engine)
    assert event["type"] == "payment.received"
    assert event["data"]["allocations"] == [
        {"invoice": "INV-2", "amount": "300.00", "balance_after": "0.00"},
        {"invoice": "INV-1", "amount": "1000.00", "balance_after": "0.00"},
        {"invoice": "INV-3", "amount": "50.00", "balance_after": "450.00"},
    ]
    assert event["data"]["unallocated"] == "0.00"
    assert event["data"]["debtor_credit"] == "0.00"
    assert event["data"]["debtor_balance"] == "450.00"
    assert ledger.invoice(acme, "INV-2").status == "paid"


def test_credit_left_by_a_payment_settles_an_invoice_issued_later(
    ledger: Ledger, engine: Engine, acme: str
):
    ledger.record(acme, fact(debtor()))
    ledger.record(acme, fact(payment("P-1", "80.00")))

    ledger.record(acme, fact(invoice("INV-9", "100.00", "2026-02-01")))

    paid, issued = outbox(engine)[-2:]
    assert (paid["data"]["unallocated"], paid["data"]["debtor_credit"]) == (
        "80.00",
        "80.00",
    )
    assert (issued["data"]["credit_applied"], issued["data"]["balance"]) == (
        "80.00",
        "20.00",
    )
    statement = ledger.statement(acme, "d1")
    assert [
        (b.currency, str(b.open_balance), str(b.unallocated_credit))
        for b in statement.balances
    ] == [("EUR", "20.00", "0.00")]
    assert [i.number for i in statement.open_items] == ["INV-9"]
    assert [p.payment_id for p in statement.payments] == ["P-1"]


BAD_FACTS = [
    (
        "a payment in another currency",
        payment("P-9", "10.00", currency="USD"),
        CurrencyMismatch,
        "currency",
    ),
    (
        "a credit note above the open balance",
        InboundCreditNoteIssued(
            number="CN-9",
            issued_on=date(2026, 1, 6),
            currency="EUR",
            amount="500.01",
            invoice="INV-1",
        ),
        OverCredit,
        "amount",
    ),
    (
        "an unknown invoice named by a payment",
        payment("P-9", "10.00", "NOPE"),
        UnknownInvoice,
        "invoice",
    ),
    (
        "an invoice number used twice",
        invoice("INV-1", "5.00", "2026-02-01"),
        DuplicateInvoice,
        "number",
    ),
]


@pytest.mark.parametrize(
    ("payload", "error", "field"),
    [case[1:] for case in BAD_FACTS],
    ids=[case[0] for case in BAD_FACTS],
)
def test_a_bad_fact_is_refused_naming_the_field_and_leaves_nothing_written(
    ledger: Ledger, engine: Engine, acme: str, payload: Any, error: Any, field: str
):
    ledger.record_many(
        acme, [fact(debtor()), fact(invoice("INV-1", "500.00", "2026-01-19"))]
    )
    before = (outbox(engine), count(engine, PaymentRow), ledger.invoice(acme, "INV-1"))

    with pytest.raises(error) as refused:
        ledger.record(acme, fact(payload))

    assert refused.value.field == field
    assert (
        outbox(engine),
        count(engine, PaymentRow),
        ledger.invoice(acme, "INV-1"),
    ) == before


def test_a_fact_whose_due_date_is_before_its_issue_date_names_due_on(
    ledger: Ledger, acme: str
):
    ledger.record(acme, fact(debtor()))
    bad = fact(invoice("INV-1", "5.00", "2026-02-01")).model_copy(
        update={
            "data": {
                "number": "INV-1",
                "issued_on": "2026-02-01",
                "due_on": "2026-01-01",
                "currency": "EUR",
                "amount": "5.00",
            }
        }
    )

    with pytest.raises(LedgerError) as refused:
        ledger.record(acme, bad)

    assert (refused.value.field, refused.value.status) == ("due_on", 422)


def test_the_same_envelope_twice_is_recorded_once(
    ledger: Ledger, engine: Engine, acme: str
):
    ledger.record(acme, fact(debtor()))
    twice = fact(invoice("INV-1", "100.00", "2026-01-19"))

    first = ledger.record(acme, twice)
    second = ledger.record(acme, twice)

    assert (first.duplicate, second.duplicate) == (False, True)
    assert count(engine, InvoiceRow) == 1
    assert [e["type"] for e in outbox(engine)] == ["debtor.upserted", "invoice.issued"]
    assert UUID(outbox(engine)[1]["id"]) == first.emitted[0]


def test_another_creditors_debtor_and_invoice_are_not_found(ledger: Ledger, acme: str):
    other, _ = ledger.add_creditor(PROFILE, creditor_id="globex")
    ledger.record_many(
        acme, [fact(debtor()), fact(invoice("INV-1", "5.00", "2026-02-01"))]
    )

    with pytest.raises(UnknownDebtor):
        ledger.debtor(other, "d1")
    with pytest.raises(UnknownDebtor):
        ledger.statement(other, "d1")
    with pytest.raises(UnknownInvoice):
        ledger.invoice(other, "INV-1")
    with pytest.raises(UnknownDebtor):
        ledger.record(
            other, fact(invoice("INV-2", "5.00", "2026-02-01"), creditor=other)
        )
    with pytest.raises(UnknownCreditor) as refused:
        ledger.record(other, fact(invoice("INV-2", "5.00", "2026-02-01")))
    assert refused.value.field == "creditor"


def test_record_many_records_all_or_nothing_and_names_the_failing_entry(
    ledger: Ledger, engine: Engine, acme: str
):
    batch = [
        fact(debtor()),
        fact(invoice("INV-1", "100.00", "2026-01-19")),
        fact(payment("P-1", "10.00", currency="USD")),
    ]

    with pytest.raises(CurrencyMismatch) as refused:
        ledger.record_many(acme, batch)

    assert refused.value.index == 2
    assert str(refused.value).startswith("[2] currency: ")
    assert count(engine, InvoiceRow) == 0
    assert outbox(engine) == []
    with pytest.raises(UnknownDebtor):
        ledger.debtor(acme, "d1")


def test_record_many_takes_a_batch_with_a_repeated_envelope_once(
    ledger: Ledger, engine: Engine, acme: str
):
    issued = fact(invoice("INV-1", "100.00", "2026-01-19"))

    results = ledger.record_many(acme, [fact(debtor()), issued, issued])

    assert [r.duplicate for r in results] == [False, False, True]
    assert count(engine, InvoiceRow) == 1


def mixed_facts(creditor: str) -> list[Envelope]:
    """Two debtors' facts, each one building on earlier ones of the same batch."""
    return [
        fact(debtor(), creditor=creditor),
        fact(invoice("INV-1", "100.00", "2026-01-19"), creditor=creditor),
        fact(payment("P-1", "100.00", invoice="INV-1"), creditor=creditor),
        fact(payment("P-2", "30.00"), creditor=creditor),
        fact(invoice("INV-2", "50.00", "2026-02-19"), creditor=creditor),
        fact(InboundDebtorUpdated(email="billing@beta.example"), creditor=creditor),
        fact(debtor("Gamma AG"), debtor="d2", creditor=creditor),
        fact(invoice("INV-3", "80.00", "2026-02-01"), debtor="d2", creditor=creditor),
        fact(
            InboundCreditNoteIssued(
                number="CN-1",
                issued_on=date(2026, 1, 6),
                currency="EUR",
                amount="30.00",
                invoice="INV-3",
            ),
            debtor="d2",
            creditor=creditor,
        ),
        fact(
            InboundInvoiceWrittenOff(number="INV-2", written_off_on=date(2026, 3, 1)),
            creditor=creditor,
        ),
        fact(payment("P-3", "50.00"), debtor="d2", creditor=creditor),
    ]


def test_a_batch_records_what_its_facts_one_by_one_would(
    ledger: Ledger, engine: Engine, acme: str
):
    ledger.add_creditor(PROFILE, creditor_id="solo")
    for envelope in mixed_facts("solo"):
        ledger.record("solo", envelope)

    results = ledger.record_many(acme, mixed_facts(acme))

    def events(creditor: str) -> list[tuple[str, Any]]:
        return [
            (e["type"], e["data"]) for e in outbox(engine) if e["creditor"] == creditor
        ]

    assert events(acme) == events("solo")
    assert [len(r.emitted) for r in results] == [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]
    for debtor_id in ("d1", "d2"):
        batch = ledger.statement(acme, debtor_id).model_dump(exclude={"debtor"})
        solo = ledger.statement("solo", debtor_id).model_dump(exclude={"debtor"})
        assert batch == solo
    assert ledger.invoice(acme, "INV-2").status == "written_off"
    assert ledger.debtor(acme, "d1").email == "billing@beta.example"


def test_a_batch_emits_the_same_event_ids_when_recorded_again(
    ledger: Ledger, engine: Engine, acme: str
):
    facts = mixed_facts(acme)

    first = ledger.record_many(acme, facts)
    again = ledger.record_many(acme, facts)

    emitted = [e["id"] for e in outbox(engine) if e["creditor"] == acme]
    assert emitted == [str(i) for r in first for i in r.emitted]
    assert all(r.duplicate and r.emitted == () for r in again)


def test_every_event_the_ledger_emits_is_byte_for_byte_its_validated_envelope(
    ledger: Ledger, engine: Engine, acme: str
):
    # JPY has no minor unit: its amounts must keep no decimals on the wire.
    yen = [
        fact(invoice("INV-Y", "1200", "2026-02-01", currency="JPY"), debtor="d2"),
        fact(payment("P-Y", "1500", currency="JPY"), debtor="d2"),
        fact(invoice("INV-Z", "200", "2026-02-02", currency="JPY"), debtor="d2"),
    ]

    ledger.record_many(acme, [*mixed_facts(acme), *yen])

    with Session(engine) as session:
        stored = session.exec(
            select(OutboxMessage.envelope).where(OutboxMessage.topic == "ledger.events")
        ).all()
    types = set()
    for raw in stored:
        envelope = Envelope.from_bytes(raw)
        validated = EVENT_TYPES[envelope.type].model_validate(envelope.data)
        rebuilt = Envelope.wrap(
            validated,
            creditor=envelope.creditor,
            debtor=envelope.debtor,
            occurred_at=envelope.occurred_at,
            id=envelope.id,
        )
        assert raw == rebuilt.to_bytes()
        types.add(envelope.type)
    assert types == {
        "debtor.upserted",
        "invoice.issued",
        "payment.received",
        "invoice.adjusted",
        "invoice.written_off",
    }


def test_a_payment_before_its_invoice_in_a_batch_is_refused_at_its_index(
    ledger: Ledger, engine: Engine, acme: str
):
    batch = [
        fact(debtor()),
        fact(payment("P-1", "100.00", invoice="INV-1")),
        fact(invoice("INV-1", "100.00", "2026-01-19")),
    ]

    with pytest.raises(UnknownInvoice) as refused:
        ledger.record_many(acme, batch)

    assert (refused.value.index, refused.value.field) == (1, "invoice")
    assert count(engine, InvoiceRow) == 0
    assert outbox(engine) == []


def test_a_payment_id_twice_in_one_batch_is_refused_at_the_second(
    ledger: Ledger, engine: Engine, acme: str
):
    batch = [
        fact(debtor()),
        fact(invoice("INV-1", "100.00", "2026-01-19")),
        fact(payment("P-1", "40.00")),
        fact(payment("P-1", "40.00")),
    ]

    with pytest.raises(DuplicatePayment) as refused:
        ledger.record_many(acme, batch)

    assert refused.value.index == 3
    assert count(engine, PaymentRow) == 0


def test_the_first_refusal_of_a_batch_is_reported_though_a_later_fact_is_malformed(
    ledger: Ledger, acme: str
):
    malformed = fact(debtor()).model_copy(update={"data": {"name": 7}})
    batch = [fact(debtor()), fact(payment("P-1", "10.00", "NOPE")), malformed]

    with pytest.raises(UnknownInvoice) as refused:
        ledger.record_many(acme, batch)

    assert refused.value.index == 1


def test_a_credit_note_naming_no_invoice_settles_oldest_due_first_then_is_credit(
    ledger: Ledger, engine: Engine, acme: str
):
    ledger.record_many(
        acme,
        [
            fact(debtor()),
            fact(invoice("INV-1", "100.00", "2026-02-01")),
            fact(invoice("INV-2", "100.00", "2026-01-20")),
        ],
    )

    ledger.record(
        acme,
        fact(
            InboundCreditNoteIssued(
                number="CN-1",
                issued_on=date(2026, 1, 6),
                currency="EUR",
                amount="150.00",
            )
        ),
    )

    adjusted = [e["data"] for e in outbox(engine) if e["type"] == "invoice.adjusted"]
    assert [(a["number"], a["amount"], a["balance"]) for a in adjusted] == [
        ("INV-2", "100.00", "0.00"),
        ("INV-1", "50.00", "50.00"),
    ]
    [balance] = ledger.statement(acme, "d1").balances
    assert (str(balance.open_balance), str(balance.unallocated_credit)) == (
        "50.00",
        "0.00",
    )


def test_a_paid_invoice_cannot_be_written_off(ledger: Ledger, acme: str):
    ledger.record_many(
        acme,
        [
            fact(debtor()),
            fact(invoice("INV-1", "100.00", "2026-02-01")),
            fact(payment("P-1", "100.00")),
        ],
    )

    with pytest.raises(LedgerError) as refused:
        ledger.record(
            acme,
            fact(
                InboundInvoiceWrittenOff(
                    number="INV-1", written_off_on=date(2026, 3, 1)
                )
            ),
        )

    assert (refused.value.status, refused.value.field) == (409, "number")


def test_a_payment_naming_another_debtors_invoice_is_refused(ledger: Ledger, acme: str):
    ledger.record_many(
        acme,
        [
            fact(debtor()),
            fact(debtor("Gamma AG"), debtor="d2"),
            fact(invoice("INV-1", "100.00", "2026-02-01"), debtor="d2"),
        ],
    )

    with pytest.raises(UnknownInvoice) as refused:
        ledger.record(acme, fact(payment("P-1", "10.00", invoice="INV-1")))

    assert refused.value.field == "invoice"


def test_a_profile_update_is_stored_and_published_whole(
    ledger: Ledger, engine: Engine, acme: str
):
    changed = PROFILE.model_copy(update={"legal_name": "ACME Holding GmbH"})

    ledger.update_profile(acme, changed)

    *_, latest = outbox(engine, "ledger.creditors")
    assert latest["data"]["legal_name"] == "ACME Holding GmbH"
    assert latest["data"]["payment_link"] == "https://pay.acme.example/"
    assert (latest["creditor"], latest.get("debtor")) == (acme, None)
    with Session(engine) as session:
        keys = set(
            session.exec(
                select(OutboxMessage.key).where(
                    OutboxMessage.topic == "ledger.creditors"
                )
            ).all()
        )
    assert keys == {acme}
    with pytest.raises(UnknownCreditor):
        ledger.update_profile("nobody", changed)
