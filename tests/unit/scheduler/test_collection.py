"""The ladder of SPEC §3 for one debtor, driven moment by moment."""

from datetime import date, datetime, time, timedelta
from decimal import Decimal
from itertools import pairwise
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.scheduler.domain.calendar import DebtorCalendar
from services.scheduler.domain.collection import (
    CaseEscalated,
    CaseOpened,
    CaseResolved,
    CaseState,
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

BERLIN = ZoneInfo("Europe/Berlin")
POLICIES = Path(__file__).resolve().parents[3] / "policies"
STANDARD = load_policy(POLICIES / "standard-b2b.yaml")
BY_EMAIL = Reachability(email=True, postal=True)


def at(day: str, clock: str = "10:00") -> datetime:
    return datetime.fromisoformat(f"{day}T{clock}").replace(tzinfo=BERLIN)


def collection(reach: Reachability = BY_EMAIL, policy=STANDARD) -> Collection:
    calendar = DebtorCalendar.for_policy(policy, timezone="Europe/Berlin", country="DE")
    return Collection("acme", "d1", policy, calendar, reach=reach)


def issue(c: Collection, number: str, amount: str, issued: str, due: str) -> None:
    c.invoice_issued(
        number=number,
        currency="EUR",
        amount=Decimal(amount),
        balance=Decimal(amount),
        issued_on=date.fromisoformat(issued),
        due_on=date.fromisoformat(due),
        at=at(issued),
    )


def pay(c: Collection, when: datetime, **balances: str) -> list[Effect]:
    return c.balance_changed(
        {n.replace("_", "-"): Decimal(b) for n, b in balances.items()},
        at=when,
        by="payment",
    )


def run_until(c: Collection, end: datetime, now: datetime) -> list[Effect]:
    """Advance from `now` to `end`, waking exactly when something falls due."""
    effects = c.advance(now)
    while (moment := c.next_moment(now)) is not None and moment <= end:
        now = moment
        effects += c.advance(now)
    return effects


def contacts(effects: list[Effect]) -> list[tuple[str, str, str]]:
    return [
        (e.due_at.isoformat(), e.template, str(e.amount_due))
        for e in effects
        if isinstance(e, ContactDue)
    ]


def test_the_spec_example_sends_the_reminder_the_day_after_the_due_date():
    c = collection()
    issue(c, "INV-1", "1200.00", "2026-01-05", "2026-01-19")

    effects = run_until(c, at("2026-01-25", "09:59"), at("2026-01-05"))

    assert contacts(effects) == [
        ("2026-01-16T09:00:00+01:00", "pre_due", "1200.00"),
        ("2026-01-20T09:00:00+01:00", "reminder", "1200.00"),
    ]


def test_the_ladder_climbs_in_order_with_its_days_counted_from_the_anchor():
    c = collection()
    issue(c, "INV-1", "1200.00", "2026-01-05", "2026-01-19")
    effects = run_until(c, at("2026-01-25", "09:59"), at("2026-01-05"))

    effects += pay(c, at("2026-01-25"), INV_1="1000.00")
    effects += run_until(c, at("2026-04-01"), at("2026-01-25"))

    assert contacts(effects)[1:] == [
        ("2026-01-20T09:00:00+01:00", "reminder", "1200.00"),
        ("2026-01-29T09:00:00+01:00", "second", "1000.00"),
        ("2026-02-09T09:00:00+01:00", "final", "1000.00"),
    ]
    escalations = [e for e in effects if isinstance(e, CaseEscalated)]
    assert [e.at.isoformat() for e in escalations] == ["2026-03-05T09:00:00+01:00"]
    assert c.case is not None and c.case.state is CaseState.ESCALATED


def test_the_final_demand_goes_by_email_and_letter_with_late_fees():
    c = collection()
    issue(c, "INV-1", "1200.00", "2026-01-05", "2026-01-19")

    effects = run_until(c, at("2026-02-10"), at("2026-01-05"))

    final = [e for e in effects if isinstance(e, ContactDue) and e.template == "final"]
    assert [(f.channels, f.late_fees) for f in final] == [(("email", "letter"), True)]


def test_two_demands_are_never_closer_than_the_minimum_gap():
    policy = STANDARD.model_copy(update={"min_gap_days": 14})
    c = collection(policy=policy)
    issue(c, "INV-1", "1200.00", "2026-01-05", "2026-01-19")

    effects = run_until(c, at("2026-02-28"), at("2026-01-05"))

    assert [(d, t) for d, t, _ in contacts(effects)] == [
        ("2026-01-16T09:00:00+01:00", "pre_due"),
        ("2026-01-20T09:00:00+01:00", "reminder"),
        ("2026-02-03T09:00:00+01:00", "second"),  # 01-20 + 14, not 01-29
        ("2026-02-17T09:00:00+01:00", "final"),  # 02-03 + 14, not 02-09
    ]


def test_paying_the_oldest_invoice_moves_the_anchor_and_the_next_stage_later():
    c = collection()
    issue(c, "INV-1", "100.00", "2026-01-05", "2026-01-19")
    issue(c, "INV-2", "300.00", "2026-01-07", "2026-01-21")
    run_until(c, at("2026-01-23"), at("2026-01-07"))

    pay(c, at("2026-01-23"), INV_1="0.00")
    effects = run_until(c, at("2026-02-03"), at("2026-01-23"))

    # A moves from 01-19 to 01-21: the second stage is due on 01-31, a
    # Saturday, so it goes on Monday rather than on 01-29.
    assert contacts(effects) == [("2026-02-02T09:00:00+01:00", "second", "300.00")]


def test_a_payment_that_leaves_only_invoices_not_yet_due_resolves_the_case():
    c = collection()
    issue(c, "INV-1", "100.00", "2026-01-05", "2026-01-19")
    issue(c, "INV-2", "300.00", "2026-01-12", "2026-01-26")
    run_until(c, at("2026-01-21"), at("2026-01-12"))

    resolved = pay(c, at("2026-01-21"), INV_1="0.00")
    effects = run_until(c, at("2026-01-28"), at("2026-01-21"))

    assert [type(e) for e in resolved] == [CaseResolved]
    assert [e.case_id for e in effects if isinstance(e, CaseOpened)] == ["d1#2"]
    assert contacts(effects)[-1] == ("2026-01-27T09:00:00+01:00", "reminder", "300.00")


def test_full_payment_resolves_the_case_cancels_what_was_pending_and_thanks():
    c = collection()
    issue(c, "INV-1", "1200.00", "2026-01-05", "2026-01-19")
    run_until(c, at("2026-01-21"), at("2026-01-05"))

    resolved = pay(c, at("2026-01-22", "15:00"), INV_1="0.00")
    effects = run_until(c, at("2026-04-01"), at("2026-01-22", "15:00"))

    assert [type(e) for e in resolved] == [CaseResolved]
    assert contacts(effects) == [("2026-01-22T15:00:00+01:00", "thank_you", "0")]
    assert c.case is None


def test_no_thanks_when_no_ladder_contact_was_sent():
    c = collection()
    issue(c, "INV-1", "1200.00", "2026-01-05", "2026-01-19")
    run_until(c, at("2026-01-20", "08:00"), at("2026-01-05"))

    pay(c, at("2026-01-20", "08:00"), INV_1="0.00")
    effects = run_until(c, at("2026-04-01"), at("2026-01-20", "08:00"))

    assert contacts(effects) == []


def test_a_later_overdue_balance_opens_a_new_case_at_the_bottom_of_the_ladder():
    c = collection()
    issue(c, "INV-1", "1200.00", "2026-01-05", "2026-01-19")
    run_until(c, at("2026-01-30"), at("2026-01-05"))
    pay(c, at("2026-01-30"), INV_1="0.00")
    run_until(c, at("2026-02-02"), at("2026-01-30"))

    issue(c, "INV-2", "80.00", "2026-02-02", "2026-02-16")
    effects = run_until(c, at("2026-02-18"), at("2026-02-02"))

    opened = [e.case_id for e in effects if isinstance(e, CaseOpened)]
    assert opened == ["d1#2"]
    assert contacts(effects)[-1] == ("2026-02-17T09:00:00+01:00", "reminder", "80.00")


def test_a_balance_at_or_below_the_minimum_opens_no_case():
    c = collection()
    issue(c, "INV-1", "5.00", "2026-01-05", "2026-01-19")

    effects = run_until(c, at("2026-04-01"), at("2026-01-05"))

    assert [e for e in effects if isinstance(e, CaseOpened)] == []
    assert [t for _, t, _ in contacts(effects)] == ["pre_due"]


@pytest.mark.parametrize(
    ("reach", "channels"),
    [
        (Reachability(email=True, postal=True), ("email", "letter")),
        (Reachability(email=False, postal=True), ("letter",)),
        # The letter stays, for the notifier to report it failed (no_address).
        (Reachability(email=True, postal=False), ("email", "letter")),
    ],
)
def test_email_falls_back_to_a_letter_and_only_one_letter_goes(reach, channels):
    c = collection(reach)
    issue(c, "INV-1", "1200.00", "2026-01-05", "2026-01-19")

    effects = run_until(c, at("2026-02-10"), at("2026-01-05"))

    final = [e for e in effects if isinstance(e, ContactDue) and e.template == "final"]
    assert final[0].channels == channels


def test_a_debtor_no_channel_can_reach_fails_the_stage_and_flags_the_case():
    c = collection(Reachability(email=False, postal=False))
    issue(c, "INV-1", "1200.00", "2026-01-05", "2026-01-19")

    effects = run_until(c, at("2026-01-30"), at("2026-01-05"))

    failed = [(e.template, e.reason) for e in effects if isinstance(e, ContactFailed)]
    assert failed[:2] == [("pre_due", "no_address"), ("reminder", "no_address")]
    assert c.case is not None and c.case.flagged and c.case.next_stage == 2


def test_nothing_is_sent_outside_the_window_or_on_a_holiday():
    c = collection()
    # Due on Maundy Thursday 2026: Good Friday and Easter Monday are holidays.
    issue(c, "INV-1", "1200.00", "2026-03-20", "2026-04-02")

    effects = run_until(c, at("2026-04-08"), at("2026-03-20"))

    assert contacts(effects)[-1][:2] == ("2026-04-07T09:00:00+02:00", "reminder")


def test_the_same_facts_give_the_same_contact_ids():
    def replay() -> list[str]:
        c = collection()
        issue(c, "INV-1", "1200.00", "2026-01-05", "2026-01-19")
        effects = run_until(c, at("2026-03-01"), at("2026-01-05"))
        return [e.contact_id for e in effects if isinstance(e, ContactDue)]

    first, second = replay(), replay()

    assert first == second and len(set(first)) == len(first)


def test_a_late_wake_up_sends_at_once_when_the_window_is_open():
    c = collection()
    issue(c, "INV-1", "1200.00", "2026-01-05", "2026-01-19")
    c.advance(at("2026-01-17"))

    effects = c.advance(at("2026-01-20", "11:30"))

    assert contacts(effects) == [("2026-01-20T11:30:00+01:00", "reminder", "1200.00")]
    assert c.next_moment(at("2026-01-20", "11:30")) == at("2026-01-29", "09:00")


def test_next_moment_is_none_once_nothing_is_left_to_do():
    c = collection()
    issue(c, "INV-1", "1200.00", "2026-01-05", "2026-01-19")
    run_until(c, at("2026-03-10"), at("2026-01-05"))

    assert c.next_moment(at("2026-03-10") + timedelta(days=1)) is None


@st.composite
def histories(draw: st.DrawFn) -> list[tuple[int, str, str]]:
    """Invoices and payments on random days: (day, kind, amount)."""
    events = []
    for _ in range(draw(st.integers(1, 6))):
        day = draw(st.integers(0, 90))
        kind = draw(st.sampled_from(["invoice", "invoice", "payment"]))
        amount = draw(st.sampled_from(["3.00", "40.00", "250.00", "1200.00"]))
        events.append((day, kind, amount))
    return sorted(events)


@settings(max_examples=150, deadline=None)
@given(histories())
def test_the_ladder_keeps_its_promises_whatever_happens(history):
    c = collection()
    start = at("2026-01-05", "10:00")
    now, effects, numbers = start, [], []
    for day, kind, amount in history:
        moment = start + timedelta(days=day)
        effects += run_until(c, moment, now)
        now = moment
        if kind == "invoice":
            number = f"INV-{len(numbers) + 1}"
            numbers.append(number)
            issued = c.calendar.local_date(moment)
            c.invoice_issued(
                number=number,
                currency="EUR",
                amount=Decimal(amount),
                balance=Decimal(amount),
                issued_on=issued,
                due_on=issued + timedelta(days=14),
                at=moment,
            )
        elif numbers:
            # Settle the oldest open invoice in full.
            open_ = [i for i in c.account.invoices.values() if i.is_open]
            if open_:
                oldest = min(open_, key=lambda i: (i.due_on, i.number))
                effects += pay(c, moment, **{oldest.number.replace("-", "_"): "0"})
    effects += run_until(c, start + timedelta(days=200), now)

    sent = [e for e in effects if isinstance(e, ContactDue)]
    assert len({e.contact_id for e in sent}) == len(sent)
    for contact in sent:
        local = contact.due_at.astimezone(BERLIN)
        assert c.calendar.is_allowed_day(local.date())
        assert time(9) <= local.time() < time(17)
    ladder = [s.stage for s in STANDARD.ladder if s.action is None]
    by_case: dict[str | None, list[ContactDue]] = {}
    for contact in sent:
        if contact.template in ladder:
            by_case.setdefault(contact.case_id, []).append(contact)
    for demands in by_case.values():
        assert [d.template for d in demands] == ladder[: len(demands)]
        days = [d.due_at.astimezone(BERLIN).date() for d in demands]
        assert all(b - a >= timedelta(days=5) for a, b in pairwise(days))
    resolved = {e.case_id: e.at for e in effects if isinstance(e, CaseResolved)}
    for contact in sent:
        if contact.case_id in resolved and contact.template != "thank_you":
            assert contact.due_at <= resolved[contact.case_id]


def test_a_disputed_invoice_is_acknowledged_and_left_out_of_the_demand():
    c = collection()
    issue(c, "INV-1", "1200.00", "2026-01-05", "2026-01-19")
    issue(c, "INV-2", "300.00", "2026-01-06", "2026-01-20")
    run_until(c, at("2026-01-22"), at("2026-01-06"))

    c.dispute_opened("INV-1", at=at("2026-01-22", "11:00"), reason="Not delivered")
    effects = run_until(c, at("2026-02-01"), at("2026-01-22", "11:00"))

    assert contacts(effects) == [
        ("2026-01-22T11:00:00+01:00", "dispute_ack", "1200.00"),
        # A is now INV-2's due date: 01-20 + 10 = 01-30.
        ("2026-01-30T09:00:00+01:00", "second", "300.00"),
    ]


def test_a_dispute_opened_again_before_its_acknowledgement_is_acknowledged_once():
    c = collection()
    issue(c, "INV-1", "1200.00", "2026-01-05", "2026-01-19")
    run_until(c, at("2026-01-22", "18:00"), at("2026-01-05"))
    c.dispute_opened("INV-1", at=at("2026-01-22", "18:00"), reason="Not delivered")
    c.dispute_resolved("INV-1", "rejected", at=at("2026-01-22", "18:10"))

    c.dispute_opened("INV-1", at=at("2026-01-22", "18:20"), reason="Damaged")
    effects = run_until(c, at("2026-01-24"), at("2026-01-22", "18:20"))

    acks = [e for e in effects if isinstance(e, ContactDue)]
    assert [(a.due_at.isoformat(), a.step) for a in acks] == [
        ("2026-01-23T09:00:00+01:00", "dispute_ack:INV-1:2")
    ]


def test_while_only_disputed_invoices_are_overdue_the_ladder_holds():
    c = collection()
    issue(c, "INV-1", "1200.00", "2026-01-05", "2026-01-19")
    run_until(c, at("2026-01-22"), at("2026-01-05"))

    c.dispute_opened("INV-1", at=at("2026-01-22"), reason="Not delivered")
    effects = run_until(c, at("2026-04-01"), at("2026-01-22"))

    assert [t for _, t, _ in contacts(effects)] == ["dispute_ack"]
    assert c.case is not None and c.case.state is CaseState.OPEN


def test_a_rejected_dispute_lets_the_ladder_go_on_where_it_stood():
    c = collection()
    issue(c, "INV-1", "1200.00", "2026-01-05", "2026-01-19")
    run_until(c, at("2026-01-22"), at("2026-01-05"))
    c.dispute_opened("INV-1", at=at("2026-01-22"), reason="Not delivered")
    run_until(c, at("2026-02-16"), at("2026-01-22"))

    c.dispute_resolved("INV-1", "rejected", at=at("2026-02-16"))
    effects = run_until(c, at("2026-02-25"), at("2026-02-16"))

    # The second stage was due on 01-29 and is sent at once, the third follows.
    assert contacts(effects) == [
        ("2026-02-16T10:00:00+01:00", "second", "1200.00"),
        ("2026-02-23T09:00:00+01:00", "final", "1200.00"),
    ]


def test_an_upheld_dispute_keeps_the_invoice_out_until_its_credit_note():
    c = collection()
    issue(c, "INV-1", "1200.00", "2026-01-05", "2026-01-19")
    run_until(c, at("2026-01-22"), at("2026-01-05"))
    c.dispute_opened("INV-1", at=at("2026-01-22"), reason="Not delivered")
    c.dispute_resolved("INV-1", "upheld", at=at("2026-01-26"))

    effects = run_until(c, at("2026-02-20"), at("2026-01-26"))
    effects += c.balance_changed(
        {"INV-1": Decimal(0)}, at=at("2026-02-20"), by="credit"
    )

    assert [t for _, t, _ in contacts(effects)] == ["dispute_ack"]
    assert [(type(e), e.by) for e in effects if isinstance(e, CaseResolved)] == [
        (CaseResolved, "credit")
    ]
    assert run_until(c, at("2026-04-01"), at("2026-02-20")) == []


def test_the_policy_can_leave_disputes_unacknowledged():
    policy = STANDARD.model_copy(
        update={"dispute": STANDARD.dispute.model_copy(update={"acknowledge": False})}
    )
    c = collection(policy=policy)
    issue(c, "INV-1", "1200.00", "2026-01-05", "2026-01-19")
    run_until(c, at("2026-01-22"), at("2026-01-05"))

    c.dispute_opened("INV-1", at=at("2026-01-22"), reason="Not delivered")

    assert contacts(run_until(c, at("2026-04-01"), at("2026-01-22"))) == []


def promised(c: Collection, amount: str, pay_by: str, when: datetime) -> None:
    c.promise_recorded(Decimal(amount), date.fromisoformat(pay_by), at=when)


def pay_money(c: Collection, when: datetime, amount: str, **balances: str) -> None:
    c.balance_changed(
        {n.replace("_", "-"): Decimal(b) for n, b in balances.items()},
        at=when,
        by="payment",
        paid=("EUR", Decimal(amount)),
    )


def test_a_promise_pauses_the_ladder_and_is_confirmed_at_the_next_slot():
    c = collection()
    issue(c, "INV-1", "1200.00", "2026-01-05", "2026-01-19")
    run_until(c, at("2026-01-26"), at("2026-01-05"))

    promised(c, "1200.00", "2026-02-10", at("2026-01-26", "18:00"))
    effects = run_until(c, at("2026-02-10"), at("2026-01-26", "18:00"))

    confirmation = [e for e in effects if isinstance(e, ContactDue)]
    assert [
        (e.due_at.isoformat(), e.template, str(e.amount_due), e.pay_by)
        for e in confirmation
    ] == [
        (
            "2026-01-27T09:00:00+01:00",
            "promise_confirmation",
            "1200.00",
            date(2026, 2, 10),
        )
    ]
    assert c.case is not None and c.case.state is CaseState.PAUSED


def test_a_kept_promise_resumes_the_ladder_with_the_gap_counted_from_the_check():
    c = collection()
    issue(c, "INV-1", "1200.00", "2026-01-05", "2026-01-19")
    run_until(c, at("2026-01-26"), at("2026-01-05"))
    promised(c, "200.00", "2026-02-10", at("2026-01-26", "18:00"))
    run_until(c, at("2026-02-09"), at("2026-01-26", "18:00"))

    pay_money(c, at("2026-02-09"), "200.00", INV_1="1000.00")
    effects = run_until(c, at("2026-02-20"), at("2026-02-09"))

    # Checked at slot(02-10 + 1 day); the second stage then waits 5 days.
    assert contacts(effects) == [("2026-02-16T09:00:00+01:00", "second", "1000.00")]


def test_a_broken_promise_is_said_at_the_check_and_counts_as_a_demand():
    c = collection()
    issue(c, "INV-1", "1200.00", "2026-01-05", "2026-01-19")
    run_until(c, at("2026-01-26"), at("2026-01-05"))
    promised(c, "1200.00", "2026-02-10", at("2026-01-26", "18:00"))
    run_until(c, at("2026-02-09"), at("2026-01-26", "18:00"))

    pay_money(c, at("2026-02-09"), "100.00", INV_1="1100.00")
    effects = run_until(c, at("2026-02-20"), at("2026-02-09"))

    assert contacts(effects) == [
        ("2026-02-11T09:00:00+01:00", "promise_broken", "1100.00"),
        ("2026-02-16T09:00:00+01:00", "second", "1100.00"),
    ]


def test_full_payment_during_a_promise_resolves_the_case_with_thanks():
    c = collection()
    issue(c, "INV-1", "1200.00", "2026-01-05", "2026-01-19")
    run_until(c, at("2026-01-26"), at("2026-01-05"))
    promised(c, "1200.00", "2026-02-10", at("2026-01-26", "18:00"))

    pay_money(c, at("2026-02-02"), "1200.00", INV_1="0.00")
    effects = run_until(c, at("2026-03-20"), at("2026-02-02"))

    assert [t for _, t, _ in contacts(effects)] == ["thank_you"]


def test_a_promise_needs_an_open_case():
    c = collection()
    issue(c, "INV-1", "1200.00", "2026-01-05", "2026-01-19")

    with pytest.raises(NoOpenCase):
        promised(c, "1200.00", "2026-02-10", at("2026-01-10"))


def agreed(c: Collection, when: datetime, *installments: tuple[str, str]) -> None:
    c.plan_agreed(
        [Installment(date.fromisoformat(d), Decimal(a)) for d, a in installments],
        at=when,
    )


def test_a_plan_reminds_each_installment_and_completes_when_all_are_met():
    c = collection()
    issue(c, "INV-1", "1200.00", "2026-01-05", "2026-01-19")
    run_until(c, at("2026-01-26"), at("2026-01-05"))
    agreed(c, at("2026-01-26"), ("2026-02-13", "600.00"), ("2026-03-13", "600.00"))

    effects = run_until(c, at("2026-02-12"), at("2026-01-26"))
    pay_money(c, at("2026-02-12"), "600.00", INV_1="600.00")
    effects += run_until(c, at("2026-03-12"), at("2026-02-12"))
    pay_money(c, at("2026-03-12"), "600.00", INV_1="0.00")
    effects += run_until(c, at("2026-04-30"), at("2026-03-12"))

    assert contacts(effects) == [
        ("2026-02-10T09:00:00+01:00", "installment_due", "600.00"),
        ("2026-03-10T09:00:00+01:00", "installment_due", "600.00"),
        ("2026-03-12T10:00:00+01:00", "thank_you", "0"),
    ]


def test_a_missed_installment_breaks_the_plan_and_the_ladder_resumes():
    c = collection()
    issue(c, "INV-1", "1200.00", "2026-01-05", "2026-01-19")
    run_until(c, at("2026-01-26"), at("2026-01-05"))
    agreed(c, at("2026-01-26"), ("2026-02-13", "600.00"), ("2026-03-13", "600.00"))

    effects = run_until(c, at("2026-02-12"), at("2026-01-26"))
    pay_money(c, at("2026-02-12"), "600.00", INV_1="600.00")
    effects += run_until(c, at("2026-03-25"), at("2026-02-12"))

    assert contacts(effects) == [
        ("2026-02-10T09:00:00+01:00", "installment_due", "600.00"),
        ("2026-03-10T09:00:00+01:00", "installment_due", "600.00"),
        # checked at slot(03-13 + 2 days) = Monday 03-16
        ("2026-03-16T09:00:00+01:00", "plan_broken", "600.00"),
        ("2026-03-23T09:00:00+01:00", "second", "600.00"),
    ]
    ended = [(e.plan, e.completed) for e in effects if isinstance(e, PlanEnded)]
    assert ended == [(1, False)]


def test_a_completed_plan_lets_the_ladder_resume_if_the_case_is_still_open():
    c = collection()
    issue(c, "INV-1", "1200.00", "2026-01-05", "2026-01-19")
    run_until(c, at("2026-01-26"), at("2026-01-05"))
    agreed(c, at("2026-01-26"), ("2026-02-13", "300.00"))
    run_until(c, at("2026-02-12"), at("2026-01-26"))

    pay_money(c, at("2026-02-12"), "300.00", INV_1="900.00")
    effects = run_until(c, at("2026-02-25"), at("2026-02-12"))

    assert [(e.plan, e.completed) for e in effects if isinstance(e, PlanEnded)] == [
        (1, True)
    ]
    # Checked at slot(02-15) = Monday 02-16; the gap counts from there.
    assert contacts(effects) == [("2026-02-23T09:00:00+01:00", "second", "900.00")]


def test_a_new_promise_replaces_an_active_plan():
    c = collection()
    issue(c, "INV-1", "1200.00", "2026-01-05", "2026-01-19")
    run_until(c, at("2026-01-26"), at("2026-01-05"))
    agreed(c, at("2026-01-26"), ("2026-02-13", "600.00"), ("2026-03-13", "600.00"))

    promised(c, "1200.00", "2026-02-20", at("2026-01-27"))

    assert c.case is not None and c.case.plan is None and c.case.promise is not None


def test_a_pause_holds_the_ladder_until_its_date():
    c = collection()
    issue(c, "INV-1", "1200.00", "2026-01-05", "2026-01-19")
    run_until(c, at("2026-01-26"), at("2026-01-05"))

    c.paused(date(2026, 3, 2), at=at("2026-01-26"))
    effects = run_until(c, at("2026-03-04"), at("2026-01-26"))

    assert contacts(effects) == [("2026-03-02T09:00:00+01:00", "second", "1200.00")]


def test_a_collector_can_escalate_at_once_and_the_ladder_stops():
    c = collection()
    issue(c, "INV-1", "1200.00", "2026-01-05", "2026-01-19")
    run_until(c, at("2026-01-26"), at("2026-01-05"))

    escalated = c.escalated(at=at("2026-01-26", "12:00"))
    effects = run_until(c, at("2026-06-01"), at("2026-01-26", "12:00"))

    assert [type(e) for e in escalated] == [CaseEscalated]
    assert contacts(effects) == []
    with pytest.raises(NoOpenCase):
        promised(c, "1200.00", "2026-02-20", at("2026-01-27"))


def test_a_plan_broken_during_a_pause_is_said_when_the_pause_ends():
    c = collection()
    issue(c, "INV-1", "1200.00", "2026-01-05", "2026-01-19")
    run_until(c, at("2026-01-26"), at("2026-01-05"))
    c.paused(date(2026, 3, 2), at=at("2026-01-26"))

    agreed(c, at("2026-01-27"), ("2026-02-13", "600.00"))
    effects = run_until(c, at("2026-03-10"), at("2026-01-27"))

    # Checked at slot(03-02), not at slot(02-15) within the pause.
    assert contacts(effects) == [
        ("2026-02-10T09:00:00+01:00", "installment_due", "600.00"),
        ("2026-03-02T09:00:00+01:00", "plan_broken", "1200.00"),
        ("2026-03-09T09:00:00+01:00", "second", "1200.00"),
    ]


def test_a_promise_kept_during_a_pause_leaves_the_ladder_held_until_its_date():
    c = collection()
    issue(c, "INV-1", "1200.00", "2026-01-05", "2026-01-19")
    run_until(c, at("2026-01-26"), at("2026-01-05"))
    c.paused(date(2026, 3, 2), at=at("2026-01-26"))
    promised(c, "200.00", "2026-02-10", at("2026-01-27"))
    run_until(c, at("2026-02-09"), at("2026-01-27"))

    pay_money(c, at("2026-02-09"), "200.00", INV_1="1000.00")
    effects = run_until(c, at("2026-03-10"), at("2026-02-09"))

    kept = [
        (e.at.isoformat(), e.kept) for e in effects if isinstance(e, PromiseChecked)
    ]
    assert kept == [("2026-03-02T09:00:00+01:00", True)]
    assert contacts(effects) == [("2026-03-09T09:00:00+01:00", "second", "1000.00")]


def test_a_payment_resolves_an_escalated_case_without_thanks():
    c = collection()
    issue(c, "INV-1", "1200.00", "2026-01-05", "2026-01-19")
    run_until(c, at("2026-03-06"), at("2026-01-05"))  # escalated on 5 March
    assert c.case is not None and c.case.state is CaseState.ESCALATED

    resolved = pay(c, at("2026-03-10", "11:00"), INV_1="0.00")
    effects = run_until(c, at("2026-06-01"), at("2026-03-10", "11:00"))

    # The agency has the case: the creditor's automated thanks stay unsent.
    assert [(type(e), e.thank_you) for e in resolved] == [(CaseResolved, False)]
    assert contacts(effects) == []


def test_a_case_escalated_during_a_pause_stays_escalated_when_the_pause_ends():
    c = collection()
    issue(c, "INV-1", "1200.00", "2026-01-05", "2026-01-19")
    run_until(c, at("2026-01-26"), at("2026-01-05"))
    c.paused(date(2026, 3, 2), at=at("2026-01-26"))

    c.escalated(at=at("2026-01-27"))
    effects = run_until(c, at("2026-06-01"), at("2026-01-27"))

    assert c.case is not None and c.case.state is CaseState.ESCALATED
    assert contacts(effects) == []


def test_a_dispute_of_an_escalated_case_is_not_acknowledged_automatically():
    c = collection()
    issue(c, "INV-1", "1200.00", "2026-01-05", "2026-01-19")
    run_until(c, at("2026-03-05", "09:00"), at("2026-01-05"))

    c.dispute_opened("INV-1", at=at("2026-03-05", "09:01"), reason="Not delivered")
    effects = run_until(c, at("2026-06-01"), at("2026-03-05", "09:01"))

    assert c.case is not None and c.case.state is CaseState.ESCALATED
    assert contacts(effects) == []


def test_an_acknowledgement_still_owed_when_a_collector_escalates_is_not_sent():
    c = collection()
    issue(c, "INV-1", "1200.00", "2026-01-05", "2026-01-19")
    issue(c, "INV-2", "300.00", "2026-01-06", "2026-01-20")
    run_until(c, at("2026-01-26", "18:00"), at("2026-01-06"))

    c.dispute_opened("INV-2", at=at("2026-01-26", "18:00"), reason="Goods damaged")
    c.escalated(at=at("2026-01-26", "18:30"))
    effects = run_until(c, at("2026-06-01"), at("2026-01-26", "18:30"))

    assert contacts(effects) == []


def test_a_bounced_address_sends_the_next_stage_by_letter():
    c = collection()
    issue(c, "INV-1", "1200.00", "2026-01-05", "2026-01-19")
    run_until(c, at("2026-01-26"), at("2026-01-05"))

    c.email_bounced()
    effects = run_until(c, at("2026-01-30"), at("2026-01-26"))

    assert [e.channels for e in effects if isinstance(e, ContactDue)] == [("letter",)]


def test_a_forecast_shows_what_would_happen_and_changes_nothing():
    c = collection()
    issue(c, "INV-1", "1200.00", "2026-01-05", "2026-01-19")
    c.advance(at("2026-01-10"))

    forecast = c.forecast(at("2026-01-10"), at("2026-02-10"))

    assert [(d, t) for d, t, _ in contacts(forecast)] == [
        ("2026-01-16T09:00:00+01:00", "pre_due"),
        ("2026-01-20T09:00:00+01:00", "reminder"),
        ("2026-01-29T09:00:00+01:00", "second"),
        ("2026-02-09T09:00:00+01:00", "final"),
    ]
    assert c.case is None and c.pre_due_sent == set()
    assert c.next_moment(at("2026-01-10")) == at("2026-01-16", "09:00")


def test_the_case_keeps_every_commitment_and_dispute_with_how_it_ended():
    c = collection()
    issue(c, "INV-1", "1200.00", "2026-01-05", "2026-01-19")
    issue(c, "INV-2", "300.00", "2026-01-06", "2026-01-20")
    run_until(c, at("2026-01-26"), at("2026-01-06"))
    promised(c, "1200.00", "2026-02-10", at("2026-01-26"))
    agreed(c, at("2026-01-27"), ("2026-02-13", "600.00"))
    c.dispute_opened("INV-2", at=at("2026-01-27"), reason="Goods damaged")

    c.dispute_resolved("INV-2", "rejected", at=at("2026-02-02"))
    run_until(c, at("2026-02-20"), at("2026-01-27"))

    assert c.case is not None
    assert [(m.kind, m.number, m.outcome) for m in c.case.commitments] == [
        ("promise", 1, "replaced"),
        ("plan", 1, "broken"),
    ]
    assert [(d.invoice, d.reason, d.resolution) for d in c.dispute_log] == [
        ("INV-2", "Goods damaged", "rejected")
    ]


def test_the_spec_scenario_runs_its_whole_course():
    # SPEC §7: an invoice, a part payment on day 20, a promise on day 25.
    c = collection()
    issue(c, "INV-1", "1200.00", "2026-01-05", "2026-01-19")
    effects = run_until(c, at("2026-01-25"), at("2026-01-05"))
    pay_money(c, at("2026-01-25"), "200.00", INV_1="1000.00")
    effects += run_until(c, at("2026-01-30"), at("2026-01-25"))
    promised(c, "1000.00", "2026-02-10", at("2026-01-30"))

    effects += run_until(c, at("2026-05-05"), at("2026-01-30"))

    assert contacts(effects) == [
        ("2026-01-16T09:00:00+01:00", "pre_due", "1200.00"),
        ("2026-01-20T09:00:00+01:00", "reminder", "1200.00"),
        ("2026-01-29T09:00:00+01:00", "second", "1000.00"),
        ("2026-01-30T10:00:00+01:00", "promise_confirmation", "1000.00"),
        ("2026-02-11T09:00:00+01:00", "promise_broken", "1000.00"),
        ("2026-02-16T09:00:00+01:00", "final", "1000.00"),
    ]
    escalations = [e.at.isoformat() for e in effects if isinstance(e, CaseEscalated)]
    assert escalations == ["2026-03-05T09:00:00+01:00"]


def test_a_payment_at_the_very_moment_of_a_slot_is_counted_first():
    c = collection()
    issue(c, "INV-1", "1200.00", "2026-01-05", "2026-01-19")
    run_until(c, at("2026-01-20", "08:59"), at("2026-01-05"))

    pay(c, at("2026-01-20", "09:00"), INV_1="0.00")
    effects = c.advance(at("2026-01-20", "09:00"))

    assert contacts(effects) == []


@pytest.mark.parametrize("by", ["credit", "write_off"])
def test_a_case_a_credit_note_or_a_write_off_resolves_gets_no_thanks(by):
    c = collection()
    issue(c, "INV-1", "1200.00", "2026-01-05", "2026-01-19")
    run_until(c, at("2026-01-21"), at("2026-01-05"))

    if by == "credit":
        resolved = c.balance_changed(
            {"INV-1": Decimal(0)}, at=at("2026-01-21"), by="credit"
        )
    else:
        resolved = c.invoice_written_off("INV-1", at=at("2026-01-21"))
    effects = run_until(c, at("2026-03-01"), at("2026-01-21"))

    assert [
        (type(e), e.thank_you) for e in resolved if isinstance(e, CaseResolved)
    ] == [(CaseResolved, False)]
    assert contacts(effects) == []


def test_a_pre_due_reminder_goes_whatever_the_case_and_is_not_a_demand():
    c = collection()
    issue(c, "INV-1", "1200.00", "2026-01-05", "2026-01-19")
    issue(c, "INV-2", "300.00", "2026-01-20", "2026-02-02")

    effects = run_until(c, at("2026-02-03"), at("2026-01-20"))

    # INV-2's courtesy reminder on 01-30 does not push the second stage (01-29
    # for INV-1) nor the final one, due 02-09 at the earliest.
    assert [(d, t) for d, t, _ in contacts(effects)] == [
        ("2026-01-20T10:00:00+01:00", "reminder"),
        ("2026-01-29T09:00:00+01:00", "second"),
        ("2026-01-30T09:00:00+01:00", "pre_due"),
    ]
