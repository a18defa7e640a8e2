"""What the demo prints about a timeline: counts per template and channel,
cases, and the money recovered while a case was open."""

from datetime import datetime
from decimal import Decimal
from pathlib import Path

from shared.devstack.summary import Payment, case_spans, read_timeline, summarize

TIMELINE = Path(__file__).parents[1] / "data" / "timeline" / "summary.jsonl"


def moment(text: str) -> datetime:
    return datetime.fromisoformat(text)


def payment(debtor: str, at: str, amount: str) -> Payment:
    return Payment(debtor, moment(at), Decimal(amount), "EUR")


def test_contacts_are_counted_per_template_and_channel_and_failures_per_reason():
    summary = summarize(read_timeline(TIMELINE), [])

    assert summary.templates() == ["pre_due", "reminder", "thank_you"]
    assert summary.contacts[("reminder", "email")] == 2
    assert summary.contacts[("reminder", "letter")] == 1
    assert summary.failed == {("bounced", "email"): 1}
    assert summary.debtors_contacted == 3


def test_cases_resolved_escalated_and_still_open_are_counted():
    summary = summarize(read_timeline(TIMELINE), [])

    assert summary.resolved == 3
    assert summary.escalated == 1
    assert summary.open_at_end == 1
    assert summary.with_agency_at_end == 0


def test_a_case_runs_from_its_first_demand_to_its_resolution():
    spans = case_spans(read_timeline(TIMELINE))

    assert [(s.debtor, s.start.date().isoformat()) for s in spans] == [
        ("d1", "2026-01-20"),
        ("d2", "2026-01-20"),
        ("d4", "2026-04-20"),
    ]
    assert spans[1].escalated == moment("2026-03-05T09:00:00+01:00")
    assert spans[2].end is None


def test_recovered_is_what_was_paid_while_a_case_was_open():
    payments = [
        payment("d1", "2026-01-15T10:00:00+01:00", "100.00"),  # before its demand
        payment("d1", "2026-01-22T10:00:00+01:00", "1100.00"),  # resolves the case
        payment("d3", "2026-01-24T10:00:00+01:00", "300.00"),  # no demand ever
        payment("d4", "2026-04-24T10:00:00+01:00", "40.00"),  # case still open
        payment("d5", "2026-02-01T10:00:00+01:00", "999.00"),  # a good payer
    ]

    summary = summarize(read_timeline(TIMELINE), payments)

    assert summary.recovered == {"EUR": Decimal("1140.00")}


def test_money_paid_after_the_hand_off_is_counted_apart():
    payments = [
        payment("d2", "2026-02-10T10:00:00+01:00", "200.00"),
        payment("d2", "2026-04-15T10:00:00+01:00", "300.00"),
    ]

    summary = summarize(read_timeline(TIMELINE), payments)

    assert summary.recovered == {"EUR": Decimal("200.00")}
    assert summary.recovered_after_escalation == {"EUR": Decimal("300.00")}
