"""The ledger's events, kept as the notifier needs them: details and balances.

Every event carries absolute values (a debtor's whole record, an invoice's
balance afterwards), so applying one twice leaves the same rows: the
projection needs no inbox.
"""

from datetime import datetime
from decimal import Decimal

from sqlmodel import Session

from services.notifier.adapters.tables import DebtorRow, InvoiceRow
from shared.events import Envelope, Payload
from shared.events import ledger as facts


def apply(
    session: Session, envelope: Envelope, payload: Payload, now: datetime
) -> None:
    """Apply one `ledger.events` payload to the debtor's rows."""
    creditor, debtor = envelope.creditor, envelope.debtor or ""
    if isinstance(payload, facts.DebtorUpserted):
        details = payload.to_data()
        row = session.get(DebtorRow, (creditor, debtor))
        if row is None:
            session.add(
                DebtorRow(
                    creditor_id=creditor,
                    debtor_id=debtor,
                    details=details,
                    updated_at=now,
                )
            )
        else:
            row.details, row.updated_at = details, now
    elif isinstance(payload, facts.InvoiceIssued):
        invoice = session.get(InvoiceRow, (creditor, debtor, payload.number))
        if invoice is None:
            invoice = InvoiceRow(
                creditor_id=creditor,
                debtor_id=debtor,
                number=payload.number,
                currency=payload.currency,
                issued_on=payload.issued_on,
                due_on=payload.due_on,
                amount=payload.amount,
                balance=payload.balance,
                updated_at=now,
            )
            session.add(invoice)
        else:
            invoice.balance, invoice.updated_at = payload.balance, now
    elif isinstance(payload, facts.InvoiceAdjusted):
        _set_balance(session, creditor, debtor, payload.number, payload.balance, now)
    elif isinstance(payload, facts.InvoiceWrittenOff):
        invoice = session.get(InvoiceRow, (creditor, debtor, payload.number))
        if invoice is not None:
            invoice.written_off, invoice.updated_at = True, now
    elif isinstance(payload, facts.PaymentReceived):
        for share in payload.allocations:
            _set_balance(
                session, creditor, debtor, share.invoice, share.balance_after, now
            )


def _set_balance(
    session: Session,
    creditor: str,
    debtor: str,
    number: str,
    balance: Decimal,
    now: datetime,
) -> None:
    invoice = session.get(InvoiceRow, (creditor, debtor, number))
    if invoice is not None:
        invoice.balance = balance
        invoice.updated_at = now
