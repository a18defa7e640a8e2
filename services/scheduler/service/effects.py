"""The engine's effects as the events other services read (SPEC §2, §3, §5).

The engine decides; this module only describes. Case events carry what the
collection's state holds at the moment of the effect: balances do not change
while `advance` runs, so the state after it still describes each effect.
"""

from collections import Counter
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal
from uuid import UUID

from services.scheduler.domain.account import Invoice
from services.scheduler.domain.collection import (
    CaseEscalated,
    CaseOpened,
    CaseResolved,
    Collection,
    ContactDue,
    ContactFailed,
    DemandedItem,
    Dispute,
    Effect,
    PlanEnded,
    PromiseChecked,
)
from shared.events import Envelope, Payload
from shared.events import collections as cases
from shared.events.contacts import DemandedInvoice, SendContact
from shared.events.ids import stable_id
from shared.topics import COLLECTIONS_CONTACTS, COLLECTIONS_EVENTS, Topic

_CAUSES = {"payment": "payment", "credit": "credit_note", "write_off": "write_off"}


@dataclass(frozen=True, slots=True)
class Party:
    """Who the effect concerns: the creditor's profile, the debtor's details."""

    creditor: dict[str, Any]
    debtor: dict[str, Any] | None

    @property
    def language(self) -> str:
        """The debtor's language, else the creditor's."""
        own = (self.debtor or {}).get("language")
        return str(own or self.creditor["language"])


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One event for the outbox, and the line the case file keeps of a contact."""

    envelope: Envelope
    topic: Topic
    contact: dict[str, Any] | None = None


def describe(
    collection: Collection,
    party: Party,
    effect: Effect,
    contacts: list[dict[str, Any]],
) -> Outgoing:
    """The event that publishes `effect`; ids derive from it, so replays match."""
    if isinstance(effect, ContactDue):
        return _contact(collection, party, effect)
    if isinstance(effect, ContactFailed):
        return _contact(collection, party, _as_due(effect), failed=True)
    if isinstance(effect, CaseOpened):
        payload: Payload = _opened(collection, effect)
    elif isinstance(effect, CaseResolved):
        payload = _resolved(effect)
    elif isinstance(effect, PromiseChecked):
        payload = _promise_checked(effect)
    elif isinstance(effect, PlanEnded):
        payload = _plan_ended(effect)
    else:
        payload = _escalated(collection, party, effect, contacts)
    return Outgoing(
        _wrap(collection, payload, effect.at, _name(effect)), COLLECTIONS_EVENTS
    )


def _name(
    effect: CaseOpened | CaseResolved | CaseEscalated | PromiseChecked | PlanEnded,
) -> str:
    """What an event's id derives from: its case, and which commitment."""
    if isinstance(effect, PromiseChecked):
        return f"{effect.case_id}/promise-{effect.promise}"
    if isinstance(effect, PlanEnded):
        return f"{effect.case_id}/plan-{effect.plan}"
    return effect.case_id


def _wrap(
    collection: Collection, payload: Payload, at: datetime, name: str
) -> Envelope:
    return Envelope.wrap(
        payload,
        id=event_id(collection.creditor, collection.debtor, payload.event_type, name),
        creditor=collection.creditor,
        debtor=collection.debtor,
        occurred_at=at,
    )


def event_id(creditor: str, debtor: str, kind: str, name: str) -> UUID:
    """One id per (debtor, event type, case or contact): a second copy is caught."""
    return stable_id("scheduler", creditor, debtor, kind, name)


# -- contacts -------------------------------------------------------------------


def _contact(
    collection: Collection, party: Party, due: ContactDue, *, failed: bool = False
) -> Outgoing:
    payload = SendContact.model_validate(
        {
            "contact_id": due.contact_id,
            "case_id": due.case_id,
            "step": due.step,
            "template": due.template,
            "channels": list(due.channels),
            "language": party.language,
            "due_at": due.due_at,
            "currency": due.currency,
            "amount_due": due.amount_due,
            "invoices": [_demanded(i) for i in due.invoices],
            "pay_by": due.pay_by,
            "late_fees": due.late_fees,
            "attach_statement": due.attach_statement,
        }
    )
    line = {
        "contact_id": due.contact_id,
        "case_id": due.case_id,
        "step": due.step,
        "template": due.template,
        "channels": list(due.channels),
        "at": due.due_at.isoformat(),
        "currency": due.currency,
        "amount_due": str(due.amount_due),
        "invoices": [i.number for i in due.invoices],
        # `Scheduler.follow_notifier` turns "pending" into what happened.
        "outcome": "failed" if failed else "pending",
    }
    envelope = _wrap(collection, payload, due.due_at, due.contact_id)
    return Outgoing(envelope, COLLECTIONS_CONTACTS, line)


def _demanded(item: DemandedItem) -> DemandedInvoice:
    return DemandedInvoice(
        number=item.number,
        issued_on=item.issued_on,
        due_on=item.due_on,
        amount=item.amount,
        balance=item.balance,
    )


def _item(invoice: Invoice) -> DemandedItem:
    return DemandedItem(
        invoice.number,
        invoice.issued_on,
        invoice.due_on,
        invoice.amount,
        invoice.balance,
    )


def _as_due(failed: ContactFailed) -> ContactDue:
    """A contact no channel can carry, as a letter the notifier will fail.

    `contact.failed` is the notifier's event (SPEC §2, §5): the scheduler asks
    for the letter, and the notifier, finding no address, reports `no_address`.
    """
    return replace(failed.contact, channels=("letter",))


# -- cases ----------------------------------------------------------------------


def _overdue(
    collection: Collection, at: datetime
) -> tuple[str, Decimal, list[Invoice]]:
    """The case's currency, its overdue balance and invoices at `at`."""
    day = collection.calendar.local_date(at)
    balances = collection.account.overdue_balances(day)
    currency = collection.currency()
    if currency not in balances and balances:
        currency = max(balances, key=lambda c: balances[c])
    overdue = sorted(
        (
            i
            for i in collection.account.invoices.values()
            if i.currency == currency and i.is_overdue_on(day)
        ),
        key=lambda i: (i.due_on, i.number),
    )
    return currency, balances.get(currency, Decimal(0)), overdue


def _opened(collection: Collection, effect: CaseOpened) -> cases.CaseOpened:
    currency, balance, overdue = _overdue(collection, effect.at)
    anchor = collection.account.anchor()
    anchor_on = (
        anchor.due_on
        if anchor is not None and anchor.currency == currency
        else overdue[0].due_on
    )
    return cases.CaseOpened(
        case_id=effect.case_id,
        currency=currency,
        overdue_balance=balance,
        anchor_on=anchor_on,
        invoices=[i.number for i in overdue],
    )


def _resolved(effect: CaseResolved) -> cases.CaseResolved:
    return cases.CaseResolved(
        case_id=effect.case_id,
        cause=_CAUSES[effect.by],
        currency=effect.currency,
        overdue_balance=effect.overdue_balance,
        thank_you=effect.thank_you,
    )


def _promise_checked(effect: PromiseChecked) -> Payload:
    kind = cases.PromiseKept if effect.kept else cases.PromiseBroken
    return kind(
        case_id=effect.case_id,
        promise_id=f"{effect.case_id}/promise-{effect.promise}",
        currency=effect.currency,
        amount=effect.amount,
        paid=effect.paid,
    )


def _plan_ended(effect: PlanEnded) -> Payload:
    plan_id = f"{effect.case_id}/plan-{effect.plan}"
    if effect.completed:
        return cases.PlanCompleted(
            case_id=effect.case_id,
            plan_id=plan_id,
            currency=effect.currency,
            paid=effect.paid,
        )
    return cases.PlanBroken(
        case_id=effect.case_id,
        plan_id=plan_id,
        currency=effect.currency,
        installment=effect.installment,
        expected=effect.expected,
        paid=effect.paid,
    )


def _escalated(
    collection: Collection,
    party: Party,
    effect: CaseEscalated,
    contacts: list[dict[str, Any]],
) -> cases.CaseEscalated:
    """The case file, as full as the scheduler's state allows."""
    case = next(c for c in collection.cases if c.id == effect.case_id)
    currency, balance, _ = _overdue(collection, effect.at)
    details = dict(party.debtor or {})
    # The ledger describes a debtor before its first invoice, on the same key;
    # should that event be lost, the agency still gets the id it knows.
    details.setdefault("name", collection.debtor)
    invoices = [
        cases.CaseInvoice(
            number=i.number,
            issued_on=i.issued_on,
            due_on=i.due_on,
            amount=i.amount,
            balance=i.balance,
            status=_status(i),
        )
        for i in collection.account.invoices.values()
        if i.currency == currency
    ]
    return cases.CaseEscalated(
        case_id=case.id,
        trigger=effect.trigger,
        stage=effect.stage,
        case_file=cases.CaseFile(
            debtor=cases.CaseDebtor.model_validate({"id": collection.debtor} | details),
            currency=currency,
            overdue_balance=balance,
            opened_at=case.opened_at,
            invoices=invoices,
            contacts=[
                cases.CaseContact(
                    contact_id=line["contact_id"],
                    step=line["step"],
                    template=line["template"],
                    channel=line["channels"][0] if line["channels"] else None,
                    outcome=line["outcome"],
                    at=line["at"],
                    amount_due=line["amount_due"],
                    invoices=line["invoices"],
                )
                for line in contacts
                if line["case_id"] == case.id
            ],
            promises=[
                cases.CasePromise(
                    promise_id=f"{case.id}/promise-{p.number}",
                    amount=p.installments[0].amount,
                    promised_on=p.installments[0].due_on,
                    recorded_at=p.recorded_at,
                    outcome=_PROMISE_OUTCOMES[p.outcome],
                )
                for p in case.commitments
                if p.kind == "promise"
            ],
            plans=[
                cases.CasePlan(
                    plan_id=f"{case.id}/plan-{p.number}",
                    installments=[
                        cases.Installment(due_on=i.due_on, amount=i.amount)
                        for i in p.installments
                    ],
                    agreed_at=p.recorded_at,
                    outcome=_PLAN_OUTCOMES[p.outcome],
                )
                for p in case.commitments
                if p.kind == "plan"
            ],
            disputes=[
                cases.CaseDispute(
                    dispute_id=dispute_id,
                    invoice=d.invoice,
                    reason=d.reason,
                    opened_at=d.opened_at,
                    resolution=d.resolution,
                )
                for dispute_id, d in _disputes(collection)
                if d.opened_at >= case.opened_at
            ],
            notes=[
                cases.CaseNote(at=n.at, author=n.author, text=n.text)
                for n in case.notes
            ],
        ),
    )


def _disputes(collection: Collection) -> list[tuple[str, Dispute]]:
    """Each dispute with the id `dispute.opened` gave it: the invoice's n-th."""
    counted: Counter[str] = Counter()
    found = []
    for dispute in collection.dispute_log:
        counted[dispute.invoice] += 1
        number = counted[dispute.invoice]
        found.append(
            (f"{collection.debtor}/dispute-{dispute.invoice}-{number}", dispute)
        )
    return found


# A case file speaks of promises kept or broken and plans completed or broken.
_PROMISE_OUTCOMES: dict[str, Literal["active", "kept", "broken", "replaced"]] = {
    "active": "active",
    "kept": "kept",
    "broken": "broken",
    "completed": "kept",
    "replaced": "replaced",
}
_PLAN_OUTCOMES: dict[str, Literal["active", "completed", "broken", "replaced"]] = {
    "active": "active",
    "kept": "completed",
    "broken": "broken",
    "completed": "completed",
    "replaced": "replaced",
}


def _status(invoice: Invoice) -> str:
    if invoice.written_off:
        return "written_off"
    if invoice.disputed:
        return "disputed"
    return "open" if invoice.balance > 0 else "paid"
