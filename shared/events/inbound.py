"""Facts accounting platforms send to the ledger on `ledger.inbound` (SPEC §2, §7).

They share the envelope and the type names of `ledger.events`, but carry
only what the platform knows: the ledger works out balances and allocations.
"""

from datetime import date
from typing import ClassVar, Self

from pydantic import Field, model_validator

from shared.events.fields import CountryCode, Email, LanguageCode, Line, TimeZoneName
from shared.events.parties import DebtorDetails, PostalAddress
from shared.events.payload import Payload
from shared.money import AmountStr, CurrencyCode


class InboundDebtorUpserted(Payload, DebtorDetails):
    """Create a debtor, or replace its whole record."""

    event_type: ClassVar[str] = "debtor.upserted"


class InboundDebtorUpdated(Payload):
    """Change some of a debtor's details; fields left out stay as they are.

    A field given as `null` is cleared.
    """

    event_type: ClassVar[str] = "debtor.updated"
    partial: ClassVar[bool] = True

    name: Line | None = Field(default=None, min_length=1)
    email: Email | None = None
    email_opt_out: bool | None = None
    language: LanguageCode | None = None
    timezone: TimeZoneName | None = None
    country: CountryCode | None = None
    address: PostalAddress | None = None
    reference: Line | None = None

    @model_validator(mode="after")
    def _keeps_what_cannot_be_cleared(self) -> Self:
        for required in ("name", "email_opt_out"):
            if required in self.model_fields_set and getattr(self, required) is None:
                raise ValueError(f"{required} can be changed but not cleared")
        return self


class InboundInvoiceIssued(Payload):
    """An invoice the creditor issued."""

    event_type: ClassVar[str] = "invoice.issued"

    number: Line = Field(min_length=1)
    issued_on: date
    due_on: date
    currency: CurrencyCode
    amount: AmountStr

    @model_validator(mode="after")
    def _due_after_issue(self) -> Self:
        if self.due_on < self.issued_on:
            raise ValueError("due_on is before issued_on")
        return self


class InboundPaymentReceived(Payload):
    """Money received from the debtor, optionally naming the invoice it pays."""

    event_type: ClassVar[str] = "payment.received"

    payment_id: Line = Field(min_length=1)
    currency: CurrencyCode
    amount: AmountStr = Field(description="More than zero.")
    received_on: date
    invoice: Line | None = None
    reference: Line | None = None

    @model_validator(mode="after")
    def _more_than_zero(self) -> Self:
        if self.amount <= 0:
            raise ValueError("a payment is more than zero")
        return self


class InboundCreditNoteIssued(Payload):
    """A credit note; one naming an invoice reduces it first, the rest is credit."""

    event_type: ClassVar[str] = "credit_note.issued"

    number: Line = Field(min_length=1)
    issued_on: date
    currency: CurrencyCode
    amount: AmountStr
    invoice: Line | None = None
    reason: Line | None = None


class InboundInvoiceWrittenOff(Payload):
    """The creditor gives up what is left of an invoice."""

    event_type: ClassVar[str] = "invoice.written_off"

    number: Line = Field(min_length=1)
    written_off_on: date
    reason: Line | None = None
