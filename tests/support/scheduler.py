"""Messages and readers for the scheduler's tests: a creditor, a debtor, facts."""

import copy
from datetime import datetime
from typing import Any
from uuid import uuid4
from zoneinfo import ZoneInfo

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from services.scheduler.adapters.tables import CollectionRow, OutboxMessage
from shared.events import Envelope
from shared.events.examples import EXAMPLES

BERLIN = ZoneInfo("Europe/Berlin")


def at(day: str, clock: str = "10:00") -> datetime:
    """A moment in Berlin, where the example creditor and its debtors are."""
    return datetime.fromisoformat(f"{day}T{clock}").replace(tzinfo=BERLIN)


def creditor_updated(
    moment: datetime, *, creditor: str = "acme", **changes: Any
) -> Envelope:
    data = copy.deepcopy(EXAMPLES["creditor.updated"]) | changes
    return Envelope(
        type="creditor.updated", occurred_at=moment, creditor=creditor, data=data
    )


def fact(
    type: str,
    data: dict[str, Any],
    moment: datetime,
    *,
    debtor: str = "d1",
    creditor: str = "acme",
) -> Envelope:
    return Envelope(
        id=uuid4(),
        type=type,
        occurred_at=moment,
        creditor=creditor,
        debtor=debtor,
        data=data,
    )


DEBTOR: dict[str, Any] = {
    "name": "Beta GmbH",
    "email": "ap@beta.example",
    "language": "en",
    "address": {
        "lines": ["Beta GmbH", "Hauptstr. 1"],
        "postcode": "10115",
        "city": "Berlin",
        "country": "DE",
    },
}
"""The example debtor's details, as `debtor.upserted` carries them."""


def debtor_upserted(
    moment: datetime, *, debtor: str = "d1", creditor: str = "acme", **changes: Any
) -> Envelope:
    data = copy.deepcopy(DEBTOR) | changes
    return fact("debtor.upserted", data, moment, debtor=debtor, creditor=creditor)


def invoice_issued(
    moment: datetime,
    *,
    debtor: str = "d1",
    number: str = "INV-1",
    amount: str = "1200.00",
    issued: str = "2026-01-05",
    due: str = "2026-01-19",
    creditor: str = "acme",
) -> Envelope:
    data = {
        "number": number,
        "issued_on": issued,
        "due_on": due,
        "currency": "EUR",
        "amount": amount,
        "balance": amount,
    }
    return fact("invoice.issued", data, moment, debtor=debtor, creditor=creditor)


def payment_received(
    moment: datetime,
    *,
    debtor: str = "d1",
    number: str = "INV-1",
    amount: str = "1200.00",
    balance_after: str = "0.00",
    creditor: str = "acme",
) -> Envelope:
    data = {
        "payment_id": f"p-{uuid4().hex[:8]}",
        "currency": "EUR",
        "amount": amount,
        "received_on": moment.date().isoformat(),
        "allocations": [
            {"invoice": number, "amount": amount, "balance_after": balance_after}
        ],
        "unallocated": "0.00",
        "debtor_credit": "0.00",
        "debtor_balance": balance_after,
    }
    return fact("payment.received", data, moment, debtor=debtor, creditor=creditor)


def outbox(engine: Engine) -> list[Envelope]:
    """Every event the scheduler enqueued, in the order it wrote them."""
    with Session(engine) as session:
        rows = session.exec(
            select(OutboxMessage).order_by(col(OutboxMessage.position))
        ).all()
        return [Envelope.from_bytes(row.envelope) for row in rows]


def contacts(engine: Engine) -> list[dict[str, Any]]:
    """The data of every contact.due enqueued, in order."""
    return [e.data for e in outbox(engine) if e.type == "contact.due"]


def collection_row(engine: Engine, debtor: str = "d1") -> CollectionRow | None:
    with Session(engine) as session:
        return session.get(CollectionRow, ("acme", debtor))
