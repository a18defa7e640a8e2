"""What a template receives: a contact document turned into formatted, simple values.

Templates never see a pydantic model or a `Decimal`: amounts and dates are
already strings in the debtor's locale, so a template cannot format them
wrongly and a sandboxed template reaches no method of ours.
"""

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from services.notifier.domain.documents import ContactDocument, amount_with_fees
from services.notifier.domain.late_fees import LateFees
from services.notifier.rendering.branding import Letterhead, postal_lines
from services.notifier.rendering.formats import Formats
from services.notifier.rendering.geometry import PageGeometry

DEADLINE_DAYS = {"final": 10}
"""Days from the send date a demand gives the debtor to pay; others get the default."""
DEFAULT_DEADLINE_DAYS = 7


@dataclass(frozen=True, slots=True)
class InvoiceView:
    """One demanded invoice, formatted."""

    number: str
    issued_on: str
    due_on: str
    amount: str
    balance: str
    days_overdue: int


@dataclass(frozen=True, slots=True)
class FeeView:
    """One invoice's late fees, formatted."""

    number: str
    balance: str
    days: int
    rate: str
    interest: str
    compensation: str
    total: str


@dataclass(frozen=True, slots=True)
class FeesView:
    """The late fees of a demand: per invoice, in sum, and under which law."""

    law: str
    """`DE` (BGB §288), `EU` (Directive 2011/7/EU) or `UK` (the 1998 Act)."""
    margin: str
    lines: tuple[FeeView, ...]
    interest: str
    compensation: str
    total: str
    has_compensation: bool


@dataclass(frozen=True, slots=True)
class StatementView:
    """One open invoice on a statement of account, formatted."""

    number: str
    issued_on: str
    due_on: str
    amount: str
    balance: str
    overdue: bool
    disputed: bool


@dataclass(frozen=True, slots=True)
class DebtorView:
    """Whom the contact goes to."""

    name: str
    reference: str | None
    address_lines: tuple[str, ...]


def deadline_for(template: str, sent_on: date) -> date:
    """The date a demand asks the money by: ten days after a final one, else seven."""
    return sent_on + timedelta(days=DEADLINE_DAYS.get(template, DEFAULT_DEADLINE_DAYS))


def build_context(
    document: ContactDocument,
    *,
    template: str,
    letterhead: Letterhead,
    formats: Formats,
    geometry: PageGeometry,
) -> dict[str, Any]:
    """The variables every template may use; documented in templates/README.md."""
    contact = document.contact
    currency = contact.currency

    def money(amount: Any) -> str:
        return formats.money(amount, currency)

    invoices = tuple(
        InvoiceView(
            number=i.number,
            issued_on=formats.date(i.issued_on),
            due_on=formats.date(i.due_on),
            amount=money(i.amount),
            balance=money(i.balance),
            days_overdue=max((document.sent_on - i.due_on).days, 0),
        )
        for i in contact.invoices
    )
    statement = tuple(
        StatementView(
            number=line.number,
            issued_on=formats.date(line.issued_on),
            due_on=formats.date(line.due_on),
            amount=money(line.amount),
            balance=money(line.balance),
            overdue=line.due_on < document.sent_on,
            disputed=line.disputed,
        )
        for line in document.statement
    )
    address = document.debtor.address
    debtor = DebtorView(
        name=document.debtor.name,
        reference=document.debtor.reference,
        address_lines=tuple(
            postal_lines(address, formats, document.creditor.country)
            if address is not None
            else ()
        ),
    )
    deadline = deadline_for(template, document.sent_on)
    return {
        "contact_id": contact.contact_id,
        "template": template,
        "creditor": letterhead,
        "debtor": debtor,
        "invoices": invoices,
        "invoice_numbers": ", ".join(i.number for i in invoices),
        "amount_due": money(contact.amount_due),
        "fees": _fees_view(document.fees, formats, document.creditor.country),
        "total_to_pay": money(amount_with_fees(document)),
        "reference": document.payment_reference,
        "sent_on": formats.long_date(document.sent_on),
        "sent_on_short": formats.date(document.sent_on),
        "deadline": formats.long_date(deadline),
        "pay_by": formats.long_date(contact.pay_by) if contact.pay_by else None,
        "statement": statement,
        "statement_total": money(sum(line.balance for line in document.statement)),
        "paper": geometry.paper,
        "page": geometry,
        "locale": formats.tag,
    }


def _fees_view(
    fees: LateFees | None, formats: Formats, country: str
) -> FeesView | None:
    if fees is None or not fees.invoices:
        return None

    def money(amount: Any) -> str:
        return formats.money(amount, fees.currency)

    law = "DE" if fees.jurisdiction == "EU" and country == "DE" else fees.jurisdiction
    return FeesView(
        law=law,
        margin=formats.rate(fees.margin).rstrip("%").strip(),
        lines=tuple(
            FeeView(
                number=f.number,
                balance=money(f.balance),
                days=f.days,
                rate=formats.rate(f.annual_rate),
                interest=money(f.interest),
                compensation=money(f.compensation),
                total=money(f.total),
            )
            for f in fees.invoices
        ),
        interest=money(fees.interest),
        compensation=money(fees.compensation),
        total=money(fees.total),
        has_compensation=fees.compensation > 0,
    )
