"""Request bodies: the inbound facts of SPEC §2, each naming its debtor.

The payloads check a few rules on the whole model (due date after issue date,
a payment above zero, amounts held to the currency's minor unit); here each
rule is checked again on its own field, so a refusal names that field.
"""

from datetime import date
from decimal import Decimal

from pydantic import Field, ValidationInfo, field_validator

from shared.events.fields import Line
from shared.events.inbound import (
    InboundCreditNoteIssued,
    InboundDebtorUpserted,
    InboundInvoiceIssued,
    InboundPaymentReceived,
)
from shared.events.payload import Part, Payload
from shared.money import check_precision

DEBTOR_ID = Field(
    min_length=1,
    description="The creditor's id for the debtor: one line, up to 200 characters, "
    "as on `ledger.inbound` and in a CSV import (e.g. `d-1001`).",
)


def _fits_currency(amount: Decimal, info: ValidationInfo) -> Decimal:
    currency = info.data.get("currency")
    return amount if currency is None else check_precision(amount, currency)


class DebtorRequest(InboundDebtorUpserted):
    """Create a debtor, or replace its details."""

    id: Line = DEBTOR_ID


class InvoiceRequest(InboundInvoiceIssued):
    """An invoice issued to a debtor."""

    debtor: Line = DEBTOR_ID

    @field_validator("due_on")
    @classmethod
    def _not_before_issue(cls, due_on: date, info: ValidationInfo) -> date:
        issued_on = info.data.get("issued_on")
        if issued_on is not None and due_on < issued_on:
            raise ValueError("is before issued_on")
        return due_on

    @field_validator("amount")
    @classmethod
    def _amount_fits(cls, amount: Decimal, info: ValidationInfo) -> Decimal:
        return _fits_currency(amount, info)


class PaymentRequest(InboundPaymentReceived):
    """Money received from a debtor, optionally naming the invoice it pays."""

    debtor: Line = DEBTOR_ID

    @field_validator("amount")
    @classmethod
    def _positive_and_fits(cls, amount: Decimal, info: ValidationInfo) -> Decimal:
        if amount <= 0:
            raise ValueError("must be more than zero")
        return _fits_currency(amount, info)


class CreditNoteRequest(InboundCreditNoteIssued):
    """A credit note for a debtor, optionally naming the invoice it reduces."""

    debtor: Line = DEBTOR_ID

    @field_validator("amount")
    @classmethod
    def _amount_fits(cls, amount: Decimal, info: ValidationInfo) -> Decimal:
        return _fits_currency(amount, info)


class WriteOffRequest(Part):
    """Give up what is left of an invoice."""

    written_off_on: date
    reason: Line | None = None


def inbound_fact(body: Payload, addressed_by: str = "debtor") -> Payload:
    """The inbound payload a request body extends, without the field that
    addresses it (the debtor's id travels on the envelope instead)."""
    model = next(base for base in type(body).__mro__[1:] if issubclass(base, Payload))
    return model(**body.model_dump(exclude={addressed_by}))
