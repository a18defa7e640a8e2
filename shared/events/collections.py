"""What happens to a collection case, on `collections.events` (SPEC §3, §4).

Agencies and dashboards read these; `case.escalated` carries the whole case
file so an agency needs nothing else.
"""

from datetime import date
from typing import ClassVar, Literal, Self

from pydantic import Field, model_validator

from shared.events.fields import Channel, ContactId, Line, Moment, Slug, Text
from shared.events.parties import DebtorDetails
from shared.events.payload import Part, Payload
from shared.money import AmountStr, CurrencyCode

CaseId = Line


class CaseOpened(Payload):
    """The overdue balance went above the policy's `min_balance`."""

    event_type: ClassVar[str] = "case.opened"

    case_id: CaseId = Field(min_length=1)
    currency: CurrencyCode
    overdue_balance: AmountStr
    anchor_on: date = Field(description="Due date of the oldest chaseable invoice.")
    invoices: list[Line] = Field(min_length=1, description="Overdue invoice numbers.")


class CasePaused(Payload):
    """A collector paused the ladder until a date."""

    event_type: ClassVar[str] = "case.paused"

    case_id: CaseId = Field(min_length=1)
    until: date
    note: Text | None = None


class CaseDebtor(DebtorDetails):
    """The debtor as the case file shows it, with its id."""

    id: Line = Field(min_length=1)


class CaseInvoice(Part):
    number: Line = Field(min_length=1)
    issued_on: date
    due_on: date
    amount: AmountStr
    balance: AmountStr
    status: Literal["open", "paid", "disputed", "written_off"]


class CaseContact(Part):
    contact_id: ContactId
    step: str = Field(min_length=1)
    template: Slug
    channel: Channel | None
    outcome: Literal["sent", "failed", "bounced", "skipped", "pending"]
    at: Moment
    amount_due: AmountStr
    invoices: list[Line] = Field(default_factory=list)


class CasePromise(Part):
    promise_id: Line = Field(min_length=1)
    amount: AmountStr
    promised_on: date
    recorded_at: Moment
    outcome: Literal["active", "kept", "broken", "replaced"]


class CaseDispute(Part):
    dispute_id: Line = Field(min_length=1)
    invoice: Line = Field(min_length=1)
    reason: Text
    opened_at: Moment
    resolution: Literal["upheld", "rejected"] | None = None


class Installment(Part):
    due_on: date
    amount: AmountStr


class CasePlan(Part):
    plan_id: Line = Field(min_length=1)
    installments: list[Installment] = Field(min_length=1)
    agreed_at: Moment
    outcome: Literal["active", "completed", "broken", "replaced"]


class CaseNote(Part):
    at: Moment
    author: Line = Field(min_length=1)
    text: Text


class CaseFile(Part):
    """Everything a collection agency needs to take a case over."""

    debtor: CaseDebtor
    currency: CurrencyCode
    overdue_balance: AmountStr
    opened_at: Moment
    invoices: list[CaseInvoice]
    contacts: list[CaseContact] = Field(default_factory=list)
    promises: list[CasePromise] = Field(default_factory=list)
    disputes: list[CaseDispute] = Field(default_factory=list)
    plans: list[CasePlan] = Field(default_factory=list)
    notes: list[CaseNote] = Field(default_factory=list)


class CaseEscalated(Payload):
    """The ladder ran out, or a collector escalated: automated contacts stop."""

    event_type: ClassVar[str] = "case.escalated"

    case_id: CaseId = Field(min_length=1)
    trigger: Literal["ladder", "collector"]
    stage: Slug | None = Field(default=None, description="The escalating stage.")
    case_file: CaseFile


class CaseResolved(Payload):
    """The overdue balance fell to `min_balance` or below; pending contacts stop."""

    event_type: ClassVar[str] = "case.resolved"

    case_id: CaseId = Field(min_length=1)
    cause: Literal["payment", "credit_note", "write_off", "dispute"]
    currency: CurrencyCode
    overdue_balance: AmountStr = Field(description="What is left, at most min_balance.")
    thank_you: bool = Field(description="Whether a thank-you email follows.")


class PromiseRecorded(Payload):
    """The debtor promised to pay an amount by a date; the ladder pauses."""

    event_type: ClassVar[str] = "promise.recorded"

    case_id: CaseId = Field(min_length=1)
    promise_id: Line = Field(min_length=1)
    currency: CurrencyCode
    amount: AmountStr
    promised_on: date
    replaces: Line | None = Field(default=None, description="The promise or plan id.")
    note: Text | None = None


class _PromiseChecked(Payload):
    case_id: CaseId = Field(min_length=1)
    promise_id: Line = Field(min_length=1)
    currency: CurrencyCode
    amount: AmountStr = Field(description="The amount promised.")
    paid: AmountStr = Field(description="Payments received since it was recorded.")


class PromiseKept(_PromiseChecked):
    """Payments since the promise reached its amount."""

    event_type: ClassVar[str] = "promise.kept"


class PromiseBroken(_PromiseChecked):
    """The promise's day passed, with grace, without the promised amount."""

    event_type: ClassVar[str] = "promise.broken"


class DisputeOpened(Payload):
    """The debtor contests an invoice; it is not chased while the dispute is open."""

    event_type: ClassVar[str] = "dispute.opened"

    dispute_id: Line = Field(min_length=1)
    case_id: CaseId | None = None
    invoice: Line = Field(min_length=1)
    reason: Text


class DisputeResolved(Payload):
    """Upheld (a credit note follows) or rejected (the invoice is chased again)."""

    event_type: ClassVar[str] = "dispute.resolved"

    dispute_id: Line = Field(min_length=1)
    case_id: CaseId | None = None
    invoice: Line = Field(min_length=1)
    resolution: Literal["upheld", "rejected"]
    note: Text | None = None


class PlanAgreed(Payload):
    """The debtor agreed to pay in installments; the ladder pauses."""

    event_type: ClassVar[str] = "plan.agreed"

    case_id: CaseId = Field(min_length=1)
    plan_id: Line = Field(min_length=1)
    currency: CurrencyCode
    installments: list[Installment] = Field(min_length=1)
    replaces: Line | None = Field(default=None, description="The promise or plan id.")

    @model_validator(mode="after")
    def _in_date_order(self) -> Self:
        dates = [i.due_on for i in self.installments]
        if dates != sorted(set(dates)):
            raise ValueError("installments fall on distinct dates, in order")
        return self


class PlanCompleted(Payload):
    """The last installment was met."""

    event_type: ClassVar[str] = "plan.completed"

    case_id: CaseId = Field(min_length=1)
    plan_id: Line = Field(min_length=1)
    currency: CurrencyCode
    paid: AmountStr


class PlanBroken(Payload):
    """An installment was missed; the plan ends and the ladder resumes."""

    event_type: ClassVar[str] = "plan.broken"

    case_id: CaseId = Field(min_length=1)
    plan_id: Line = Field(min_length=1)
    currency: CurrencyCode
    installment: int = Field(ge=1, description="1-based number of the missed one.")
    expected: AmountStr = Field(description="Sum of installments 1..installment.")
    paid: AmountStr = Field(description="Payments received since the plan began.")
