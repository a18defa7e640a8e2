"""The scheduler's command to the notifier, on `collections.contacts` (SPEC §3, §5).

A contact's id is derived from (creditor, debtor, case, step), so a contact
re-sent after a crash or a redelivery is recognised and not sent twice.
"""

from datetime import date
from typing import ClassVar, Final, Self

from pydantic import Field, model_validator

from shared.events.fields import Channel, ContactId, LanguageCode, Line, Moment, Slug
from shared.events.payload import Part, Payload
from shared.money import AmountStr, CurrencyCode

NON_LADDER_TEMPLATES: Final = (
    "pre_due",
    "promise_confirmation",
    "promise_broken",
    "dispute_ack",
    "installment_due",
    "plan_broken",
    "thank_you",
)
"""Templates that are not a ladder stage; any other template names a stage."""

DEMAND_TEMPLATES: Final = ("promise_broken", "plan_broken")
"""Non-ladder templates that still count as a demand for `min_gap_days`."""


class DemandedInvoice(Part):
    """One invoice a contact asks the debtor to pay, as it stands on the send date."""

    number: Line = Field(min_length=1)
    issued_on: date
    due_on: date
    amount: AmountStr
    balance: AmountStr


class SendContact(Payload):
    """Send this contact to the debtor at `due_at`, unless it has become moot."""

    event_type: ClassVar[str] = "contact.due"

    contact_id: ContactId
    case_id: str | None = Field(
        default=None, description="Absent for a pre-due reminder outside any case."
    )
    step: str = Field(
        min_length=1, description="Position in the case: a stage, a promise check..."
    )
    template: Slug = Field(description="A ladder stage, or one of the non-ladder ones.")
    channels: list[Channel] = Field(min_length=1, max_length=2)
    language: LanguageCode
    due_at: Moment
    currency: CurrencyCode
    amount_due: AmountStr
    invoices: list[DemandedInvoice] = Field(default_factory=list)
    pay_by: date | None = Field(
        default=None, description="The promised or installment date, where one is."
    )
    late_fees: bool = Field(default=False, description="Add statutory late fees.")
    attach_statement: bool = False

    @property
    def is_demand(self) -> bool:
        """A ladder stage, `promise_broken` or `plan_broken` (SPEC §3)."""
        return (
            self.template not in NON_LADDER_TEMPLATES
            or self.template in DEMAND_TEMPLATES
        )

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if len(set(self.channels)) != len(self.channels):
            raise ValueError("channels are listed once each")
        if self.invoices and self.amount_due != sum(i.balance for i in self.invoices):
            raise ValueError("amount_due is not the sum of the invoices' balances")
        return self
