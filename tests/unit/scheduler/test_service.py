"""The scheduler's service on SQLite: facts in, timers fired, the outbox written."""

from datetime import datetime, timedelta

import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from services.scheduler.adapters.tables import CollectionRow
from services.scheduler.service import Scheduler
from services.scheduler.service.scheduler import utc
from shared.clock import VirtualClock
from shared.events import Envelope
from shared.events.ids import contact_id
from tests.support.scheduler import (
    at,
    collection_row,
    contacts,
    creditor_updated,
    debtor_upserted,
    fact,
    invoice_issued,
    outbox,
    payment_received,
)

REMINDER_SLOT = at("2026-01-20", "09:00")
"""Invoice INV-1 falls due on Monday 19 January; the reminder goes a day later."""


@pytest.fixture
def scheduler(engine: Engine, clock: VirtualClock) -> Scheduler:
    return Scheduler(engine, clock)


def known_debtor_with_invoice(scheduler: Scheduler, clock: VirtualClock) -> None:
    scheduler.follow_creditor(creditor_updated(clock.now()))
    scheduler.follow_ledger(debtor_upserted(clock.now()))
    clock.advance_to(at("2026-01-05", "10:00"))
    scheduler.follow_ledger(invoice_issued(clock.now()))


def test_an_unpaid_invoice_brings_its_reminder_at_the_slot(
    scheduler: Scheduler, clock: VirtualClock, engine: Engine
) -> None:
    known_debtor_with_invoice(scheduler, clock)

    fired = scheduler.fire_due(REMINDER_SLOT)

    reminder = contacts(engine)[-1]
    assert fired == 1
    assert reminder["template"] == "reminder"
    assert reminder["contact_id"] == contact_id("acme", "d1", "d1#1", "ladder:1")
    assert reminder["amount_due"] == "1200.00"
    assert reminder["currency"] == "EUR"
    assert reminder["language"] == "en"
    assert reminder["channels"] == ["email"]
    assert [i["number"] for i in reminder["invoices"]] == ["INV-1"]


def test_the_timer_is_the_moment_the_engine_names(
    scheduler: Scheduler, clock: VirtualClock, engine: Engine
) -> None:
    known_debtor_with_invoice(scheduler, clock)

    row = collection_row(engine)

    assert row is not None and row.next_moment is not None
    # The pre-due reminder, three days before the due date, comes first.
    assert row.next_moment.replace(tzinfo=None) == at("2026-01-16", "08:00").replace(
        tzinfo=None
    )


def test_nothing_fires_before_its_moment(
    scheduler: Scheduler, clock: VirtualClock, engine: Engine
) -> None:
    known_debtor_with_invoice(scheduler, clock)

    fired = scheduler.fire_due(at("2026-01-16", "08:59"))

    assert fired == 0
    assert contacts(engine) == []


def test_each_moment_fires_its_contacts_once(
    scheduler: Scheduler, clock: VirtualClock, engine: Engine
) -> None:
    known_debtor_with_invoice(scheduler, clock)

    scheduler.fire_due(at("2026-01-16", "09:00"))
    scheduler.fire_due(REMINDER_SLOT)
    again = scheduler.fire_due(REMINDER_SLOT)

    assert again == 0
    assert [c["template"] for c in contacts(engine)] == ["pre_due", "reminder"]


def test_a_replayed_envelope_changes_nothing(
    scheduler: Scheduler, clock: VirtualClock, engine: Engine
) -> None:
    scheduler.follow_creditor(creditor_updated(clock.now()))
    invoice = invoice_issued(clock.now())
    scheduler.follow_ledger(invoice)
    before = collection_row(engine)

    applied = scheduler.follow_ledger(invoice)

    after = collection_row(engine)
    assert applied is False
    assert before is not None and after is not None
    assert (after.state, after.version) == (before.state, before.version)


def test_events_before_their_creditor_are_held_then_applied_in_order(
    scheduler: Scheduler, clock: VirtualClock, engine: Engine
) -> None:
    scheduler.follow_ledger(debtor_upserted(clock.now()))
    scheduler.follow_ledger(invoice_issued(clock.now()))
    held = collection_row(engine)

    scheduler.follow_creditor(creditor_updated(clock.now()))

    released = collection_row(engine)
    assert held is None
    assert released is not None and released.debtor is not None
    assert list(released.state["account"]["invoices"]) == ["INV-1"]
    scheduler.fire_due(REMINDER_SLOT)
    assert contacts(engine)[-1]["language"] == "en"


def test_a_creditor_without_a_policy_keeps_its_events_held(
    scheduler: Scheduler, clock: VirtualClock, engine: Engine
) -> None:
    scheduler.follow_creditor(creditor_updated(clock.now(), policy=None))

    scheduler.follow_ledger(invoice_issued(clock.now()))

    assert collection_row(engine) is None


def test_a_payment_two_seconds_before_the_slot_prevents_the_contact(
    scheduler: Scheduler, clock: VirtualClock, engine: Engine
) -> None:
    known_debtor_with_invoice(scheduler, clock)
    scheduler.fire_due(at("2026-01-20", "00:00"))
    clock.advance_to(REMINDER_SLOT - timedelta(seconds=2))
    scheduler.follow_ledger(payment_received(clock.now()))

    scheduler.fire_due(REMINDER_SLOT)

    assert "reminder" not in [c["template"] for c in contacts(engine)]
    resolved = [e.data for e in outbox(engine) if e.type == "case.resolved"]
    assert resolved == [
        {
            "case_id": "d1#1",
            "cause": "payment",
            "currency": "EUR",
            "overdue_balance": "0.00",
            "thank_you": False,
        }
    ]


def test_payment_after_a_reminder_resolves_the_case_and_thanks_the_debtor(
    scheduler: Scheduler, clock: VirtualClock, engine: Engine
) -> None:
    known_debtor_with_invoice(scheduler, clock)
    scheduler.fire_due(REMINDER_SLOT)
    clock.advance_to(at("2026-01-22", "11:00"))

    scheduler.follow_ledger(payment_received(clock.now()))
    scheduler.fire_due(at("2026-03-31"))

    templates = [c["template"] for c in contacts(engine)]
    assert templates == ["reminder", "thank_you"]
    row = collection_row(engine)
    assert row is not None and row.next_moment is None


def test_a_case_opening_is_announced_with_its_overdue_invoices(
    scheduler: Scheduler, clock: VirtualClock, engine: Engine
) -> None:
    known_debtor_with_invoice(scheduler, clock)

    scheduler.fire_due(REMINDER_SLOT)

    opened = [e.data for e in outbox(engine) if e.type == "case.opened"]
    assert opened == [
        {
            "case_id": "d1#1",
            "currency": "EUR",
            "overdue_balance": "1200.00",
            "anchor_on": "2026-01-19",
            "invoices": ["INV-1"],
        }
    ]


def test_a_debtor_with_no_address_gets_a_letter_the_notifier_will_fail(
    scheduler: Scheduler, clock: VirtualClock, engine: Engine
) -> None:
    scheduler.follow_creditor(creditor_updated(clock.now()))
    scheduler.follow_ledger(debtor_upserted(clock.now(), email=None, address=None))
    scheduler.follow_ledger(invoice_issued(clock.now()))

    scheduler.fire_due(REMINDER_SLOT)

    reminder = contacts(engine)[-1]
    assert reminder["template"] == "reminder"
    assert reminder["channels"] == ["letter"]
    assert reminder["amount_due"] == "1200.00"
    row = collection_row(engine)
    assert row is not None and row.state["cases"][0]["flagged"] is True


def test_an_exhausted_ladder_escalates_with_the_case_file(
    scheduler: Scheduler, clock: VirtualClock, engine: Engine
) -> None:
    known_debtor_with_invoice(scheduler, clock)

    for day in range(0, 80):
        scheduler.fire_due(at("2026-01-20", "09:00") + timedelta(days=day))

    escalated = [e.data for e in outbox(engine) if e.type == "case.escalated"]
    assert len(escalated) == 1
    case_file = escalated[0]["case_file"]
    assert escalated[0]["stage"] == "agency"
    assert case_file["debtor"]["id"] == "d1"
    assert case_file["overdue_balance"] == "1200.00"
    assert [c["template"] for c in case_file["contacts"]] == [
        "reminder",
        "second",
        "final",
    ]
    assert [i["status"] for i in case_file["invoices"]] == ["open"]


def test_a_new_policy_sets_every_timer_of_the_creditor_again(
    scheduler: Scheduler, clock: VirtualClock, engine: Engine
) -> None:
    known_debtor_with_invoice(scheduler, clock)
    clock.advance_to(at("2026-01-06"))

    scheduler.follow_creditor(creditor_updated(clock.now(), timezone="Europe/London"))

    row = collection_row(engine)
    assert row is not None and row.next_moment is not None
    assert utc(row.next_moment) == utc(clock.now())


def outcome_of(contact: dict, kind: str, moment: datetime, **extra: str) -> Envelope:
    data = {
        "contact_id": contact["contact_id"],
        "case_id": contact["case_id"],
        "step": contact["step"],
        "template": contact["template"],
        "language": contact["language"],
        "currency": contact["currency"],
        "amount_due": contact["amount_due"],
    } | extra
    return fact(kind, data, moment)


def test_a_bounced_reminder_sends_the_next_stage_by_letter_and_notes_it(
    scheduler: Scheduler, clock: VirtualClock, engine: Engine
) -> None:
    known_debtor_with_invoice(scheduler, clock)
    scheduler.fire_due(REMINDER_SLOT)
    reminder = contacts(engine)[-1]
    clock.advance_to(at("2026-01-20", "09:05"))

    scheduler.follow_notifier(outcome_of(reminder, "contact.bounced", clock.now()))
    scheduler.fire_due(at("2026-01-29", "09:00"))

    second = contacts(engine)[-1]
    assert (second["template"], second["channels"]) == ("second", ["letter"])
    row = collection_row(engine)
    assert row is not None
    outcomes = {c["contact_id"]: c["outcome"] for c in row.contacts}
    assert outcomes[reminder["contact_id"]] == "bounced"


def test_the_same_details_again_leave_a_bounced_address_unused(
    scheduler: Scheduler, clock: VirtualClock, engine: Engine
) -> None:
    known_debtor_with_invoice(scheduler, clock)
    scheduler.fire_due(REMINDER_SLOT)
    reminder = contacts(engine)[-1]
    clock.advance_to(at("2026-01-20", "09:05"))
    scheduler.follow_notifier(outcome_of(reminder, "contact.bounced", clock.now()))

    scheduler.follow_ledger(debtor_upserted(clock.now(), language="de"))
    scheduler.fire_due(at("2026-01-29", "09:00"))

    second = contacts(engine)[-1]
    assert (second["template"], second["channels"]) == ("second", ["letter"])


def test_a_new_address_after_a_bounce_is_emailed_again(
    scheduler: Scheduler, clock: VirtualClock, engine: Engine
) -> None:
    known_debtor_with_invoice(scheduler, clock)
    scheduler.fire_due(REMINDER_SLOT)
    reminder = contacts(engine)[-1]
    clock.advance_to(at("2026-01-20", "09:05"))
    scheduler.follow_notifier(outcome_of(reminder, "contact.bounced", clock.now()))

    scheduler.follow_ledger(debtor_upserted(clock.now(), email="billing@beta.example"))
    scheduler.fire_due(at("2026-01-29", "09:00"))

    second = contacts(engine)[-1]
    assert (second["template"], second["channels"]) == ("second", ["email"])


def test_an_address_no_longer_opted_out_is_emailed_again(
    scheduler: Scheduler, clock: VirtualClock, engine: Engine
) -> None:
    known_debtor_with_invoice(scheduler, clock)
    scheduler.follow_ledger(debtor_upserted(clock.now(), email_opt_out=True))
    scheduler.fire_due(REMINDER_SLOT)
    by_letter = contacts(engine)[-1]["channels"]

    scheduler.follow_ledger(debtor_upserted(clock.now(), email_opt_out=False))
    scheduler.fire_due(at("2026-01-29", "09:00"))

    assert by_letter == ["letter"]
    assert contacts(engine)[-1]["channels"] == ["email"]


def test_a_contact_that_failed_without_a_fallback_flags_its_case(
    scheduler: Scheduler, clock: VirtualClock, engine: Engine
) -> None:
    known_debtor_with_invoice(scheduler, clock)
    scheduler.fire_due(REMINDER_SLOT)
    reminder = contacts(engine)[-1]
    failed = outcome_of(
        reminder,
        "contact.failed",
        at("2026-01-20", "09:05"),
        channel="email",
        reason="retries_exhausted",
    )

    applied = scheduler.follow_notifier(failed)
    again = scheduler.follow_notifier(failed)

    row = collection_row(engine)
    assert (applied, again) == (True, False)
    assert row is not None and row.state["cases"][0]["flagged"] is True


def test_a_poll_of_events_is_applied_in_order_and_its_repeats_are_recognised(
    scheduler: Scheduler, clock: VirtualClock, engine: Engine
) -> None:
    scheduler.follow_creditor(creditor_updated(clock.now()))
    first = invoice_issued(clock.now(), debtor="d1")
    poll = [
        debtor_upserted(clock.now(), debtor="d1"),
        first,
        debtor_upserted(clock.now(), debtor="d2"),
        invoice_issued(clock.now(), debtor="d2", number="INV-9", amount="80.00"),
        first,
    ]

    fresh = scheduler.follow_ledger_many(poll)
    again = scheduler.follow_ledger_many(poll[:2])
    scheduler.fire_due(REMINDER_SLOT)

    assert fresh == [True, True, True, True, False]
    assert again == [False, False]
    reminders = [(c["case_id"], c["amount_due"]) for c in contacts(engine)]
    assert ("d1#1", "1200.00") in reminders and ("d2#1", "80.00") in reminders


def test_a_contact_decided_again_is_not_enqueued_twice_and_its_timer_moves_on(
    scheduler: Scheduler, clock: VirtualClock, engine: Engine
) -> None:
    known_debtor_with_invoice(scheduler, clock)
    scheduler.fire_due(at("2026-01-16", "09:00"))
    before = collection_row(engine)
    assert before is not None
    scheduler.fire_due(REMINDER_SLOT)
    with Session(engine) as session:  # as if the reminder's state were lost
        row = session.get(CollectionRow, ("acme", "d1"))
        assert row is not None
        row.state, row.contacts = before.state, before.contacts
        row.next_moment = before.next_moment
        session.add(row)
        session.commit()

    fired = scheduler.fire_due(REMINDER_SLOT)

    after = collection_row(engine)
    assert fired == 1
    assert [c["template"] for c in contacts(engine)] == ["pre_due", "reminder"]
    assert after is not None and after.next_moment is not None
    assert utc(after.next_moment) > utc(REMINDER_SLOT)


def test_a_payment_in_the_same_poll_as_its_overdue_invoice_leaves_no_contact(
    scheduler: Scheduler, clock: VirtualClock, engine: Engine
) -> None:
    scheduler.follow_creditor(creditor_updated(clock.now()))
    clock.advance_to(REMINDER_SLOT)
    poll = [
        debtor_upserted(clock.now()),
        invoice_issued(clock.now()),
        payment_received(clock.now()),
    ]

    scheduler.follow_ledger_many(poll)

    assert contacts(engine) == []
    assert [e.type for e in outbox(engine)] == []


def test_an_overdue_invoice_alone_in_a_poll_brings_its_reminder_at_once(
    scheduler: Scheduler, clock: VirtualClock, engine: Engine
) -> None:
    scheduler.follow_creditor(creditor_updated(clock.now()))
    clock.advance_to(REMINDER_SLOT)

    scheduler.follow_ledger_many(
        [debtor_upserted(clock.now()), invoice_issued(clock.now())]
    )

    assert [c["template"] for c in contacts(engine)] == ["reminder"]
