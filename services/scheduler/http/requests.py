"""Request bodies of the collector API (SPEC §4); each refusal names its field."""

from datetime import date
from decimal import Decimal
from typing import Literal

from pydantic import Field, field_validator

from shared.events.collections import Installment
from shared.events.fields import Line, Text
from shared.events.payload import Part
from shared.money import AmountStr, CurrencyCode


def _positive(amount: Decimal) -> Decimal:
    if amount <= 0:
        raise ValueError("must be above zero")
    return amount


class PromiseRequest(Part):
    """The debtor promises to pay `amount` by `promised_on`."""

    amount: AmountStr = Field(description="What the debtor promised, e.g. `1000.00`.")
    currency: CurrencyCode | None = Field(
        default=None, description="Defaults to the currency of the debt."
    )
    promised_on: date = Field(description="The day the debtor will have paid by.")
    note: Text | None = None

    _amount = field_validator("amount")(_positive)


class DisputeRequest(Part):
    """The debtor contests one invoice; it is not chased while the dispute is open."""

    invoice: Line = Field(min_length=1, description="The disputed invoice's number.")
    reason: Text = Field(description="What the debtor says is wrong.")


class DisputeResolutionRequest(Part):
    """Upheld (a credit note will follow in the ledger) or rejected (chased again)."""

    resolution: Literal["upheld", "rejected"]
    note: Text | None = None


class PlanRequest(Part):
    """Installments agreed with the debtor, in date order."""

    installments: list[Installment] = Field(min_length=1, max_length=60)
    currency: CurrencyCode | None = Field(
        default=None, description="Defaults to the currency of the debt."
    )

    @field_validator("installments")
    @classmethod
    def _in_order(cls, installments: list[Installment]) -> list[Installment]:
        dates = [i.due_on for i in installments]
        if dates != sorted(set(dates)):
            raise ValueError("must fall on distinct dates, in order")
        if any(i.amount <= 0 for i in installments):
            raise ValueError("every amount must be above zero")
        return installments


class NoteRequest(Part):
    """A collector's note on the debtor's case."""

    author: Line = Field(min_length=1, description="Who wrote it, as they sign.")
    text: Text


class PauseRequest(Part):
    """Hold the ladder until a date: no demand goes out before it (confirmations,
    acknowledgements and installment reminders still do)."""

    until: date = Field(description="The first local date the ladder may act again.")
    note: Text | None = None


class EscalateRequest(Part):
    """Hand the case to the collection agency now, whatever the ladder's stage."""

    reason: Text | None = None
