"""A batch of facts held in memory: read up front, written at the end in bulk.

Recording fact by fact costs a few round trips each. A batch instead loads,
in a handful of queries, every row its facts can touch: their debtors, those
debtors' open invoices and credit, and each invoice, payment and credit note
the facts name. The facts are then applied to these rows in order, so a
later fact sees what an earlier one did, and the result is written in one
statement per table. Rows the batch did not load are known not to exist.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from datetime import date, datetime
from decimal import Decimal
from typing import Any, TypeVar
from uuid import UUID

import sqlalchemy as sa
from sqlmodel import Session, col, select

from services.ledger.adapters.tables import (
    AllocationRow,
    CreditNoteRow,
    DebtorCreditRow,
    DebtorRow,
    InvoiceRow,
    OutboxMessage,
    PaymentRow,
    ProcessedMessage,
    WriteOffRow,
)
from services.ledger.domain.allocation import InvoiceStatus
from shared.db.bulk import among, insert_rows
from shared.events import Envelope, Payload
from shared.events import inbound as facts
from shared.outbox import Sealed, enqueue_many
from shared.topics import LEDGER_EVENTS, LEDGER_INBOUND

# Bound parameters per IN list: SQLite allows 32,766 in all, PostgreSQL 65,535.
_CHUNK = 1000

_CreditKey = tuple[str, str]


# Debtors, invoices and credit are plain records, not mapped rows: a batch
# builds and reads thousands of them, and a mapped row costs ten times as much
# to make.


@dataclass(slots=True)
class Debtor:
    """A debtor's row, as a batch holds it."""

    creditor_id: str
    debtor_id: str
    name: str
    updated_at: datetime
    email: str | None = None
    email_opt_out: bool = False
    language: str | None = None
    timezone: str | None = None
    country: str | None = None
    address: dict[str, Any] | None = None
    reference: str | None = None


@dataclass(slots=True)
class Invoice:
    """An invoice's row, as a batch holds it."""

    creditor_id: str
    number: str
    debtor_id: str
    issued_on: date
    due_on: date
    currency: str
    amount: Decimal
    credited: Decimal
    balance: Decimal
    status: str
    recorded_at: datetime


@dataclass(slots=True)
class Credit:
    """A debtor's unallocated credit in one currency, as a batch holds it."""

    creditor_id: str
    debtor_id: str
    currency: str
    amount: Decimal


_Record = TypeVar("_Record", Debtor, Invoice, Credit)


class Batch:
    """The rows one creditor's batch reads and writes; nothing is written early."""

    def __init__(self, session: Session, creditor_id: str, now: datetime) -> None:
        self.session = session
        self.creditor = creditor_id
        self.now = now

        self.debtors: dict[str, Debtor] = {}
        self.invoices: dict[str, Invoice] = {}
        self.payments: set[str] = set()
        self.credit_notes: set[str] = set()
        self.credits: dict[_CreditKey, Credit] = {}
        self._open: dict[str, dict[str, Invoice]] = {}

        # Each row read from the database, beside its columns as read: only
        # these can need an UPDATE, and only if they changed.
        self._loaded: dict[type[Any], list[tuple[Any, dict[str, Any]]]] = {}
        self._new_debtors: list[Debtor] = []
        self._new_invoices: list[Invoice] = []
        self._new_credits: list[Credit] = []
        self._payments: list[dict[str, Any]] = []
        self._credit_notes: list[dict[str, Any]] = []
        self._allocations: list[dict[str, Any]] = []
        self._write_offs: list[dict[str, Any]] = []
        self._processed: list[dict[str, Any]] = []
        self._events: list[Sealed] = []

    # -- reading, once ---------------------------------------------------------

    def load(self, addressed: Iterable[tuple[Envelope, Payload]]) -> None:
        """Read every row the facts can touch, then let go of the session's copies."""
        debtors: set[str] = set()
        numbers: set[str] = set()
        payment_ids: set[str] = set()
        note_numbers: set[str] = set()
        for envelope, payload in addressed:
            if envelope.debtor is not None:
                debtors.add(envelope.debtor)
            match payload:
                case facts.InboundInvoiceIssued() | facts.InboundInvoiceWrittenOff():
                    numbers.add(payload.number)
                case facts.InboundPaymentReceived():
                    payment_ids.add(payload.payment_id)
                    if payload.invoice is not None:
                        numbers.add(payload.invoice)
                case facts.InboundCreditNoteIssued():
                    note_numbers.add(payload.number)
                    if payload.invoice is not None:
                        numbers.add(payload.invoice)

        c = self.creditor
        d = self.session.connection().dialect.name
        for chunk in _chunks(debtors):
            for debtor in self._records(Debtor, among(_DEBTORS.c.debtor_id, chunk, d)):
                self.debtors[debtor.debtor_id] = debtor
            for invoice in self._records(
                Invoice,
                among(_INVOICES.c.debtor_id, chunk, d),
                _INVOICES.c.status == InvoiceStatus.OPEN.value,
            ):
                self._keep_invoice(invoice)
            for credit in self._records(Credit, among(_CREDITS.c.debtor_id, chunk, d)):
                self.credits[(credit.debtor_id, credit.currency)] = credit
        for chunk in _chunks(numbers):
            for invoice in self._records(Invoice, among(_INVOICES.c.number, chunk, d)):
                self._keep_invoice(invoice)
        for chunk in _chunks(payment_ids):
            self.payments.update(
                self.session.exec(
                    select(PaymentRow.payment_id).where(
                        PaymentRow.creditor_id == c,
                        among(col(PaymentRow.payment_id), chunk, d),
                    )
                ).all()
            )
        for chunk in _chunks(note_numbers):
            self.credit_notes.update(
                self.session.exec(
                    select(CreditNoteRow.number).where(
                        CreditNoteRow.creditor_id == c,
                        among(col(CreditNoteRow.number), chunk, d),
                    )
                ).all()
            )

        for debtor in self.debtors.values():
            self._remember(DebtorRow, debtor)
        for invoice in self.invoices.values():
            self._remember(InvoiceRow, invoice)
        for credit in self.credits.values():
            self._remember(DebtorCreditRow, credit)

    # -- the working set -------------------------------------------------------

    def open_invoices(self, debtor_id: str) -> list[Invoice]:
        return [
            row for row in self._open.get(debtor_id, {}).values() if row.status == _OPEN
        ]

    def add_debtor(self, row: Debtor) -> None:
        self.debtors[row.debtor_id] = row
        self._new_debtors.append(row)

    def add_invoice(self, row: Invoice) -> None:
        self._keep_invoice(row)
        self._new_invoices.append(row)

    def add_credit(self, row: Credit) -> None:
        self.credits[(row.debtor_id, row.currency)] = row
        self._new_credits.append(row)

    def add_payment(self, row: dict[str, Any]) -> None:
        self.payments.add(row["payment_id"])
        self._payments.append(row)

    def add_credit_note(self, row: dict[str, Any]) -> None:
        self.credit_notes.add(row["number"])
        self._credit_notes.append(row)

    def add_allocation(self, row: dict[str, Any]) -> None:
        self._allocations.append(row)

    def add_write_off(self, row: dict[str, Any]) -> None:
        self._write_offs.append(row)

    def add_event(self, event: Sealed) -> None:
        self._events.append(event)

    def processed(self, envelope: Envelope) -> None:
        self._processed.append(
            {
                "event_id": envelope.id,
                "topic": LEDGER_INBOUND.name,
                "type": envelope.type,
                "processed_at": self.now,
            }
        )

    # -- writing, once ---------------------------------------------------------

    def write(self) -> None:
        """Insert and update what the batch did, parents before children."""
        self._insert(DebtorRow, [_values(DebtorRow, r) for r in self._new_debtors])
        self._update_changed(DebtorRow)
        self._insert(InvoiceRow, [_values(InvoiceRow, r) for r in self._new_invoices])
        self._update_changed(InvoiceRow)
        self._insert(PaymentRow, self._payments)
        self._insert(CreditNoteRow, self._credit_notes)
        self._insert(AllocationRow, self._allocations)
        self._insert(WriteOffRow, self._write_offs)
        self._insert(
            DebtorCreditRow, [_values(DebtorCreditRow, r) for r in self._new_credits]
        )
        self._update_changed(DebtorCreditRow)
        self._insert(ProcessedMessage, self._processed)
        enqueue_many(self.session, OutboxMessage, self._events, LEDGER_EVENTS)

    def _insert(self, table: type[Any], rows: Sequence[dict[str, Any]]) -> None:
        insert_rows(self.session.connection(), table.__table__, rows)

    def _update_changed(self, table: type[Any]) -> None:
        """One UPDATE, run for each loaded row whose columns differ from the load."""
        key = [column.name for column in table.__table__.primary_key]
        changed = []
        for row, before in self._loaded.get(table, ()):
            after = _values(table, row)
            if after != before:
                keys = {f"key_{name}": after.pop(name) for name in key}
                changed.append(keys | after)
        if not changed:
            return
        # Without `.values()` the SET clause takes every column the rows name.
        t: sa.Table = table.__table__
        statement = sa.update(t).where(
            *(t.c[name] == sa.bindparam(f"key_{name}") for name in key)
        )
        self.session.connection().execute(statement, changed)

    # -- helpers ---------------------------------------------------------------

    def _records(
        self, record: type[_Record], *where: sa.ColumnElement[bool]
    ) -> list[_Record]:
        """Rows of this creditor as plain records, read without the ORM."""
        t = _TABLES[record]
        names = [f.name for f in fields(record)]
        query = sa.select(*(t.c[name] for name in names)).where(
            t.c.creditor_id == self.creditor, *where
        )
        rows = self.session.connection().execute(query)
        return [record(*row) for row in rows]

    def _keep_invoice(self, row: Invoice) -> None:
        if row.number in self.invoices:
            return
        self.invoices[row.number] = row
        self._open.setdefault(row.debtor_id, {})[row.number] = row

    def _remember(self, table: type[Any], row: Any) -> None:
        self._loaded.setdefault(table, []).append((row, _values(table, row)))


# Read once: an enum member's `.value` costs a descriptor call on every use.
_OPEN = InvoiceStatus.OPEN.value

_DEBTORS: sa.Table = DebtorRow.__table__  # type: ignore[attr-defined]
_INVOICES: sa.Table = InvoiceRow.__table__  # type: ignore[attr-defined]
_CREDITS: sa.Table = DebtorCreditRow.__table__  # type: ignore[attr-defined]
_TABLES = {Debtor: _DEBTORS, Invoice: _INVOICES, Credit: _CREDITS}


def _values(table: type[Any], row: Any) -> dict[str, Any]:
    return {name: getattr(row, name) for name in _columns(table)}


def _columns(table: type[Any]) -> tuple[str, ...]:
    """A table's column names; iterating `Table.columns` costs more than a tuple."""
    names = _COLUMNS.get(table)
    if names is None:
        names = _COLUMNS[table] = tuple(c.name for c in table.__table__.columns)
    return names


_COLUMNS: dict[type[Any], tuple[str, ...]] = {}


def _chunks(values: set[str] | set[UUID]) -> Iterable[list[Any]]:
    ordered = sorted(values, key=str)
    for start in range(0, len(ordered), _CHUNK):
        yield ordered[start : start + _CHUNK]
