"""The ladder keeps SPEC's rules whatever the ledger and collectors record (§3, §4).

Each example draws a debtor (in Berlin with German holidays, or in New York
with American ones), a policy, how the debtor can be reached, and a history
of facts at any minute of the day: invoices due on or around holidays and DST
weekends, payments, credit notes, write-offs, promises, plans, disputes and
their resolutions, pauses, escalations, notes and bounces. The engine is
driven as the scheduler drives it: facts are applied through its own methods
before anything due at their instant, and it is woken exactly when it says.

A small model of the books, kept here, says what each contact should demand.
Every invariant is read from the effects, that model and the history alone.
"""

from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

import holidays
from hypothesis import given, settings
from hypothesis import strategies as st

from services.scheduler.domain.calendar import DebtorCalendar
from services.scheduler.domain.collection import (
    CaseEscalated,
    CaseResolved,
    Collection,
    ContactDue,
    ContactFailed,
    Effect,
    Installment,
    NoOpenCase,
    PlanEnded,
    PromiseChecked,
    Reachability,
)
from shared.policy import load_policy
from shared.policy.model import WEEKDAYS, Policy

POLICIES = Path(__file__).resolve().parents[3] / "policies"
POLICY_FILES = ("standard-b2b.yaml", "gentle-b2c.yaml", "minimal.yaml")
PLACES = (
    ("Europe/Berlin", "DE", "EUR"),
    ("America/New_York", "US", "USD"),
)
REACHES = (
    Reachability(email=True, postal=True),
    Reachability(email=True, postal=True),
    Reachability(email=False, postal=True),
    Reachability(email=True, postal=False),
    Reachability(email=False, postal=False),
)
DEMANDS_BESIDES_THE_LADDER = frozenset({"promise_broken", "plan_broken"})
HORIZON = timedelta(days=220)
"""How long the engine runs on after the last fact: past every ladder's end."""
JUST_BEFORE = timedelta(microseconds=1)


@cache
def policy(name: str) -> Policy:
    return load_policy(POLICIES / name)


@cache
def public_holidays(country: str, year: int) -> frozenset[date]:
    return frozenset(holidays.country_holidays(country, years=year))


@cache
def notable_days(timezone: str, country: str) -> tuple[date, ...]:
    """Public holidays and the Sundays the clocks change, in 2026 and 2027."""
    zone = ZoneInfo(timezone)
    days = set(public_holidays(country, 2026) | public_holidays(country, 2027))
    day = date(2026, 1, 1)
    while day.year < 2028:
        tomorrow = day + timedelta(days=1)
        noon = datetime.combine(day, time(12), zone).utcoffset()
        if noon != datetime.combine(tomorrow, time(12), zone).utcoffset():
            days.add(tomorrow)
        day = tomorrow
    return tuple(sorted(days))


# -- what a history is ----------------------------------------------------------


@dataclass(frozen=True)
class World:
    """The debtor, its policy, and when the history starts."""

    policy_name: str
    timezone: str
    country: str
    currency: str
    reach: Reachability
    start: datetime

    @property
    def policy(self) -> Policy:
        return policy(self.policy_name)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def today(self, moment: datetime) -> date:
        return moment.astimezone(self.zone).date()


@dataclass(frozen=True)
class Fact:
    """Something the ledger reports or a collector records, `minute`s in."""

    minute: int
    kind: str
    amount: Decimal = Decimal(0)
    day: date | None = None
    """An invoice's due date, a promised date, or the date a pause ends."""
    pick: int = 0
    """Which invoice, counted modulo the invoices known."""
    named: bool = False
    """A payment that names the invoice it settles first."""
    outcome: str = ""
    installments: tuple[tuple[date, Decimal], ...] = ()


AMOUNTS = st.sampled_from(["3.00", "40.00", "99.99", "250.00", "1200.00"]).map(Decimal)
PAYMENTS = st.sampled_from(["1.00", "40.00", "100.00", "250.00", "2000.00"]).map(
    Decimal
)
CREDITS = st.sampled_from(["10.00", "250.00", "5000.00"]).map(Decimal)
KINDS = st.sampled_from(
    ["invoice"] * 3
    + ["payment"] * 2
    + ["promise"] * 3
    + ["plan"] * 2
    + ["pause"] * 2
    + ["dispute"] * 2
    + ["resolve"] * 2
    + ["credit"] * 2
    + ["write_off"] * 2
    + ["settle"] * 2
    + ["escalate"] * 2
    + ["keep", "note", "bounce"]
)


def days_from(draw: st.DrawFn, today: date, low: int, high: int) -> date:
    return today + timedelta(days=draw(st.integers(low, high)))


def due_date(draw: st.DrawFn, world: World, today: date) -> date:
    """Any date near the issue date, or one on or around a holiday or DST weekend."""
    ahead = [
        d
        for d in notable_days(world.timezone, world.country)
        if today <= d <= today + timedelta(days=60)
    ]
    if not ahead or draw(st.booleans()):
        return days_from(draw, today, -5, 45)
    return days_from(draw, draw(st.sampled_from(ahead)), -3, 3)


@st.composite
def fact_at(draw: st.DrawFn, world: World, minute: int, kind: str) -> Fact:
    today = world.today(world.start + timedelta(minutes=minute))
    fact = Fact(minute, kind, pick=draw(st.integers(0, 9)))
    if kind == "invoice":
        return replace(fact, amount=draw(AMOUNTS), day=due_date(draw, world, today))
    if kind in ("payment", "keep"):
        return replace(fact, amount=draw(PAYMENTS), named=draw(st.booleans()))
    if kind == "credit":
        return replace(fact, amount=draw(CREDITS))
    if kind == "promise":
        return replace(fact, amount=draw(AMOUNTS), day=days_from(draw, today, -2, 30))
    if kind == "plan":
        offsets = draw(st.lists(st.integers(0, 60), min_size=1, max_size=3))
        days = sorted({today + timedelta(days=n) for n in offsets})
        return replace(fact, installments=tuple((d, draw(AMOUNTS)) for d in days))
    if kind == "pause":
        return replace(fact, day=days_from(draw, today, 1, 30))
    if kind == "resolve":
        # An upheld dispute is often followed by its credit note at once.
        outcome = draw(st.sampled_from(["upheld", "rejected"]))
        credit = draw(st.sampled_from([Decimal(0), Decimal("5000.00")]))
        return replace(fact, outcome=outcome, amount=credit)
    return fact


def minute_of(world: World, day: date) -> int:
    """The minute, counted from the start, at which local `day` begins."""
    begins = datetime.combine(day, time(0), world.zone).astimezone(UTC)
    return int((begins - world.start).total_seconds()) // 60


@st.composite
def kept_word(draw: st.DrawFn, world: World, fact: Fact) -> list[Fact]:
    """The debtor's answer to a promise or plan: paying what it asks, or not."""
    days = [fact.day] if fact.kind == "promise" else [d for d, _ in fact.installments]
    answers = []
    for day in days:
        assert day is not None
        if draw(st.integers(0, 2)):
            when = minute_of(world, day) - draw(st.integers(0, 3 * 24 * 60))
            answers.append(Fact(max(when, fact.minute), "keep"))
    return answers


@st.composite
def histories(draw: st.DrawFn) -> tuple[World, list[Fact]]:
    timezone, country, currency = draw(st.sampled_from(PLACES))
    begins = date(2026, 1, 1) + timedelta(days=draw(st.integers(0, 330)))
    world = World(
        policy_name=draw(st.sampled_from(POLICY_FILES)),
        timezone=timezone,
        country=country,
        currency=currency,
        reach=draw(st.sampled_from(REACHES)),
        start=datetime.combine(begins, time(0), ZoneInfo(timezone)).astimezone(UTC),
    )
    first = draw(fact_at(world, draw(st.integers(0, 24 * 60)), "invoice"))
    assert first.day is not None
    # Around the first due date, when a case is open to take what collectors say.
    after = max(first.minute, minute_of(world, first.day) - 10 * 24 * 60)
    later = st.integers(0, 80 * 24 * 60)
    minutes = sorted(draw(st.lists(later, min_size=2, max_size=15)))
    facts = [first]
    for minute in minutes:
        fact = draw(fact_at(world, after + minute, draw(KINDS)))
        facts.append(fact)
        if fact.kind in ("promise", "plan"):
            facts += draw(kept_word(world, fact))
    return world, sorted(facts, key=lambda f: f.minute)


# -- the books as the ledger and the collectors have them -----------------------


@dataclass(frozen=True)
class Bill:
    """An invoice as this test knows it, apart from the engine."""

    number: str
    due_on: date
    balance: Decimal
    written_off: bool = False
    disputed: bool = False
    """Under an open dispute, or an upheld one whose credit note is pending."""
    dispute_open: bool = False

    @property
    def is_open(self) -> bool:
        return self.balance > 0 and not self.written_off

    @property
    def is_chaseable(self) -> bool:
        return self.is_open and not self.disputed


@dataclass
class Books:
    bills: dict[str, Bill] = field(default_factory=dict)
    credit: Decimal = Decimal(0)
    """What payments left over, to settle invoices issued later (SPEC §2)."""

    def issue(self, number: str, due_on: date, amount: Decimal) -> Decimal:
        taken = min(self.credit, amount)
        self.credit -= taken
        self.bills[number] = Bill(number, due_on, amount - taken)
        return amount - taken

    def pay(self, amount: Decimal, named: str | None) -> dict[str, Decimal]:
        """SPEC §2: the named invoice first, then open ones oldest due first."""
        oldest = sorted(self.bills.values(), key=lambda b: (b.due_on, b.number))
        order = [b.number for b in oldest if b.number != named]
        changed = {}
        for number in ([named] if named else []) + order:
            bill = self.bills[number]
            taken = min(amount, bill.balance) if bill.is_open else Decimal(0)
            if taken:
                amount -= taken
                self.bills[number] = replace(bill, balance=bill.balance - taken)
                changed[number] = bill.balance - taken
        self.credit += amount
        return changed

    def change(self, number: str, **changes: object) -> None:
        self.bills[number] = replace(self.bills[number], **changes)  # type: ignore[arg-type]

    def pick(self, fact: Fact) -> Bill:
        numbers = list(self.bills)
        return self.bills[numbers[fact.pick % len(numbers)]]


# -- playing a history -----------------------------------------------------------


@dataclass(frozen=True)
class Seen:
    """An effect, with the books as they stood when it happened."""

    effect: Effect
    bills: tuple[Bill, ...]


@dataclass(frozen=True)
class Hold:
    """A promise, plan or pause a collector recorded on a case."""

    case_id: str
    kind: str
    number: int
    start: int
    """How many effects had been seen when it was recorded."""
    until: datetime | None = None
    """A pause's end: the start of its local date."""


@dataclass
class Trace:
    seen: list[Seen] = field(default_factory=list)
    holds: list[Hold] = field(default_factory=list)
    bounced_after: int | None = None
    """How many effects had been seen when the first bounce came."""

    def saw(self, effects: list[Effect], books: Books) -> None:
        bills = tuple(books.bills.values())
        self.seen += [Seen(effect, bills) for effect in effects]

    @property
    def effects(self) -> list[Effect]:
        return [s.effect for s in self.seen]


def play(world: World, facts: list[Fact]) -> Trace:
    """Apply each fact at its moment, waking the engine whenever it asks."""
    calendar = DebtorCalendar.for_policy(
        world.policy, timezone=world.timezone, country=world.country
    )
    c = Collection("acme", "d1", world.policy, calendar, reach=world.reach)
    books, trace, now = Books(), Trace(), world.start
    for fact in facts:
        moment = world.start + timedelta(minutes=fact.minute)
        wake(c, books, trace, now, moment - JUST_BEFORE)
        trace.saw(apply(c, books, trace, world, fact, moment), books)
        trace.saw(c.advance(moment), books)
        now = max(now, moment)
    wake(c, books, trace, now, now + HORIZON)
    return trace


def wake(
    c: Collection, books: Books, trace: Trace, now: datetime, end: datetime
) -> None:
    trace.saw(c.advance(now), books)
    while (moment := c.next_moment(now)) is not None and moment <= end:
        now = moment
        trace.saw(c.advance(now), books)


def apply(
    c: Collection,
    books: Books,
    trace: Trace,
    world: World,
    fact: Fact,
    at: datetime,
) -> list[Effect]:
    """One fact through the engine's own method; a refusal (the API's 409) is none."""
    try:
        return record(c, books, trace, world, fact, at)
    except NoOpenCase:
        return []


def record(
    c: Collection,
    books: Books,
    trace: Trace,
    world: World,
    fact: Fact,
    at: datetime,
) -> list[Effect]:
    currency = world.currency
    if fact.kind == "invoice":
        assert fact.day is not None
        number = f"INV-{len(books.bills) + 1}"
        balance = books.issue(number, fact.day, fact.amount)
        return c.invoice_issued(
            number=number,
            currency=currency,
            amount=fact.amount,
            balance=balance,
            issued_on=world.today(at),
            due_on=fact.day,
            at=at,
        )
    if fact.kind == "bounce":
        c.email_bounced()
        if trace.bounced_after is None:
            trace.bounced_after = len(trace.seen)
        return []
    if fact.kind in ("payment", "keep", "settle"):
        amount = committed(c) if fact.kind == "keep" else None
        if fact.kind == "settle":
            amount = sum(
                (b.balance for b in books.bills.values() if b.is_open), Decimal(0)
            )
        amount = amount or fact.amount
        named = books.pick(fact).number if fact.named else None
        changed = books.pay(amount, named)
        return c.balance_changed(changed, at=at, by="payment", paid=(currency, amount))
    if fact.kind == "promise":
        assert fact.day is not None
        effects = c.promise_recorded(fact.amount, fact.day, at=at)
        case, start = c.case, len(trace.seen)
        assert case is not None and case.promise is not None
        trace.holds.append(Hold(case.id, "promise", case.promise.number, start))
        return effects
    if fact.kind == "plan":
        plan = [Installment(d, a) for d, a in fact.installments]
        effects = c.plan_agreed(plan, at=at)
        case, start = c.case, len(trace.seen)
        assert case is not None and case.plan is not None
        trace.holds.append(Hold(case.id, "plan", case.plan.number, start))
        return effects
    if fact.kind == "pause":
        assert fact.day is not None
        effects = c.paused(fact.day, at=at)
        assert c.case is not None
        until = datetime.combine(fact.day, time(0), world.zone)
        trace.holds.append(Hold(c.case.id, "pause", 0, len(trace.seen), until))
        return effects
    if fact.kind == "escalate":
        return c.escalated(at=at)
    if fact.kind == "note":
        return c.noted("collector", "Called; the debtor will call back.", at=at)
    return record_on_invoice(c, books, fact, at)


def committed(c: Collection) -> Decimal | None:
    """What the active promise, or the plan's next installment, asks for."""
    case = c.case
    if case is not None and case.promise is not None:
        return case.promise.amount
    if case is not None and case.plan is not None:
        return case.plan.installments[case.plan.met].amount
    return None


def record_on_invoice(
    c: Collection, books: Books, fact: Fact, at: datetime
) -> list[Effect]:
    bill = books.pick(fact)
    if fact.kind == "credit" and bill.is_open:
        books.change(bill.number, balance=max(bill.balance - fact.amount, Decimal(0)))
        balance = books.bills[bill.number].balance
        return c.balance_changed({bill.number: balance}, at=at, by="credit")
    if fact.kind == "write_off" and not bill.written_off:
        books.change(bill.number, written_off=True)
        return c.invoice_written_off(bill.number, at=at)
    if fact.kind == "dispute" and not bill.disputed:
        books.change(bill.number, disputed=True, dispute_open=True)
        return c.dispute_opened(bill.number, at=at, reason="Goods not delivered")
    if fact.kind == "resolve" and bill.dispute_open:
        upheld = fact.outcome == "upheld"
        books.change(bill.number, disputed=upheld, dispute_open=False)
        effects = c.dispute_resolved(
            bill.number, "upheld" if upheld else "rejected", at=at
        )
        if upheld and fact.amount:
            # The ledger's credit note for what the creditor conceded.
            books.change(
                bill.number, balance=max(bill.balance - fact.amount, Decimal(0))
            )
            balance = books.bills[bill.number].balance
            effects += c.balance_changed({bill.number: balance}, at=at, by="credit")
        return effects
    return []


# -- reading the effects ------------------------------------------------------------


def contact_of(effect: Effect) -> ContactDue | None:
    """The contact an effect sends; a failed one counts as sent (SPEC §3)."""
    if isinstance(effect, ContactFailed):
        return effect.contact
    return effect if isinstance(effect, ContactDue) else None


def sent(trace: Trace) -> list[tuple[ContactDue, Seen]]:
    return [(c, s) for s in trace.seen if (c := contact_of(s.effect)) is not None]


def stage_names(world: World) -> list[str]:
    return [s.stage for s in world.policy.ladder]


def ladder_step(world: World, effect: Effect) -> tuple[str, str, datetime] | None:
    """(case, stage, moment) when the effect is a ladder stage, sent or escalating."""
    if isinstance(effect, CaseEscalated) and effect.trigger == "ladder":
        assert effect.stage is not None
        return effect.case_id, effect.stage, effect.at
    contact = contact_of(effect)
    if contact is not None and contact.template in stage_names(world):
        assert contact.case_id is not None
        return contact.case_id, contact.template, contact.due_at
    return None


def is_demand(world: World, effect: Effect) -> bool:
    """SPEC §3: a ladder stage, `promise_broken` or `plan_broken`."""
    contact = contact_of(effect)
    if contact is not None and contact.template in DEMANDS_BESIDES_THE_LADDER:
        return True
    return ladder_step(world, effect) is not None


def case_of(effect: Effect) -> str | None:
    contact = contact_of(effect)
    return contact.case_id if contact is not None else getattr(effect, "case_id", None)


def moment_of(effect: Effect) -> datetime:
    contact = contact_of(effect)
    return contact.due_at if contact is not None else effect.at  # type: ignore[union-attr]


def demanded(bills: tuple[Bill, ...], day: date) -> dict[str, Decimal]:
    """SPEC §3: the chaseable invoices overdue on local `day`, with their balances."""
    return {b.number: b.balance for b in bills if b.is_chaseable and b.due_on < day}


def anchor(bills: tuple[Bill, ...]) -> Bill | None:
    chaseable = [b for b in bills if b.is_chaseable]
    return min(chaseable, key=lambda b: (b.due_on, b.number), default=None)


def hold_end(trace: Trace, hold: Hold) -> int:
    """Where a hold stops holding: checked, replaced, ended, or its date come.

    Effects come in the order they happen, so a hold is a stretch of the list.
    """
    ends = [len(trace.seen)]
    later = trace.holds[trace.holds.index(hold) + 1 :]
    for other in later:
        # A promise or plan replaces either; a pause replaces a pause.
        replaces = (other.kind == "pause") == (hold.kind == "pause")
        if other.case_id == hold.case_id and replaces:
            ends.append(other.start)
    for index in range(hold.start, len(trace.seen)):
        effect = trace.seen[index].effect
        if hold.until is not None and moment_of(effect) >= hold.until:
            ends.append(index)
        if case_of(effect) != hold.case_id:
            continue
        checked = (hold.kind == "promise" and isinstance(effect, PromiseChecked)) or (
            hold.kind == "plan" and isinstance(effect, PlanEnded)
        )
        ended = isinstance(effect, CaseResolved | CaseEscalated)
        if ended or (checked and getattr(effect, hold.kind) == hold.number):
            ends.append(index)
    return min(ends)


# -- the invariants -------------------------------------------------------------------


def assert_contact_ids_never_repeat(trace: Trace) -> None:
    ids = [contact.contact_id for contact, _ in sent(trace)]
    assert len(ids) == len(set(ids)), ids


def assert_contacts_go_in_the_window_on_allowed_days(
    world: World, trace: Trace
) -> None:
    window = world.policy.send_window
    weekdays = {WEEKDAYS.index(d) for d in window.days}
    for contact, _ in sent(trace):
        local = contact.due_at.astimezone(world.zone)
        assert local.weekday() in weekdays, contact
        assert window.start <= local.time() < window.end, contact
        if world.policy.skip_holidays:
            holiday = local.date() in public_holidays(world.country, local.year)
            assert not holiday, contact


def assert_stages_climb_in_order_from_the_bottom(world: World, trace: Trace) -> None:
    climbed: dict[str, list[str]] = {}
    for seen in trace.seen:
        step = ladder_step(world, seen.effect)
        if step is not None:
            climbed.setdefault(step[0], []).append(step[1])
    for stages in climbed.values():
        assert stages == stage_names(world)[: len(stages)], stages


def assert_each_stage_waits_for_its_anchor_and_the_gap(
    world: World, trace: Trace
) -> None:
    """Stage k no earlier than max(A + after_days[k], L + min_gap_days), locally.

    L is the case's previous demand, or a promise or plan check, from which
    SPEC §4 counts the gap as well. A broken commitment's demand goes at its
    check's slot (SPEC §4), so the gap binds the stages, not that demand.
    """
    ladder = world.policy.ladder
    gap = timedelta(days=world.policy.min_gap_days)
    last: dict[str, date] = {}
    climbed: dict[str, int] = {}
    for seen in trace.seen:
        effect, case = seen.effect, case_of(seen.effect)
        day = world.today(moment_of(effect))
        step = ladder_step(world, effect)
        if step is not None:
            k = climbed[step[0]] = climbed.get(step[0], -1) + 1
            oldest = anchor(seen.bills)
            assert oldest is not None, effect
            assert day >= oldest.due_on + timedelta(days=ladder[k].after_days), effect
            assert case not in last or day >= last[case] + gap, (effect, last[case])
        checked = isinstance(effect, PromiseChecked | PlanEnded)
        if case is not None and (checked or is_demand(world, effect)):
            last[case] = day


def assert_an_ended_case_hears_nothing_but_thanks_for_a_payment(
    world: World, trace: Trace
) -> None:
    """After its end a case hears one thank-you, if a payment ended it before
    it went to the agency (SPEC §4; §3: an escalated case's automated contacts
    stop, thanks included).

    Effects come in the order they happen, so "after" is read off the list.
    """
    ended: set[str] = set()
    demanded: set[str] = set()
    escalated: set[str] = set()
    owed: set[str] = set()
    thanked: list[str] = []
    for effect in trace.effects:
        contact = contact_of(effect)
        if contact is not None and contact.template == "thank_you":
            assert contact.case_id in owed, contact
            thanked.append(str(contact.case_id))
        elif contact is not None:
            assert contact.case_id not in ended, contact
        if contact is not None and ladder_step(world, effect) is not None:
            demanded.add(str(contact.case_id))
        if isinstance(effect, CaseResolved | CaseEscalated):
            ended.add(effect.case_id)
        if isinstance(effect, CaseEscalated):
            escalated.add(effect.case_id)
        paid = isinstance(effect, CaseResolved) and effect.by == "payment"
        if paid and world.policy.thank_you and effect.case_id in demanded - escalated:
            owed.add(effect.case_id)
    assert sorted(thanked) == sorted(owed), (thanked, owed)


def assert_no_demand_while_a_promise_plan_or_pause_holds(
    world: World, trace: Trace
) -> None:
    for hold in trace.holds:
        for seen in trace.seen[hold.start : hold_end(trace, hold)]:
            effect = seen.effect
            holding = case_of(effect) == hold.case_id and is_demand(world, effect)
            assert not holding, (effect, hold)


def assert_each_contact_demands_what_is_chaseable_and_overdue(
    world: World, trace: Trace
) -> None:
    for contact, seen in sent(trace):
        listed = {i.number: i.balance for i in contact.invoices}
        if is_demand(world, seen.effect):
            expected = demanded(seen.bills, world.today(contact.due_at))
            assert listed == expected, contact
            assert contact.amount_due == sum(expected.values(), Decimal(0)), contact
        elif contact.template == "pre_due":
            bill = next(b for b in seen.bills if b.number in listed)
            assert bill.is_chaseable and listed == {bill.number: bill.balance}
            assert contact.amount_due == bill.balance, contact
        if ladder_step(world, seen.effect) is not None:
            assert contact.amount_due > world.policy.min_balance, contact


def assert_a_bounced_address_gets_no_more_email(trace: Trace) -> None:
    if trace.bounced_after is None:
        return
    for seen in trace.seen[trace.bounced_after :]:
        contact = contact_of(seen.effect)
        assert contact is None or "email" not in contact.channels, contact


@settings(max_examples=500, deadline=None)
@given(histories())
def test_whatever_the_ledger_and_collectors_record_the_ladder_keeps_its_rules(
    drawn: tuple[World, list[Fact]],
) -> None:
    world, facts = drawn

    trace = play(world, facts)

    assert play(world, facts).effects == trace.effects
    assert_contact_ids_never_repeat(trace)
    assert_contacts_go_in_the_window_on_allowed_days(world, trace)
    assert_stages_climb_in_order_from_the_bottom(world, trace)
    assert_each_stage_waits_for_its_anchor_and_the_gap(world, trace)
    assert_an_ended_case_hears_nothing_but_thanks_for_a_payment(world, trace)
    assert_no_demand_while_a_promise_plan_or_pause_holds(world, trace)
    assert_each_contact_demands_what_is_chaseable_and_overdue(world, trace)
    assert_a_bounced_address_gets_no_more_email(trace)
