"""Rows turned into the read models of `views.py`."""

from sqlmodel import Session, col, select

from services.ledger.adapters.tables import (
    AllocationRow,
    DebtorRow,
    InvoiceRow,
    PaymentRow,
)
from services.ledger.service.facts import money
from services.ledger.service.views import (
    DebtorView,
    InvoiceView,
    PaymentView,
    Settlement,
)
from shared.events.parties import PostalAddress


def debtor_view(row: DebtorRow) -> DebtorView:
    return DebtorView(
        creditor=row.creditor_id,
        debtor=row.debtor_id,
        name=row.name,
        email=row.email,
        email_opt_out=row.email_opt_out,
        language=row.language,
        timezone=row.timezone,
        country=row.country,
        address=PostalAddress.model_validate(row.address) if row.address else None,
        reference=row.reference,
    )


def invoice_view(session: Session, row: InvoiceRow) -> InvoiceView:
    settlements = session.exec(
        select(AllocationRow)
        .where(
            AllocationRow.creditor_id == row.creditor_id,
            AllocationRow.invoice == row.number,
        )
        .order_by(col(AllocationRow.id))
    ).all()
    return InvoiceView(
        number=row.number,
        debtor=row.debtor_id,
        issued_on=row.issued_on,
        due_on=row.due_on,
        currency=row.currency,
        amount=money(row.amount, row.currency),
        credited=money(row.credited, row.currency),
        balance=money(row.balance, row.currency),
        status=row.status,
        settlements=[
            Settlement(
                source=s.source,
                reference=s.source_ref,
                amount=money(s.amount, s.currency),
            )
            for s in settlements
        ],
    )


def payment_view(row: PaymentRow) -> PaymentView:
    return PaymentView(
        payment_id=row.payment_id,
        currency=row.currency,
        amount=money(row.amount, row.currency),
        received_on=row.received_on,
        invoice=row.invoice,
        reference=row.reference,
        unallocated=money(row.unallocated, row.currency),
    )
