"""What collectors read: a debtor's timeline, case summaries, the forecast.

The engine's state holds the present (balances, the active promise or plan,
notes); `collections.history` holds what it forgets (payments, past
commitments and their outcomes, dispute reasons, pauses). Both are read
here, never written.
"""

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from services.scheduler.domain.account import Invoice
from services.scheduler.domain.collection import (
    Case,
    CaseEscalated,
    Collection,
    ContactDue,
    ContactFailed,
    Effect,
    PlanEnded,
    PromiseChecked,
)
from services.scheduler.service import views


def history_line(effect: Effect) -> dict[str, Any] | None:
    """The line an effect leaves in the history, for the outcomes of commitments."""
    if isinstance(effect, PromiseChecked):
        return {
            "kind": "promise_checked",
            "id": f"{effect.case_id}/promise-{effect.promise}",
            "outcome": "kept" if effect.kept else "broken",
            "at": effect.at.isoformat(),
        }
    if isinstance(effect, PlanEnded):
        return {
            "kind": "plan_ended",
            "id": f"{effect.case_id}/plan-{effect.plan}",
            "outcome": "completed" if effect.completed else "broken",
            "at": effect.at.isoformat(),
        }
    return None


def overdue(collection: Collection, now: datetime) -> tuple[str | None, Decimal]:
    """The case's currency and its overdue balance today (SPEC §3)."""
    balances = collection.account.overdue_balances(collection.calendar.local_date(now))
    anchor = collection.account.anchor()
    if anchor is not None and anchor.currency in balances:
        return anchor.currency, balances[anchor.currency]
    if balances:
        currency = max(balances, key=lambda c: balances[c])
        return currency, balances[currency]
    if anchor is not None:
        return anchor.currency, Decimal(0)
    return None, Decimal(0)


def next_stage(collection: Collection, case: Case) -> str | None:
    """The ladder stage the case sends next, unless it is over."""
    ladder = collection.policy.ladder
    if case.state in ("resolved", "escalated") or case.next_stage >= len(ladder):
        return None
    return ladder[case.next_stage].stage


def summary(
    collection: Collection, next_moment: datetime | None, now: datetime
) -> views.CaseSummary | None:
    """The debtor's latest case, or None before its first."""
    if not collection.cases:
        return None
    case = collection.cases[-1]
    currency, amount = overdue(collection, now)
    return views.CaseSummary(
        debtor=collection.debtor,
        case_id=case.id,
        state=case.state.value,
        next_stage=next_stage(collection, case),
        currency=currency,
        amount_overdue=str(amount),
        next_moment=next_moment,
        flagged=case.flagged,
    )


def case_line(collection: Collection, case: Case) -> views.CaseLine:
    return views.CaseLine(
        case_id=case.id,
        state=case.state.value,
        opened_at=case.opened_at,
        next_stage=next_stage(collection, case),
        paused_until=case.paused_until,
        flagged=case.flagged,
        contacts_sent=case.ladder_contacts,
    )


def timeline(
    collection: Collection,
    details: dict[str, Any] | None,
    contacts: list[dict[str, Any]],
    history: list[dict[str, Any]],
    next_moment: datetime | None,
    now: datetime,
) -> views.Timeline:
    """Everything known of one debtor, oldest first in each list."""
    today = collection.calendar.local_date(now)
    currency, amount = overdue(collection, now)
    current = collection.case
    active = set()
    if current is not None and current.promise is not None:
        active.add(f"{current.id}/promise-{current.promise.number}")
    if current is not None and current.plan is not None:
        active.add(f"{current.id}/plan-{current.plan.number}")
    return views.Timeline(
        debtor=collection.debtor,
        details=details,
        case=case_line(collection, current) if current is not None else None,
        currency=currency,
        amount_overdue=str(amount),
        next_moment=next_moment,
        invoices=[
            _invoice(i, overdue=i.is_overdue_on(today))
            for i in collection.account.invoices.values()
        ],
        payments=[
            views.PaymentLine.model_validate(line)
            for line in history
            if line["kind"] == "payment"
        ],
        contacts=[views.ContactLine.model_validate(line) for line in contacts],
        promises=_promises(history, active),
        plans=_plans(history, active),
        disputes=_disputes(history),
        pauses=[
            views.PauseLine.model_validate(line)
            for line in history
            if line["kind"] == "pause"
        ],
        notes=[
            views.NoteLine(case_id=case.id, at=n.at, author=n.author, text=n.text)
            for case in collection.cases
            for n in case.notes
        ],
        cases=[case_line(collection, case) for case in collection.cases],
    )


def _invoice(invoice: Invoice, *, overdue: bool) -> views.InvoiceLine:
    status = (
        "written_off"
        if invoice.written_off
        else "disputed"
        if invoice.disputed and invoice.balance > 0
        else "open"
        if invoice.balance > 0
        else "paid"
    )
    return views.InvoiceLine(
        number=invoice.number,
        currency=invoice.currency,
        amount=str(invoice.amount),
        balance=str(invoice.balance),
        issued_on=invoice.issued_on,
        due_on=invoice.due_on,
        status=status,
        overdue=overdue,
    )


def _outcomes(history: list[dict[str, Any]], active: set[str]) -> dict[str, str]:
    """Each commitment's fate: checked, replaced by the next, or still active.

    A commitment neither checked nor active any more ended with its case
    (escalated or resolved)."""
    outcomes: dict[str, str] = {}
    pending: dict[str, str] = {}
    """The latest commitment of each case."""
    for line in history:
        if line["kind"] in ("promise", "plan"):
            previous = pending.get(line["case_id"])
            if previous is not None and outcomes[previous] == "open":
                outcomes[previous] = "replaced"
            pending[line["case_id"]] = line["id"]
            outcomes[line["id"]] = "open"
        elif line["kind"] in ("promise_checked", "plan_ended"):
            outcomes[line["id"]] = line["outcome"]
    return {
        id_: ("active" if id_ in active else "ended") if fate == "open" else fate
        for id_, fate in outcomes.items()
    }


def _promises(
    history: list[dict[str, Any]], active: set[str]
) -> list[views.PromiseLine]:
    fates = _outcomes(history, active)
    return [
        views.PromiseLine(
            promise_id=line["id"],
            case_id=line["case_id"],
            currency=line["currency"],
            amount=line["amount"],
            promised_on=line["promised_on"],
            recorded_at=line["at"],
            note=line.get("note"),
            outcome=fates[line["id"]],
        )
        for line in history
        if line["kind"] == "promise"
    ]


def _plans(history: list[dict[str, Any]], active: set[str]) -> list[views.PlanLine]:
    fates = _outcomes(history, active)
    return [
        views.PlanLine(
            plan_id=line["id"],
            case_id=line["case_id"],
            currency=line["currency"],
            installments=line["installments"],
            agreed_at=line["at"],
            outcome=fates[line["id"]],
        )
        for line in history
        if line["kind"] == "plan"
    ]


def _disputes(history: list[dict[str, Any]]) -> list[views.DisputeLine]:
    disputes: dict[str, views.DisputeLine] = {}
    for line in history:
        if line["kind"] == "dispute":
            disputes[line["id"]] = views.DisputeLine(
                dispute_id=line["id"],
                case_id=line["case_id"],
                invoice=line["invoice"],
                reason=line["reason"],
                opened_at=line["at"],
            )
        elif line["kind"] == "dispute_resolution" and line["id"] in disputes:
            dispute = disputes[line["id"]]
            dispute.resolution = line["resolution"]
            dispute.resolved_at = datetime.fromisoformat(line["at"])
            dispute.note = line.get("note")
    return list(disputes.values())


def forecast_items(collection: Collection, effects: list[Effect]) -> list[Any]:
    """The contacts and escalations among a forecast's effects."""
    items = []
    for effect in effects:
        if isinstance(effect, ContactDue):
            items.append(
                views.ForecastItem(
                    debtor=collection.debtor,
                    case_id=effect.case_id,
                    at=effect.due_at.astimezone(UTC),
                    action="contact",
                    step=effect.step,
                    template=effect.template,
                    channels=list(effect.channels),
                    currency=effect.currency,
                    amount_due=str(effect.amount_due),
                )
            )
        elif isinstance(effect, ContactFailed):
            items.append(
                views.ForecastItem(
                    debtor=collection.debtor,
                    case_id=effect.case_id,
                    at=effect.at.astimezone(UTC),
                    action="contact",
                    step=effect.step,
                    template=effect.template,
                )
            )
        elif isinstance(effect, CaseEscalated):
            items.append(
                views.ForecastItem(
                    debtor=collection.debtor,
                    case_id=effect.case_id,
                    at=effect.at.astimezone(UTC),
                    action="escalate",
                    template=effect.stage,
                )
            )
    return items
