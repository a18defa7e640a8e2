"""What the collector API answers: recorded commands, cases, timelines, forecasts.

Amounts are strings with their currency, as on the topics; moments are UTC.
"""

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

Kind = Literal["promise", "plan", "dispute", "dispute_resolution", "note", "pause"]


class Recorded(BaseModel):
    """What a collector's command recorded, and where the case stands after it."""

    recorded: Kind | Literal["escalation"] = Field(description="What was recorded.")
    id: str | None = Field(
        default=None,
        description="The promise, plan or dispute id; stable for the case.",
    )
    debtor: str
    case_id: str | None = Field(description="The case it belongs to, if any.")
    state: str | None = Field(description="The case's state after the command.")
    next_moment: datetime | None = Field(
        description="When the scheduler acts next for this debtor, if nothing changes."
    )


class CaseSummary(BaseModel):
    """A debtor's latest case, as a list of cases shows it."""

    debtor: str
    case_id: str
    state: Literal["open", "paused", "escalated", "resolved"]
    next_stage: str | None = Field(description="The ladder stage to send next.")
    currency: str | None
    amount_overdue: str = Field(description="The overdue balance today.")
    next_moment: datetime | None
    flagged: bool = Field(description="A stage could not be delivered: look at it.")


class CasePage(BaseModel):
    """One page of cases; the API sends the list, and the next page's link."""

    cases: list[CaseSummary]
    next_after: str | None = Field(
        description="The last debtor of this page, when another page follows."
    )


class InvoiceLine(BaseModel):
    number: str
    currency: str
    amount: str
    balance: str
    issued_on: date
    due_on: date
    status: Literal["open", "paid", "disputed", "written_off"]
    overdue: bool


class PaymentLine(BaseModel):
    payment_id: str
    currency: str
    amount: str
    received_on: date
    at: datetime


class ContactLine(BaseModel):
    contact_id: str
    case_id: str | None
    step: str
    template: str
    channels: list[str]
    at: datetime
    currency: str
    amount_due: str
    invoices: list[str]
    outcome: str


class PromiseLine(BaseModel):
    promise_id: str
    case_id: str
    currency: str
    amount: str
    promised_on: date
    recorded_at: datetime
    note: str | None = None
    outcome: Literal["active", "kept", "broken", "replaced", "ended"]


class InstallmentLine(BaseModel):
    due_on: date
    amount: str


class PlanLine(BaseModel):
    plan_id: str
    case_id: str
    currency: str
    installments: list[InstallmentLine]
    agreed_at: datetime
    outcome: Literal["active", "completed", "broken", "replaced", "ended"]


class DisputeLine(BaseModel):
    dispute_id: str
    case_id: str | None
    invoice: str
    reason: str
    opened_at: datetime
    resolution: Literal["upheld", "rejected"] | None = None
    resolved_at: datetime | None = None
    note: str | None = None


class PauseLine(BaseModel):
    case_id: str
    until: date
    at: datetime
    note: str | None = None


class NoteLine(BaseModel):
    case_id: str
    at: datetime
    author: str
    text: str


class CaseLine(BaseModel):
    case_id: str
    state: Literal["open", "paused", "escalated", "resolved"]
    opened_at: datetime
    next_stage: str | None
    paused_until: date | None
    flagged: bool
    contacts_sent: int = Field(description="Ladder stages sent in this case.")


class Timeline(BaseModel):
    """Everything the scheduler knows of one debtor, for a collector's page."""

    debtor: str
    details: dict[str, Any] | None = Field(
        description="The debtor as the ledger last described it."
    )
    case: CaseLine | None = Field(description="The current case, unless resolved.")
    currency: str | None
    amount_overdue: str
    next_moment: datetime | None
    invoices: list[InvoiceLine]
    payments: list[PaymentLine]
    contacts: list[ContactLine]
    promises: list[PromiseLine]
    plans: list[PlanLine]
    disputes: list[DisputeLine]
    pauses: list[PauseLine]
    notes: list[NoteLine]
    cases: list[CaseLine]


class ForecastItem(BaseModel):
    """One contact (or escalation) the ladder would make if nothing changed."""

    debtor: str
    case_id: str | None
    at: datetime
    action: Literal["contact", "escalate"]
    step: str | None = None
    template: str | None = Field(description="The template, or the stage escalating.")
    channels: list[str] = Field(
        default_factory=list, description="Empty when no channel reaches the debtor."
    )
    currency: str | None = None
    amount_due: str | None = None


class Forecast(BaseModel):
    """Every contact the ladder would send in the window, earliest first."""

    start: datetime
    until: datetime
    items: list[ForecastItem]
