"""The document a contact is rendered from, as the notifier knows things today.

The debtor's details and the creditor's profile on the send date, the
statutory fees when the stage asks for them, and the debtor's open invoices
for a statement of account.
"""

from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from services.notifier.adapters.tables import InvoiceRow
from services.notifier.domain import late_fees
from services.notifier.domain.documents import ContactDocument, StatementLine
from shared.events.contacts import SendContact
from shared.events.creditors import CreditorProfile
from shared.events.parties import DebtorDetails


def document_for(
    contact: SendContact,
    *,
    creditor_id: str,
    profile: CreditorProfile,
    debtor_id: str,
    details: DebtorDetails,
    statement: tuple[StatementLine, ...],
    now: datetime,
) -> ContactDocument:
    """The contact's document, dated the local day of `now` in the debtor's zone."""
    timezone = ZoneInfo(details.timezone or profile.timezone)
    sent_on = now.astimezone(timezone).date()
    return ContactDocument(
        contact=contact,
        creditor_id=creditor_id,
        creditor=profile,
        debtor_id=debtor_id,
        debtor=details,
        sent_on=sent_on,
        fees=late_fees_for(contact, profile, sent_on),
        statement=statement,
    )


def late_fees_for(
    contact: SendContact, profile: CreditorProfile, sent_on: date
) -> late_fees.LateFees | None:
    """The stage's statutory fees, when it asks for them and the creditor set them."""
    settings = profile.late_fees
    if not contact.late_fees or settings is None:
        return None
    margin = (
        settings.margin
        if settings.margin is not None
        else late_fees.default_margin(settings.jurisdiction, profile.country)
    )
    return late_fees.assess(
        [
            late_fees.OverdueInvoice(i.number, i.due_on, i.balance)
            for i in contact.invoices
        ],
        jurisdiction=settings.jurisdiction,
        currency=contact.currency,
        rates=[
            late_fees.RatePeriod(r.valid_from, r.rate) for r in settings.reference_rates
        ],
        margin=margin,
        sent_on=sent_on,
    )


def statement_of(
    invoices: Sequence[InvoiceRow], currency: str
) -> tuple[StatementLine, ...]:
    """The debtor's open invoices in the contact's currency, oldest due first."""
    return tuple(
        StatementLine(
            number=i.number,
            issued_on=i.issued_on,
            due_on=i.due_on,
            amount=Decimal(i.amount),
            balance=Decimal(i.balance),
        )
        for i in sorted(invoices, key=lambda i: (i.due_on, i.number))
        if i.currency == currency and i.balance > 0 and not i.written_off
    )
