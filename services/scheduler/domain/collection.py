"""The collection of one debtor: its cases, and what falls due when (SPEC §3).

`Collection` holds what the scheduler knows of one (creditor, debtor) and
decides, from that and a moment, what happens next: a case opening, a
ladder stage, a courtesy reminder, an escalation, a thank-you. It does no
I/O and reads no clock: the caller applies the ledger's facts as they come,
calls `advance(now)` after each fact and whenever `next_moment(now)` falls
due, and publishes the effects it returns. The same facts and moments give
the same effects, with the same contact ids.
"""

import copy
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Literal, Protocol

from services.scheduler.domain.account import Account, Invoice
from shared.events.ids import contact_id
from shared.policy.model import Policy, Stage

Channel = Literal["email", "letter"]


class Calendar(Protocol):
    """The debtor's calendar: local dates and the send window's slots."""

    def local_date(self, moment: datetime) -> date: ...

    def slot(self, day: date, now: datetime) -> datetime: ...

    def start_of(self, day: date) -> datetime: ...


class CaseState(StrEnum):
    OPEN = "open"
    PAUSED = "paused"
    ESCALATED = "escalated"
    RESOLVED = "resolved"


@dataclass(frozen=True, slots=True)
class Reachability:
    """How the debtor can be reached (SPEC §5)."""

    email: bool = False
    """An email address, not opted out, not known to bounce."""
    postal: bool = False
    """A postal address a letter can go to."""


@dataclass(slots=True)
class Case:
    """One run of the ladder, from overdue to resolved."""

    id: str
    opened_at: datetime
    state: CaseState = CaseState.OPEN
    next_stage: int = 0
    """Index in the ladder of the stage to send next."""
    last_demand_on: date | None = None
    """Local date of the case's previous demand: L of SPEC §3."""
    ladder_contacts: int = 0
    flagged: bool = False
    """A collector should look: a stage could not be delivered."""
    promise: "Promise | None" = None
    promises: int = 0
    plan: "Plan | None" = None
    plans: int = 0
    paused_until: date | None = None
    """A collector's pause: the ladder waits until this local date."""
    notes: list["Note"] = field(default_factory=list)
    commitments: list["Commitment"] = field(default_factory=list)
    """Every promise and plan of the case, oldest first."""


@dataclass(frozen=True, slots=True)
class Promise:
    """A debtor's promise to pay `amount` by `pay_by` (SPEC §4)."""

    number: int
    amount: Decimal
    currency: str
    pay_by: date
    paid_before: Decimal
    """What the debtor had paid in `currency` when the promise was recorded."""
    confirmed: bool = False


@dataclass(frozen=True, slots=True)
class Installment:
    due_on: date
    amount: Decimal


@dataclass(frozen=True, slots=True)
class Plan:
    """Installments agreed with the debtor (SPEC §4); `met` of them are checked."""

    number: int
    currency: str
    installments: tuple[Installment, ...]
    paid_before: Decimal
    reminded: int = 0
    """How many installment reminders have gone out, in order."""
    met: int = 0


@dataclass(slots=True)
class Commitment:
    """A promise or a plan as the case file lists it, with how it ended."""

    kind: Literal["promise", "plan"]
    number: int
    currency: str
    recorded_at: datetime
    installments: tuple[Installment, ...]
    """A promise is one installment: its amount by its date."""
    outcome: Literal["active", "kept", "broken", "completed", "replaced"] = "active"


@dataclass(slots=True)
class Dispute:
    """A dispute of one invoice as the case file lists it."""

    number: int
    invoice: str
    reason: str
    opened_at: datetime
    resolution: Literal["upheld", "rejected"] | None = None


@dataclass(frozen=True, slots=True)
class Note:
    at: datetime
    author: str
    text: str


@dataclass(frozen=True, slots=True)
class Promised:
    """What a confirmation or an installment reminder names: an amount by a date."""

    currency: str
    amount: Decimal
    pay_by: date


@dataclass(frozen=True, slots=True)
class DemandedItem:
    number: str
    issued_on: date
    due_on: date
    amount: Decimal
    balance: Decimal


@dataclass(frozen=True, slots=True)
class ContactDue:
    """Send this contact now: the scheduler's `contact.due`."""

    contact_id: str
    case_id: str | None
    step: str
    template: str
    channels: tuple[Channel, ...]
    due_at: datetime
    currency: str
    amount_due: Decimal
    invoices: tuple[DemandedItem, ...] = ()
    late_fees: bool = False
    attach_statement: bool = False
    pay_by: date | None = None
    """The promised or installment date, where one is."""


@dataclass(frozen=True, slots=True)
class ContactFailed:
    """A contact that no channel can carry (`no_address`); it counts as sent."""

    contact: ContactDue
    """The contact as it would have gone, by letter, with its demand."""
    reason: str

    @property
    def contact_id(self) -> str:
        return self.contact.contact_id

    @property
    def case_id(self) -> str | None:
        return self.contact.case_id

    @property
    def step(self) -> str:
        return self.contact.step

    @property
    def template(self) -> str:
        return self.contact.template

    @property
    def at(self) -> datetime:
        return self.contact.due_at


@dataclass(frozen=True, slots=True)
class CaseOpened:
    case_id: str
    at: datetime


@dataclass(frozen=True, slots=True)
class CaseEscalated:
    case_id: str
    at: datetime
    trigger: Literal["ladder", "collector"] = "ladder"
    stage: str | None = None
    """The escalating stage, when the ladder escalated."""


@dataclass(frozen=True, slots=True)
class CaseResolved:
    case_id: str
    at: datetime
    by: Literal["payment", "credit", "write_off"]
    currency: str
    overdue_balance: Decimal
    """What is left overdue, at most `min_balance`."""
    thank_you: bool


@dataclass(frozen=True, slots=True)
class PromiseChecked:
    case_id: str
    at: datetime
    promise: int
    kept: bool
    currency: str
    amount: Decimal
    paid: Decimal
    """Payments received since the promise was recorded."""


@dataclass(frozen=True, slots=True)
class PlanEnded:
    case_id: str
    at: datetime
    plan: int
    completed: bool
    currency: str
    installment: int
    """1-based number of the installment checked last: the missed one if broken."""
    expected: Decimal
    """The sum of installments 1..installment."""
    paid: Decimal
    """Payments received since the plan began."""


Effect = (
    ContactDue
    | ContactFailed
    | CaseOpened
    | CaseEscalated
    | CaseResolved
    | PromiseChecked
    | PlanEnded
)


class UnknownInvoice(LookupError):
    """A collector named an invoice the scheduler has not heard of."""


class NoOpenCase(LookupError):
    """A promise or a plan needs an open case; the debtor has none."""


_ONE_DAY = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class _Step:
    """Something that falls due at `at`; `kind` says what."""

    at: datetime
    kind: Literal[
        "open",
        "stage",
        "pre_due",
        "thank_you",
        "dispute_ack",
        "promise_confirmation",
        "promise_check",
        "installment_due",
        "installment_check",
        "resume",
    ]
    invoice: str | None = None


@dataclass
class Collection:
    """Everything the scheduler decides for one debtor of one creditor."""

    creditor: str
    debtor: str
    policy: Policy
    calendar: Calendar
    reach: Reachability = field(default_factory=Reachability)
    account: Account = field(default_factory=Account)
    cases: list[Case] = field(default_factory=list)
    pre_due_sent: set[str] = field(default_factory=set)
    thank_you_owed: Case | None = None
    acks_owed: list[str] = field(default_factory=list)
    """Invoices whose dispute is still to be acknowledged, in order."""
    disputes: dict[str, int] = field(default_factory=dict)
    """How many disputes each invoice has had: a step id per dispute."""
    dispute_log: list[Dispute] = field(default_factory=list)

    # -- the ledger's facts ----------------------------------------------------

    def invoice_issued(
        self,
        *,
        number: str,
        currency: str,
        amount: Decimal,
        balance: Decimal,
        issued_on: date,
        due_on: date,
        at: datetime,
    ) -> list[Effect]:
        """Record a new invoice; return what that settles at once."""
        self.account.invoices[number] = Invoice(
            number=number,
            currency=currency,
            amount=amount,
            balance=balance,
            issued_on=issued_on,
            due_on=due_on,
            known_on=self.calendar.local_date(at),
        )
        return self._settle(at, by="credit")

    def balance_changed(
        self,
        balances: dict[str, Decimal],
        *,
        at: datetime,
        by: Literal["payment", "credit"],
        paid: tuple[str, Decimal] | None = None,
    ) -> list[Effect]:
        """Invoices' balances after a payment or a credit note, as the ledger says."""
        for number, balance in balances.items():
            invoice = self.account.invoices.get(number)
            if invoice is not None:
                invoice.balance = balance
        if paid is not None:
            currency, amount = paid
            self.account.paid[currency] = (
                self.account.paid.get(currency, Decimal(0)) + amount
            )
        return self._settle(at, by=by)

    def invoice_written_off(self, number: str, *, at: datetime) -> list[Effect]:
        invoice = self.account.invoices.get(number)
        if invoice is not None:
            invoice.written_off = True
        return self._settle(at, by="write_off")

    # -- what collectors record ------------------------------------------------

    def dispute_opened(self, number: str, *, at: datetime, reason: str) -> list[Effect]:
        """The invoice stops being chaseable; with `acknowledge`, tell the debtor."""
        invoice = self.account.invoices.get(number)
        if invoice is None:
            raise UnknownInvoice(number)
        invoice.disputed = True
        self.disputes[number] = self.disputes.get(number, 0) + 1
        self.dispute_log.append(
            Dispute(len(self.dispute_log) + 1, number, reason, opened_at=at)
        )
        # An escalated case is the agency's: nothing automated tells the debtor.
        handed_over = self.case is not None and self.case.state is CaseState.ESCALATED
        # One acknowledgement owed per invoice: it names the dispute open then.
        owed = number in self.acks_owed
        if self.policy.dispute.acknowledge and not handed_over and not owed:
            self.acks_owed.append(number)
        return []

    def promise_recorded(
        self, amount: Decimal, pay_by: date, *, at: datetime
    ) -> list[Effect]:
        """Pause the ladder until the promise is checked; a new one replaces it."""
        case = self._open_case()
        currency = self.currency()
        case.plan = None
        self._replace_commitment(case)
        case.promises += 1
        case.promise = Promise(
            number=case.promises,
            amount=amount,
            currency=currency,
            pay_by=pay_by,
            paid_before=self.account.paid.get(currency, Decimal(0)),
            confirmed=not self.policy.promise.confirm,
        )
        promised = (Installment(pay_by, amount),)
        case.commitments.append(
            Commitment("promise", case.promises, currency, at, promised)
        )
        case.state = CaseState.PAUSED
        return []

    def plan_agreed(
        self, installments: list[Installment], *, at: datetime
    ) -> list[Effect]:
        """Pause the ladder while installments are met; a new plan replaces any."""
        case = self._open_case()
        currency = self.currency()
        case.promise = None
        self._replace_commitment(case)
        case.plans += 1
        case.plan = Plan(
            number=case.plans,
            currency=currency,
            installments=tuple(sorted(installments, key=lambda i: i.due_on)),
            paid_before=self.account.paid.get(currency, Decimal(0)),
        )
        case.commitments.append(
            Commitment("plan", case.plans, currency, at, case.plan.installments)
        )
        case.state = CaseState.PAUSED
        return []

    @staticmethod
    def _replace_commitment(case: Case) -> None:
        for commitment in case.commitments:
            if commitment.outcome == "active":
                commitment.outcome = "replaced"

    @staticmethod
    def _conclude(
        case: Case,
        kind: Literal["promise", "plan"],
        outcome: Literal["kept", "broken", "completed"],
    ) -> None:
        for commitment in case.commitments:
            if commitment.kind == kind and commitment.outcome == "active":
                commitment.outcome = outcome

    def paused(self, until: date, *, at: datetime) -> list[Effect]:
        """A collector holds the ladder until local date `until`."""
        case = self._open_case()
        case.paused_until = until
        case.state = CaseState.PAUSED
        return []

    def escalated(self, *, at: datetime) -> list[Effect]:
        """A collector hands the case to the agency now; automated contacts stop."""
        case = self._open_case()
        self._hand_over(case)
        return [CaseEscalated(case.id, at, "collector")]

    def _hand_over(self, case: Case) -> None:
        """Escalated, the case is the agency's: automated contacts stop (SPEC §3)."""
        case.state = CaseState.ESCALATED
        case.promise = case.plan = None
        case.paused_until = None
        self.acks_owed.clear()

    def noted(self, author: str, text: str, *, at: datetime) -> list[Effect]:
        """A collector's note, kept with the current case (or the last one)."""
        if not self.cases:
            raise NoOpenCase(self.debtor)
        self.cases[-1].notes.append(Note(at, author, text))
        return []

    def flag(self, case_id: str | None) -> None:
        """A collector should look at this case: a contact of it failed."""
        for case in self.cases:
            if case.id == case_id:
                case.flagged = True

    def email_bounced(self) -> None:
        """The address is invalid until the debtor's details change (SPEC §5)."""
        self.reach = replace(self.reach, email=False)

    def _open_case(self) -> Case:
        """Promises, plans and pauses belong to an open (or paused) case."""
        case = self.case
        if case is None or case.state is CaseState.ESCALATED:
            raise NoOpenCase(self.debtor)
        return case

    def dispute_resolved(
        self, number: str, outcome: Literal["upheld", "rejected"], *, at: datetime
    ) -> list[Effect]:
        """Rejected: chaseable again, the ladder goes on where it stood. Upheld:
        it stays out of the demand until the ledger's credit note settles it."""
        invoice = self.account.invoices.get(number)
        if invoice is None:
            raise UnknownInvoice(number)
        if outcome == "rejected":
            invoice.disputed = False
        for dispute in reversed(self.dispute_log):
            if dispute.invoice == number and dispute.resolution is None:
                dispute.resolution = outcome
                break
        return []

    # -- time ------------------------------------------------------------------

    def advance(self, now: datetime) -> list[Effect]:
        """Everything due at or before `now`, in order, as effects."""
        effects: list[Effect] = []
        while (step := self._first_step(now)) is not None and step.at <= now:
            effects += self._take(step, now)
        return effects

    def forecast(self, now: datetime, until: datetime) -> list[Effect]:
        """What would happen from `now` to `until` if nothing changed; self stays."""
        # The policy and calendar are immutable: the copy shares them.
        shared = {id(self.policy): self.policy, id(self.calendar): self.calendar}
        future = copy.deepcopy(self, shared)
        effects = future.advance(now)
        while (moment := future.next_moment(now)) is not None and moment <= until:
            now = moment
            effects += future.advance(now)
        return effects

    def next_moment(self, now: datetime) -> datetime | None:
        """When something falls due next, if nothing changes before then."""
        step = self._first_step(now)
        return step.at if step is not None else None

    @property
    def case(self) -> Case | None:
        """The debtor's current case, unless resolved."""
        if self.cases and self.cases[-1].state is not CaseState.RESOLVED:
            return self.cases[-1]
        return None

    # -- deciding --------------------------------------------------------------

    def _first_step(self, now: datetime) -> _Step | None:
        steps = [
            s
            for s in (
                self._opening(now),
                self._stage(now),
                self._thank_you(now),
                self._acknowledgement(now),
                *self._promise_steps(now),
                *self._plan_steps(now),
                self._resumption(now),
                *self._pre_dues(now),
            )
            if s is not None
        ]
        return min(steps, key=lambda s: (s.at, _ORDER[s.kind]), default=None)

    def _opening(self, now: datetime) -> _Step | None:
        """A case opens once the overdue balance first exceeds `min_balance`."""
        if self.case is not None:
            return None
        today = self.calendar.local_date(now)
        if self._over_threshold(today):
            return _Step(now, "open")
        day = self.account.next_overdue_day(today)
        while day is not None:
            if self._over_threshold(day):
                return _Step(self.calendar.start_of(day), "open")
            day = self.account.next_overdue_day(day)
        return None

    def _stage(self, now: datetime) -> _Step | None:
        """The next ladder stage: slot(max(A + after_days, L + min_gap_days))."""
        case = self.case
        if case is None or case.state is not CaseState.OPEN:
            return None
        if case.next_stage >= len(self.policy.ladder):
            return None
        anchor = self.account.anchor()
        if anchor is None:
            return None

        stage = self.policy.ladder[case.next_stage]
        day = anchor.due_on + timedelta(days=stage.after_days)
        if case.last_demand_on is not None:
            day = max(day, case.last_demand_on + timedelta(self.policy.min_gap_days))
        at = self.calendar.slot(day, now)

        # The ladder holds while what it could demand is not worth chasing.
        demanded = self.account.demand(self.calendar.local_date(at), anchor.currency)
        if sum((i.balance for i in demanded), Decimal(0)) <= self.policy.min_balance:
            return None
        return _Step(at, "stage")

    def _pre_dues(self, now: datetime) -> list[_Step]:
        """One courtesy email per invoice, `days_before` its due date."""
        rule = self.policy.pre_due
        if rule is None:
            return []
        steps = []
        for invoice in self.account.invoices.values():
            day = invoice.due_on - timedelta(days=rule.days_before)
            if (
                invoice.number in self.pre_due_sent
                or not invoice.is_chaseable
                or invoice.known_on > day
            ):
                continue
            at = self.calendar.slot(day, now)
            if self.calendar.local_date(at) <= invoice.due_on:
                steps.append(_Step(at, "pre_due", invoice.number))
        return steps

    def _thank_you(self, now: datetime) -> _Step | None:
        if self.thank_you_owed is None:
            return None
        return _Step(
            self.calendar.slot(self.calendar.local_date(now), now), "thank_you"
        )

    def _promise_steps(self, now: datetime) -> list[_Step]:
        case = self.case
        if case is None or case.promise is None:
            return []
        promise = case.promise
        steps = []
        if not promise.confirmed:
            day = self.calendar.local_date(now)
            steps.append(_Step(self.calendar.slot(day, now), "promise_confirmation"))
        check = promise.pay_by + timedelta(days=self.policy.promise.grace_days)
        check = self._after_pause(case, check)
        steps.append(_Step(self.calendar.slot(check, now), "promise_check"))
        return steps

    def _plan_steps(self, now: datetime) -> list[_Step]:
        case = self.case
        if case is None or case.plan is None:
            return []
        plan = case.plan
        steps = []
        if plan.reminded < len(plan.installments):
            due = plan.installments[plan.reminded].due_on
            day = due - timedelta(days=self.policy.plan.reminder_days_before)
            steps.append(_Step(self.calendar.slot(day, now), "installment_due"))
        due = plan.installments[plan.met].due_on
        check = due + timedelta(days=self.policy.plan.grace_days)
        check = self._after_pause(case, check)
        steps.append(_Step(self.calendar.slot(check, now), "installment_check"))
        return steps

    @staticmethod
    def _after_pause(case: Case, day: date) -> date:
        """A check that falls in a collector's pause waits for the pause's date."""
        if case.paused_until is None:
            return day
        return max(day, case.paused_until)

    def _resumption(self, now: datetime) -> _Step | None:
        case = self.case
        if case is None or case.paused_until is None:
            return None
        return _Step(max(self.calendar.start_of(case.paused_until), now), "resume")

    def _acknowledgement(self, now: datetime) -> _Step | None:
        if not self.acks_owed:
            return None
        day = self.calendar.local_date(now)
        return _Step(self.calendar.slot(day, now), "dispute_ack", self.acks_owed[0])

    # -- acting ----------------------------------------------------------------

    def _take(self, step: _Step, now: datetime) -> list[Effect]:
        if step.kind == "open":
            return self._open(step.at)
        if step.kind == "stage":
            return self._send_stage(step.at)
        if step.kind == "pre_due":
            assert step.invoice is not None
            return self._send_pre_due(step.invoice, step.at)
        if step.kind == "promise_confirmation":
            return self._confirm_promise(step.at)
        if step.kind == "promise_check":
            return self._check_promise(step.at)
        if step.kind == "installment_due":
            return self._remind_installment(step.at)
        if step.kind == "installment_check":
            return self._check_installment(step.at)
        if step.kind == "resume":
            return self._resume(step.at)
        if step.kind == "dispute_ack":
            assert step.invoice is not None
            return self._acknowledge(step.invoice, step.at)
        return self._send_thank_you(step.at)

    def _open(self, at: datetime) -> list[Effect]:
        case = Case(id=f"{self.debtor}#{len(self.cases) + 1}", opened_at=at)
        self.cases.append(case)
        return [CaseOpened(case.id, at)]

    def _send_stage(self, at: datetime) -> list[Effect]:
        case = self.case
        anchor = self.account.anchor()
        assert case is not None and anchor is not None
        stage = self.policy.ladder[case.next_stage]
        case.next_stage += 1

        if stage.action == "escalate":
            self._hand_over(case)
            return [CaseEscalated(case.id, at, "ladder", stage.stage)]

        case.last_demand_on = self.calendar.local_date(at)
        case.ladder_contacts += 1
        step = f"ladder:{case.next_stage}"
        demanded = self.account.demand(case.last_demand_on, anchor.currency)
        effect = self._contact(case, step, stage.stage, stage.channels, at, demanded)
        if isinstance(effect, ContactFailed):
            case.flagged = True
        return [effect]

    def _send_pre_due(self, number: str, at: datetime) -> list[Effect]:
        self.pre_due_sent.add(number)
        invoice = self.account.invoices[number]
        step = f"pre_due:{number}"
        return [self._contact(None, step, "pre_due", ["email"], at, [invoice])]

    def _confirm_promise(self, at: datetime) -> list[Effect]:
        case = self.case
        assert case is not None and case.promise is not None
        promise = case.promise = replace(case.promise, confirmed=True)
        step = f"promise:{promise.number}:confirmation"
        promised = Promised(promise.currency, promise.amount, promise.pay_by)
        return [
            self._contact(
                case, step, "promise_confirmation", ["email"], at, [], promised
            )
        ]

    def _check_promise(self, at: datetime) -> list[Effect]:
        """Kept: the ladder resumes, its gap counted from today. Broken: say so now."""
        case = self.case
        assert case is not None and case.promise is not None
        promise, case.promise = case.promise, None
        self._release(case)
        paid = self.account.paid.get(promise.currency, Decimal(0))
        case.last_demand_on = self.calendar.local_date(at)
        since = paid - promise.paid_before
        kept = since >= promise.amount
        self._conclude(case, "promise", "kept" if kept else "broken")
        checked: list[Effect] = [
            PromiseChecked(
                case.id,
                at,
                promise.number,
                kept,
                currency=promise.currency,
                amount=promise.amount,
                paid=since,
            )
        ]
        if kept:
            return checked
        step = f"promise:{promise.number}:broken"
        return checked + self._broken(case, step, "promise_broken", at)

    def _broken(
        self, case: Case, step: str, template: str, at: datetime
    ) -> list[Effect]:
        """A broken commitment is a demand: it says so with what is now owed."""
        day = self.calendar.local_date(at)
        demanded = self.account.demand(day, self.currency())
        if not demanded:
            return []
        case.last_demand_on = day
        return [self._contact(case, step, template, ["email"], at, demanded)]

    def _remind_installment(self, at: datetime) -> list[Effect]:
        case = self.case
        assert case is not None and case.plan is not None
        plan = case.plan
        installment = plan.installments[plan.reminded]
        case.plan = replace(plan, reminded=plan.reminded + 1)
        step = f"plan:{plan.number}:installment:{plan.reminded + 1}"
        owed = Promised(plan.currency, installment.amount, installment.due_on)
        return [self._contact(case, step, "installment_due", ["email"], at, [], owed)]

    def _check_installment(self, at: datetime) -> list[Effect]:
        """Met: on to the next, or the plan is complete. Missed: the plan is broken."""
        case = self.case
        assert case is not None and case.plan is not None
        plan = case.plan
        owed = sum((i.amount for i in plan.installments[: plan.met + 1]), Decimal(0))
        paid = self.account.paid.get(plan.currency, Decimal(0)) - plan.paid_before
        if paid >= owed and plan.met + 1 < len(plan.installments):
            case.plan = replace(plan, met=plan.met + 1)
            return []

        case.plan = None
        self._release(case)
        case.last_demand_on = self.calendar.local_date(at)
        completed = paid >= owed
        self._conclude(case, "plan", "completed" if completed else "broken")
        ended: list[Effect] = [
            PlanEnded(
                case.id,
                at,
                plan.number,
                completed,
                currency=plan.currency,
                installment=plan.met + 1,
                expected=owed,
                paid=paid,
            )
        ]
        if completed:
            return ended
        step = f"plan:{plan.number}:broken"
        return ended + self._broken(case, step, "plan_broken", at)

    def _resume(self, at: datetime) -> list[Effect]:
        case = self.case
        assert case is not None
        case.paused_until = None
        self._release(case)
        return []

    @staticmethod
    def _release(case: Case) -> None:
        """The ladder goes on once no promise, plan or pause holds it.

        Only a paused case reopens: an escalated one stays the agency's.
        """
        held = (
            case.promise is not None
            or case.plan is not None
            or case.paused_until is not None
        )
        if case.state is CaseState.PAUSED and not held:
            case.state = CaseState.OPEN

    def _acknowledge(self, number: str, at: datetime) -> list[Effect]:
        self.acks_owed.remove(number)
        invoice = self.account.invoices[number]
        step = f"dispute_ack:{number}:{self.disputes[number]}"
        return [self._contact(self.case, step, "dispute_ack", ["email"], at, [invoice])]

    def _send_thank_you(self, at: datetime) -> list[Effect]:
        case, self.thank_you_owed = self.thank_you_owed, None
        assert case is not None
        return [self._contact(case, "thank_you", "thank_you", ["email"], at, [])]

    def _contact(
        self,
        case: Case | None,
        step: str,
        template: str,
        wanted: list[Channel],
        at: datetime,
        invoices: list[Invoice],
        promised: "Promised | None" = None,
    ) -> ContactDue | ContactFailed:
        """The contact for `step`, on the channels that can reach the debtor.

        A contact demands `invoices`, or, for a confirmation or an installment
        reminder, the `promised` amount by its date.
        """
        case_id = case.id if case is not None else None
        channels = self._channels(wanted)
        stage = self._stage_named(template)
        currency = invoices[0].currency if invoices else self.currency()
        amount = sum((i.balance for i in invoices), Decimal(0))
        if promised is not None:
            currency, amount = promised.currency, promised.amount
        due = ContactDue(
            contact_id=contact_id(self.creditor, self.debtor, case_id, step),
            case_id=case_id,
            step=step,
            template=template,
            channels=channels or ("letter",),
            due_at=at,
            currency=currency,
            amount_due=amount,
            pay_by=promised.pay_by if promised is not None else None,
            invoices=tuple(
                DemandedItem(i.number, i.issued_on, i.due_on, i.amount, i.balance)
                for i in invoices
            ),
            late_fees=bool(stage and stage.late_fees),
            attach_statement=stage is not None and self.policy.attach_statement,
        )
        return due if channels else ContactFailed(due, reason="no_address")

    def _channels(self, wanted: list[Channel]) -> tuple[Channel, ...]:
        """Email falls back to a letter, one letter at most; letters need an address.

        With no channel left the contact fails here (`no_address`). A letter
        that goes beside an email stays without an address: the email goes,
        and the notifier reports the letter failed, which flags the case.
        """
        chosen: list[Channel] = []
        for channel in wanted:
            if channel == "email" and not self.reach.email:
                channel = "letter"
            if channel not in chosen:
                chosen.append(channel)
        if not self.reach.postal and chosen == ["letter"]:
            return ()
        return tuple(chosen)

    def _stage_named(self, template: str) -> Stage | None:
        return next((s for s in self.policy.ladder if s.stage == template), None)

    def currency(self) -> str:
        """The debt's currency: the oldest chaseable invoice's, else the first's."""
        anchor = self.account.anchor()
        if anchor is not None:
            return anchor.currency
        return next(iter(self.account.invoices.values())).currency

    # -- settling --------------------------------------------------------------

    def _settle(
        self, at: datetime, *, by: Literal["payment", "credit", "write_off"]
    ) -> list[Effect]:
        """Resolve the case once its overdue balance is down to `min_balance`."""
        case = self.case
        today = self.calendar.local_date(at)
        if case is None or self._over_threshold(today):
            return []
        # An escalated case is the agency's to close: the creditor's own
        # thanks would be an automated contact, and those stopped (SPEC §3).
        handed_over = case.state is CaseState.ESCALATED
        case.state = CaseState.RESOLVED
        thanks = (
            by == "payment"
            and case.ladder_contacts > 0
            and self.policy.thank_you
            and not handed_over
        )
        if thanks:
            self.thank_you_owed = case
        currency = self.currency()
        left = self.account.overdue_balances(today).get(currency, Decimal(0))
        return [CaseResolved(case.id, at, by, currency, left, thank_you=thanks)]

    def _over_threshold(self, day: date) -> bool:
        balances = self.account.overdue_balances(day).values()
        return any(balance > self.policy.min_balance for balance in balances)


# At one moment: a case opens (or resumes) before anything is sent in it, a
# commitment is checked before the next installment is announced, and a
# pre-due reminder of one invoice goes before a stage that demands others.
_ORDER = {
    "open": 0,
    "resume": 1,
    "thank_you": 2,
    "dispute_ack": 3,
    "promise_confirmation": 4,
    "promise_check": 5,
    "installment_check": 6,
    "installment_due": 7,
    "pre_due": 8,
    "stage": 9,
}
