"""Request bodies: the inbound facts of SPEC §2, each naming its debtor."""

from datetime import date

from pydantic import Field

from shared.events.fields import Line, PartyId
from shared.events.inbound import (
    InboundCreditNoteIssued,
    InboundDebtorUpserted,
    InboundInvoiceIssued,
    InboundPaymentReceived,
)
from shared.events.payload import Part


class DebtorRequest(InboundDebtorUpserted):
    """Create a debtor, or replace its details."""

    id: PartyId = Field(description="The creditor's id for the debtor.")


class InvoiceRequest(InboundInvoiceIssued):
    """An invoice issued to a debtor."""

    debtor: PartyId


class PaymentRequest(InboundPaymentReceived):
    """Money received from a debtor, optionally naming the invoice it pays."""

    debtor: PartyId


class CreditNoteRequest(InboundCreditNoteIssued):
    """A credit note for a debtor, optionally naming the invoice it reduces."""

    debtor: PartyId


class WriteOffRequest(Part):
    """Give up what is left of an invoice."""

    written_off_on: date
    reason: Line | None = None
