"""What one email or letter says, before any template has rendered it.

A `ContactDocument` brings together the scheduler's contact, the creditor's
profile and the debtor's details as the notifier knows them on the send date.
The templates read nothing else, so a preview and a real send of the same
document look the same.
"""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from services.notifier.domain.late_fees import LateFees
from shared.events.contacts import SendContact
from shared.events.creditors import CreditorProfile
from shared.events.parties import DebtorDetails

REFERENCE_MAX = 140
"""A SEPA remittance line holds 140 characters."""

REFERENCE_INVOICES = 3
"""More invoices than this and the reference names the case instead."""


@dataclass(frozen=True, slots=True)
class StatementLine:
    """One open invoice on a debtor's statement of account."""

    number: str
    issued_on: date
    due_on: date
    amount: Decimal
    balance: Decimal
    disputed: bool = False


@dataclass(frozen=True, slots=True)
class ContactDocument:
    """Everything a template may show for one contact.

    `sent_on` is the local date of the send moment in the debtor's timezone.
    `fees` is present only when the stage asks for late fees and the
    creditor configured them. `statement` lists the debtor's open invoices in
    the contact's currency, for a statement of account.
    """

    contact: SendContact
    creditor_id: str
    creditor: CreditorProfile
    debtor_id: str
    debtor: DebtorDetails
    sent_on: date
    fees: LateFees | None = None
    statement: tuple[StatementLine, ...] = ()

    @property
    def language(self) -> str:
        return self.contact.language

    @property
    def payment_reference(self) -> str:
        return payment_reference(self)


def payment_reference(document: ContactDocument) -> str:
    """The remittance text the debtor is asked to quote with the transfer.

    The creditor's customer number (else the debtor id), then the demanded
    invoice numbers, or the case id when there are many.
    """
    customer = document.debtor.reference or document.debtor_id
    numbers = [i.number for i in document.contact.invoices]
    if len(numbers) > REFERENCE_INVOICES and document.contact.case_id:
        numbers = [document.contact.case_id]
    return " ".join([customer, *numbers])[:REFERENCE_MAX]


def amount_with_fees(document: ContactDocument) -> Decimal:
    """What the debtor is asked to pay: the demand, plus any late fees."""
    fees = document.fees.total if document.fees is not None else Decimal(0)
    return document.contact.amount_due + fees
