"""What the ledger has recorded, published on `ledger.events` (SPEC §2).

`occurred_at` of these envelopes is when the ledger recorded the fact; the
dates inside the payload (`issued_on`, `received_on`, ...) are the business
dates the creditor's books show.
"""

from datetime import date
from decimal import Decimal
from typing import ClassVar, Literal, Self

from pydantic import Field, model_validator

from shared.events.fields import Line
from shared.events.parties import DebtorDetails
from shared.events.payload import Part, Payload
from shared.money import AmountStr, CurrencyCode

InvoiceNumber = Line


class DebtorUpserted(Payload, DebtorDetails):
    """The debtor's full record after a create or update; the envelope names the id."""

    event_type: ClassVar[str] = "debtor.upserted"


class InvoiceIssued(Payload):
    """An invoice entered the ledger; any credit the debtor held was applied to it."""

    event_type: ClassVar[str] = "invoice.issued"

    number: InvoiceNumber = Field(min_length=1)
    issued_on: date
    due_on: date
    currency: CurrencyCode
    amount: AmountStr
    credit_applied: AmountStr = Field(
        default=Decimal(0), description="Earlier unallocated credit used to settle it."
    )
    balance: AmountStr = Field(description="What is still owed: amount - credit.")

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.due_on < self.issued_on:
            raise ValueError("due_on is before issued_on")
        if self.amount - self.credit_applied != self.balance:
            raise ValueError("balance is not amount - credit_applied")
        return self


class InvoiceAdjusted(Payload):
    """An invoice's balance went down other than by a payment, e.g. a credit note."""

    event_type: ClassVar[str] = "invoice.adjusted"

    number: InvoiceNumber = Field(min_length=1)
    reason: Literal["credit_note", "correction"]
    credit_note: Line | None = Field(
        default=None, description="Number of the credit note, for `credit_note`."
    )
    currency: CurrencyCode
    amount: AmountStr = Field(description="By how much the balance went down.")
    balance: AmountStr = Field(description="The invoice's balance afterwards.")

    @model_validator(mode="after")
    def _names_its_credit_note(self) -> Self:
        if self.reason == "credit_note" and not self.credit_note:
            raise ValueError("a credit_note adjustment names its credit note")
        return self


class InvoiceWrittenOff(Payload):
    """The creditor gave up an invoice's balance; it is no longer chased."""

    event_type: ClassVar[str] = "invoice.written_off"

    number: InvoiceNumber = Field(min_length=1)
    written_off_on: date
    currency: CurrencyCode
    amount: AmountStr = Field(description="The balance written off.")
    reason: Line | None = None


class Allocation(Part):
    """The share of a payment that settled one invoice."""

    invoice: InvoiceNumber = Field(min_length=1)
    amount: AmountStr
    balance_after: AmountStr


class PaymentReceived(Payload):
    """A payment, allocated to the invoice it names, then oldest due first."""

    event_type: ClassVar[str] = "payment.received"

    payment_id: Line = Field(min_length=1)
    currency: CurrencyCode
    amount: AmountStr
    received_on: date
    invoice: InvoiceNumber | None = Field(
        default=None, description="The invoice the payer named, if any."
    )
    reference: Line | None = Field(default=None, description="Remittance text.")
    allocations: list[Allocation] = Field(default_factory=list)
    unallocated: AmountStr = Field(
        description="The part of this payment left over as credit."
    )
    debtor_credit: AmountStr = Field(
        description="All of the debtor's unallocated credit afterwards."
    )
    debtor_balance: AmountStr = Field(
        description="Sum of the debtor's open invoice balances afterwards."
    )

    @model_validator(mode="after")
    def _fully_accounted_for(self) -> Self:
        allocated = sum((a.amount for a in self.allocations), start=self.unallocated)
        if allocated != self.amount:
            raise ValueError("allocations plus unallocated do not add up to amount")
        if self.amount <= 0:
            raise ValueError("a payment is more than zero")
        return self
