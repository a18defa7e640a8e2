"""Applying one inbound fact to its batch: parse it, decide with the domain, report."""

import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid5

from pydantic import ValidationError
from sqlmodel import Session

from services.ledger.adapters.tables import DebtorRow, InvoiceRow
from services.ledger.domain import allocation
from services.ledger.domain.allocation import InvoiceStatus, OpenItem, Share
from services.ledger.domain.errors import (
    DueBeforeIssue,
    DuplicateCreditNote,
    DuplicateInvoice,
    DuplicatePayment,
    InvalidFact,
    LedgerError,
    NotPositive,
    UnknownDebtor,
    UnknownInvoice,
)
from services.ledger.service.batch import Batch, Credit, Debtor, Invoice
from shared.events import Envelope, EventContractError, Payload, parse_inbound
from shared.events import inbound as facts
from shared.events import ledger as events
from shared.events.envelope import debtor_key, sealed
from shared.events.errors import MisaddressedEvent, UnknownEventType
from shared.events.parties import PostalAddress
from shared.money import quantize
from shared.outbox import Sealed
from shared.topics import LEDGER_EVENTS

ZERO = Decimal(0)

# Two rules the inbound payloads already enforce as whole-model checks, which
# pydantic reports without a field; the ledger's own errors name it.
_MODEL_RULES: dict[str, Callable[[], LedgerError]] = {
    "due_on is before issued_on": DueBeforeIssue,
    "a payment is more than zero": NotPositive,
}


# A whole-model check of a payload (money held to its currency) names the
# field inside its message: `InboundInvoiceIssued.amount: ...`.
_NAMED_IN_MESSAGE = re.compile(r"^[A-Za-z]+\.(?P<field>[\w.\[\]]+): (?P<rest>.*)$")


class Fact:
    """One inbound fact being applied to its batch: envelope and emitted events."""

    def __init__(self, batch: Batch, envelope: Envelope) -> None:
        self.batch = batch
        self.envelope = envelope
        self.now = batch.now
        self.creditor = envelope.creditor
        assert envelope.debtor is not None  # parse_inbound checked the addressing
        self.debtor_id: str = envelope.debtor
        self.emitted: list[UUID] = []

    def emit(self, payload: Payload) -> None:
        """Enqueue an event on ledger.events; replays of the fact give the same id.

        The ledger builds most events with `model_construct`: their values come
        from a validated fact and the domain's arithmetic, already held to the
        currency, so validating them again would only cost time; nor is an
        envelope built around them, only its bytes written (`sealed`). A test
        checks the bytes equal those of the validated envelope.
        """
        event_id = uuid5(self.envelope.id, f"{LEDGER_EVENTS.name}/{len(self.emitted)}")
        wire = sealed(
            payload,
            id=event_id,
            creditor=self.creditor,
            debtor=self.debtor_id,
            occurred_at=self.now,
        )
        key = debtor_key(self.creditor, self.debtor_id)
        self.batch.add_event(
            Sealed(event_id, key, payload.event_type, wire, recorded_at=self.now)
        )
        self.emitted.append(event_id)

    def debtor(self) -> Debtor:
        row = self.batch.debtors.get(self.debtor_id)
        if row is None:
            raise UnknownDebtor("debtor")
        return row

    def invoice(self, number: str, field: str) -> Invoice:
        """An invoice of this debtor; another debtor's counts as unknown."""
        row = self.batch.invoices.get(number)
        if row is None or row.debtor_id != self.debtor_id:
            raise UnknownInvoice(field)
        return row

    def open_invoices(self) -> list[Invoice]:
        return self.batch.open_invoices(self.debtor_id)

    def held_credit(self, currency: str) -> Credit | None:
        return self.batch.credits.get((self.debtor_id, currency))

    def credit(self, currency: str) -> Credit:
        row = self.held_credit(currency)
        if row is None:
            row = Credit(
                creditor_id=self.creditor,
                debtor_id=self.debtor_id,
                currency=currency,
                amount=quantize(ZERO, currency),
            )
            self.batch.add_credit(row)
        return row

    def settle(self, row: Invoice, share: Share, source: str, reference: str) -> None:
        """Lower an invoice's balance by `share`, noting where the money came from."""
        row.balance = share.balance_after
        row.status = allocation.status_for(share.balance_after).value
        self.batch.add_allocation(
            {
                "creditor_id": self.creditor,
                "invoice": row.number,
                "source": source,
                "source_ref": reference,
                "currency": row.currency,
                "amount": share.amount,
                "recorded_at": self.now,
            }
        )


def parse_fact(envelope: Envelope) -> Payload:
    try:
        return parse_inbound(envelope)
    except UnknownEventType:
        raise InvalidFact(
            f"{envelope.type!r} is not a fact the ledger records", field="type"
        ) from None
    except MisaddressedEvent as error:
        raise InvalidFact(str(error), field="debtor") from None
    except EventContractError as error:
        raise InvalidFact(str(error), field="schema") from None
    except ValidationError as error:
        raise _invalid(error) from None


def _invalid(error: ValidationError) -> LedgerError:
    details = error.errors(include_url=False, include_input=False)
    first = details[0]
    for rule, refusal in _MODEL_RULES.items():
        if not first["loc"] and rule in first["msg"]:
            return refusal()
    field = ".".join(str(part) for part in first["loc"]) or None
    message = first["msg"].removeprefix("Value error, ")
    if field is None and (named := _NAMED_IN_MESSAGE.match(message)):
        field, message = named.group("field"), named.group("rest")
    others = [f"{'.'.join(str(p) for p in d['loc'])}: {d['msg']}" for d in details[1:]]
    return InvalidFact("; ".join([message, *others]), field=field)


# -- applying each kind of fact ---------------------------------------------


def _upsert_debtor(fact: Fact, payload: facts.InboundDebtorUpserted) -> None:
    row = fact.batch.debtors.get(fact.debtor_id)
    details = payload.model_dump(mode="json")
    if row is None:
        row = Debtor(
            creditor_id=fact.creditor,
            debtor_id=fact.debtor_id,
            updated_at=fact.now,
            **details,
        )
        fact.batch.add_debtor(row)
    else:
        for name, value in details.items():
            setattr(row, name, value)
        row.updated_at = fact.now
    fact.emit(debtor_event(row))


def _update_debtor(fact: Fact, payload: facts.InboundDebtorUpdated) -> None:
    row = fact.debtor()
    for name, value in payload.model_dump(mode="json", exclude_unset=True).items():
        setattr(row, name, value)
    row.updated_at = fact.now
    fact.emit(debtor_event(row))


def _issue_invoice(fact: Fact, payload: facts.InboundInvoiceIssued) -> None:
    fact.debtor()
    if payload.number in fact.batch.invoices:
        raise DuplicateInvoice("number")
    credit = fact.held_credit(payload.currency)
    held = money(credit.amount, payload.currency) if credit else ZERO

    issued = allocation.issue_invoice(
        amount=payload.amount,
        currency=payload.currency,
        issued_on=payload.issued_on,
        due_on=payload.due_on,
        credit=held,
    )

    row = Invoice(
        creditor_id=fact.creditor,
        number=payload.number,
        debtor_id=fact.debtor_id,
        issued_on=payload.issued_on,
        due_on=payload.due_on,
        currency=payload.currency,
        amount=payload.amount,
        credited=quantize(ZERO, payload.currency),
        balance=payload.amount,
        status=InvoiceStatus.OPEN.value,
        recorded_at=fact.now,
    )
    fact.batch.add_invoice(row)
    if credit is not None and issued.credit_applied > 0:
        share = Share(payload.number, issued.credit_applied, issued.balance)
        fact.settle(row, share, "credit", "credit")
        credit.amount = issued.credit_left
    fact.emit(
        events.InvoiceIssued.model_construct(
            number=payload.number,
            issued_on=payload.issued_on,
            due_on=payload.due_on,
            currency=payload.currency,
            amount=payload.amount,
            credit_applied=issued.credit_applied,
            balance=issued.balance,
        )
    )


def _receive_payment(fact: Fact, payload: facts.InboundPaymentReceived) -> None:
    fact.debtor()
    if payload.payment_id in fact.batch.payments:
        raise DuplicatePayment("payment_id")
    rows = {row.number: row for row in fact.open_invoices()}
    if payload.invoice is not None and payload.invoice not in rows:
        named = fact.invoice(payload.invoice, "invoice")
        rows[named.number] = named

    allocated = allocation.allocate(
        [open_item(row) for row in rows.values()],
        amount=payload.amount,
        currency=payload.currency,
        invoice=payload.invoice,
    )

    fact.batch.add_payment(
        {
            "creditor_id": fact.creditor,
            "payment_id": payload.payment_id,
            "debtor_id": fact.debtor_id,
            "currency": payload.currency,
            "amount": payload.amount,
            "received_on": payload.received_on,
            "invoice": payload.invoice,
            "reference": payload.reference,
            "unallocated": allocated.leftover,
            "recorded_at": fact.now,
        }
    )
    for share in allocated.shares:
        fact.settle(rows[share.invoice], share, "payment", payload.payment_id)
    credit = fact.credit(payload.currency)
    credit.amount = money(credit.amount, payload.currency) + allocated.leftover

    balance = sum(
        (
            money(row.balance, payload.currency)
            for row in rows.values()
            if row.currency == payload.currency
            and row.status == InvoiceStatus.OPEN.value
        ),
        start=quantize(ZERO, payload.currency),
    )
    fact.emit(
        events.PaymentReceived.model_construct(
            payment_id=payload.payment_id,
            currency=payload.currency,
            amount=payload.amount,
            received_on=payload.received_on,
            invoice=payload.invoice,
            reference=payload.reference,
            allocations=[
                events.Allocation.model_construct(
                    invoice=s.invoice, amount=s.amount, balance_after=s.balance_after
                )
                for s in allocated.shares
            ],
            unallocated=allocated.leftover,
            debtor_credit=credit.amount,
            debtor_balance=balance,
        )
    )


def _issue_credit_note(fact: Fact, payload: facts.InboundCreditNoteIssued) -> None:
    fact.debtor()
    if payload.number in fact.batch.credit_notes:
        raise DuplicateCreditNote("number")

    if payload.invoice is not None:
        target = fact.invoice(payload.invoice, "invoice")
        shares: tuple[Share, ...] = (
            allocation.credit_invoice(
                open_item(target), amount=payload.amount, currency=payload.currency
            ),
        )
        rows = {target.number: target}
        leftover = ZERO
    else:
        rows = {row.number: row for row in fact.open_invoices()}
        allocated = allocation.allocate(
            [open_item(row) for row in rows.values()],
            amount=payload.amount,
            currency=payload.currency,
        )
        shares, leftover = allocated.shares, allocated.leftover

    fact.batch.add_credit_note(
        {
            "creditor_id": fact.creditor,
            "number": payload.number,
            "debtor_id": fact.debtor_id,
            "invoice": payload.invoice,
            "issued_on": payload.issued_on,
            "currency": payload.currency,
            "amount": payload.amount,
            "reason": payload.reason,
            "recorded_at": fact.now,
        }
    )
    for share in shares:
        row = rows[share.invoice]
        row.credited = money(row.credited, row.currency) + share.amount
        fact.settle(row, share, "credit_note", payload.number)
        fact.emit(
            events.InvoiceAdjusted.model_construct(
                number=share.invoice,
                reason="credit_note",
                credit_note=payload.number,
                currency=payload.currency,
                amount=share.amount,
                balance=share.balance_after,
            )
        )
    if leftover > 0:
        credit = fact.credit(payload.currency)
        credit.amount = money(credit.amount, payload.currency) + leftover


def _write_off(fact: Fact, payload: facts.InboundInvoiceWrittenOff) -> None:
    fact.debtor()
    row = fact.invoice(payload.number, "number")

    amount = allocation.write_off(open_item(row))

    row.balance = quantize(ZERO, row.currency)
    row.status = InvoiceStatus.WRITTEN_OFF.value
    fact.batch.add_write_off(
        {
            "creditor_id": fact.creditor,
            "invoice": row.number,
            "written_off_on": payload.written_off_on,
            "currency": row.currency,
            "amount": amount,
            "reason": payload.reason,
            "recorded_at": fact.now,
        }
    )
    fact.emit(
        events.InvoiceWrittenOff.model_construct(
            number=row.number,
            written_off_on=payload.written_off_on,
            currency=row.currency,
            amount=amount,
            reason=payload.reason,
        )
    )


APPLY: dict[type[Payload], Any] = {
    facts.InboundDebtorUpserted: _upsert_debtor,
    facts.InboundDebtorUpdated: _update_debtor,
    facts.InboundInvoiceIssued: _issue_invoice,
    facts.InboundPaymentReceived: _receive_payment,
    facts.InboundCreditNoteIssued: _issue_credit_note,
    facts.InboundInvoiceWrittenOff: _write_off,
}


def money(amount: Decimal, currency: str) -> Decimal:
    return quantize(Decimal(amount), currency)


def open_item(row: Invoice | InvoiceRow) -> OpenItem:
    return OpenItem(
        number=row.number,
        issued_on=row.issued_on,
        due_on=row.due_on,
        currency=row.currency,
        balance=money(row.balance, row.currency),
        status=InvoiceStatus(row.status),
    )


def load_debtor(session: Session, creditor_id: str, debtor_id: str) -> DebtorRow:
    row = session.get(DebtorRow, (creditor_id, debtor_id))
    if row is None:
        raise UnknownDebtor("debtor")
    return row


def debtor_event(row: DebtorRow | Debtor) -> events.DebtorUpserted:
    return events.DebtorUpserted(
        name=row.name,
        email=row.email,
        email_opt_out=row.email_opt_out,
        language=row.language,
        timezone=row.timezone,
        country=row.country,
        address=PostalAddress.model_validate(row.address) if row.address else None,
        reference=row.reference,
    )
