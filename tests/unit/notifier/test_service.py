"""The notifier's service on SQLite with fakes: once, never after payment, fallbacks."""

import logging
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from sqlalchemy import Engine
from sqlmodel import Session

from services.notifier.adapters.tables import ContactRow, DeliveryRow
from services.notifier.service import Notifier
from shared.clock import Clock, SharedClock, VirtualClock, write_offset
from tests.support.notifier import (
    FakeMailer,
    FakeTemplates,
    contact_due,
    contact_row,
    outcomes,
    sent_log,
)
from tests.support.scheduler import (
    at,
    creditor_updated,
    debtor_upserted,
    invoice_issued,
    payment_received,
)


def known_debtor(notifier: Notifier, **details: object) -> None:
    moment = at("2026-01-05", "10:00")
    notifier.follow_creditor(creditor_updated(moment))
    notifier.follow_ledger_many(*_parsed([debtor_upserted(moment, **details)]))
    notifier.follow_ledger_many(*_parsed([invoice_issued(moment)]))


def _parsed(envelopes):  # type: ignore[no-untyped-def]
    from shared.events import parse_payload

    return envelopes, [parse_payload(e) for e in envelopes]


async def deliver(notifier: Notifier, *envelopes) -> None:  # type: ignore[no-untyped-def]
    await notifier.try_all(notifier.receive(list(envelopes)))


def kinds(engine: Engine) -> list[tuple[str, str | None]]:
    return [(e.type, e.data.get("channel")) for e in outcomes(engine)]


async def test_a_due_email_is_sent_and_reported_with_its_message_id(
    notifier: Notifier, mailer: FakeMailer, notifier_engine: Engine, clock: VirtualClock
) -> None:
    known_debtor(notifier)
    due = contact_due(clock.now())

    await deliver(notifier, due)

    assert len(mailer.sent) == 1
    contact_id = due.data["contact_id"]
    assert mailer.sent[0]["Message-ID"] == f"<{contact_id}@acme.example>"
    [sent] = outcomes(notifier_engine)
    assert sent.type == "contact.sent"
    assert sent.data["channel"] == "email"
    assert sent.data["message_id"] == f"<{contact_id}@acme.example>"
    assert sent.data["invoices"] == ["INV-1"]
    assert contact_row(notifier_engine, contact_id).done_at is not None


async def test_a_redelivered_contact_is_acknowledged_and_not_sent_again(
    notifier: Notifier, mailer: FakeMailer, notifier_engine: Engine, clock: VirtualClock
) -> None:
    known_debtor(notifier)
    due = contact_due(clock.now())
    await deliver(notifier, due)

    await deliver(notifier, due)
    await deliver(notifier, due.model_copy(update={"id": due.id.__class__(int=1)}))

    assert len(mailer.sent) == 1
    assert kinds(notifier_engine) == [("contact.sent", "email")]


async def test_a_send_cut_short_by_a_crash_is_sent_again_with_the_same_message_id(
    notifier: Notifier,
    mailer: FakeMailer,
    notifier_engine: Engine,
    clock: VirtualClock,
    caplog: object,
) -> None:
    known_debtor(notifier)
    due = contact_due(clock.now())
    contact_id = due.data["contact_id"]
    notifier.receive([due])
    with Session(notifier_engine) as session, session.begin():
        # What a crash after handing the email to SMTP leaves behind.
        session.add(
            DeliveryRow(
                contact_id=contact_id,
                channel="email",
                state="sending",
                message_id=f"<{contact_id}@acme.example>",
                updated_at=clock.now(),
            )
        )

    with caplog.at_level(logging.WARNING):  # type: ignore[attr-defined]
        await notifier.attempt(contact_id)

    assert [m["Message-ID"] for m in mailer.sent] == [f"<{contact_id}@acme.example>"]
    assert "earlier send was not confirmed" in caplog.text  # type: ignore[attr-defined]
    assert sent_log(notifier_engine)[(contact_id, "email")] == "sent"


async def test_a_demand_whose_invoices_were_paid_is_skipped(
    notifier: Notifier, mailer: FakeMailer, notifier_engine: Engine, clock: VirtualClock
) -> None:
    known_debtor(notifier)
    notifier.follow_ledger_many(*_parsed([payment_received(at("2026-01-19"))]))

    await deliver(notifier, contact_due(clock.now()))

    assert mailer.sent == []
    [skipped] = outcomes(notifier_engine)
    assert skipped.type == "contact.skipped"
    assert skipped.data["reason"] == "paid"


async def test_a_demand_paid_only_in_part_is_still_sent(
    notifier: Notifier, mailer: FakeMailer, clock: VirtualClock
) -> None:
    known_debtor(notifier)
    partial = payment_received(
        at("2026-01-19"), amount="200.00", balance_after="1000.00"
    )
    notifier.follow_ledger_many(*_parsed([partial]))

    await deliver(notifier, contact_due(clock.now()))

    assert len(mailer.sent) == 1


async def test_a_thank_you_goes_out_although_everything_is_paid(
    notifier: Notifier, mailer: FakeMailer, clock: VirtualClock
) -> None:
    known_debtor(notifier)
    notifier.follow_ledger_many(*_parsed([payment_received(at("2026-01-19"))]))

    await deliver(
        notifier,
        contact_due(clock.now(), template="thank_you", step="thanks", invoices=()),
    )

    assert len(mailer.sent) == 1


async def test_a_refused_email_is_reported_bounced_and_followed_by_a_letter(
    notifier: Notifier, mailer: FakeMailer, notifier_engine: Engine, clock: VirtualClock
) -> None:
    known_debtor(notifier)
    mailer.replies = ["permanent"]

    await deliver(notifier, contact_due(clock.now()))

    assert kinds(notifier_engine) == [
        ("contact.bounced", "email"),
        ("contact.sent", "letter"),
    ]
    assert outcomes(notifier_engine)[1].data["batch"] == "acme/2026-01-20"


async def test_a_refused_email_of_a_stage_with_a_letter_sends_one_letter_only(
    notifier: Notifier, mailer: FakeMailer, notifier_engine: Engine, clock: VirtualClock
) -> None:
    known_debtor(notifier)
    mailer.replies = ["permanent"]

    await deliver(
        notifier,
        contact_due(
            clock.now(), template="final", step="ladder:3", channels=("email", "letter")
        ),
    )

    assert kinds(notifier_engine) == [
        ("contact.bounced", "email"),
        ("contact.sent", "letter"),
    ]


async def test_a_letter_without_a_postal_address_fails_with_no_address(
    notifier: Notifier, notifier_engine: Engine, clock: VirtualClock
) -> None:
    known_debtor(notifier, address=None)

    await deliver(notifier, contact_due(clock.now(), channels=("letter",)))

    [failed] = outcomes(notifier_engine)
    assert failed.type == "contact.failed"
    assert failed.data["reason"] == "no_address"
    assert failed.data["fallback"] is None


async def test_a_debtor_who_opted_out_of_email_since_gets_a_letter(
    notifier: Notifier, mailer: FakeMailer, notifier_engine: Engine, clock: VirtualClock
) -> None:
    known_debtor(notifier, email_opt_out=True)

    await deliver(notifier, contact_due(clock.now()))

    assert mailer.sent == []
    assert kinds(notifier_engine) == [("contact.sent", "letter")]


async def test_a_deferred_email_is_tried_again_after_a_pause(
    notifier: Notifier, mailer: FakeMailer, notifier_engine: Engine, clock: VirtualClock
) -> None:
    known_debtor(notifier)
    mailer.replies = ["transient"]
    due = contact_due(clock.now())

    await deliver(notifier, due)
    assert mailer.sent == []
    assert await notifier.retry_due() == 0
    clock.advance(timedelta(seconds=6))
    assert await notifier.retry_due() == 1

    assert len(mailer.sent) == 1
    assert kinds(notifier_engine) == [("contact.sent", "email")]
    assert contact_row(notifier_engine, due.data["contact_id"]).attempts == 2


async def test_an_email_deferred_at_every_try_fails_and_a_letter_follows(
    notifier: Notifier, mailer: FakeMailer, notifier_engine: Engine, clock: VirtualClock
) -> None:
    known_debtor(notifier)
    mailer.replies = ["transient"] * 3

    await deliver(notifier, contact_due(clock.now()))
    for _ in range(2):
        clock.advance(timedelta(minutes=20))
        await notifier.retry_due()

    assert kinds(notifier_engine) == [
        ("contact.failed", "email"),
        ("contact.sent", "letter"),
    ]
    assert outcomes(notifier_engine)[0].data["reason"] == "retries_exhausted"


async def test_a_contact_of_an_unknown_creditor_waits_for_its_profile(
    notifier: Notifier, mailer: FakeMailer, notifier_engine: Engine, clock: VirtualClock
) -> None:
    due = contact_due(clock.now())
    await deliver(notifier, due)
    assert mailer.sent == []
    assert contact_row(notifier_engine, due.data["contact_id"]).last_error == "NotReady"

    known_debtor(notifier)
    await notifier.retry_due()

    assert len(mailer.sent) == 1


async def test_a_contact_due_later_waits_for_its_moment(
    notifier: Notifier, mailer: FakeMailer, clock: VirtualClock
) -> None:
    known_debtor(notifier)

    await deliver(notifier, contact_due(clock.now() + timedelta(hours=1)))
    assert mailer.sent == []
    clock.advance(timedelta(hours=1))
    await notifier.retry_due()

    assert len(mailer.sent) == 1


async def test_a_template_that_fails_to_render_fails_the_contact(
    notifier: Notifier,
    fake_templates: FakeTemplates,
    mailer: FakeMailer,
    notifier_engine: Engine,
    clock: VirtualClock,
) -> None:
    known_debtor(notifier)
    fake_templates.fail_on = {"email"}

    await deliver(notifier, contact_due(clock.now(), channels=("email",)))

    failed = outcomes(notifier_engine)[0]
    assert failed.type == "contact.failed"
    assert failed.data["reason"] == "render_failed"
    assert mailer.sent == []


async def test_a_bounce_report_after_the_fact_is_reported_and_sends_a_letter(
    notifier: Notifier, notifier_engine: Engine, clock: VirtualClock
) -> None:
    known_debtor(notifier)
    due = contact_due(clock.now())
    await deliver(notifier, due)

    found = await notifier.bounced(due.data["contact_id"], "5.1.1")
    again = await notifier.bounced(due.data["contact_id"], "5.1.1")

    assert (found, again) == (True, False)
    assert kinds(notifier_engine) == [
        ("contact.sent", "email"),
        ("contact.bounced", "email"),
        ("contact.sent", "letter"),
    ]


async def test_a_bounce_report_naming_no_contact_of_ours_changes_nothing(
    notifier: Notifier, notifier_engine: Engine
) -> None:
    assert await notifier.bounced("not-ours") is False
    assert outcomes(notifier_engine) == []


async def test_two_tries_of_one_contact_at_once_send_it_once(
    notifier: Notifier, mailer: FakeMailer, notifier_engine: Engine, clock: VirtualClock
) -> None:
    known_debtor(notifier)
    due = contact_due(clock.now())
    contact_id = due.data["contact_id"]
    notifier.receive([due])

    import asyncio

    await asyncio.gather(notifier.attempt(contact_id), notifier.attempt(contact_id))

    assert len(mailer.sent) == 1
    with Session(notifier_engine) as session:
        assert session.get(ContactRow, contact_id).attempts == 1


async def test_a_jump_of_the_shared_clock_does_not_run_out_a_lease_held_by_a_try(
    notifier_on: Callable[[Clock], Notifier],
    clock: VirtualClock,
    mailer: FakeMailer,
    tmp_path: Path,
) -> None:
    clock_file = tmp_path / "clock"
    shared = SharedClock(clock_file, wall=clock)
    notifier = notifier_on(shared)
    known_debtor(notifier)
    due = contact_due(shared.now())
    notifier.receive([due])
    in_flight = notifier.work.claim(due.data["contact_id"], clock.now())

    write_offset(clock_file, timedelta(days=3))
    tried = await notifier.retry_due()

    assert in_flight is not None
    assert tried == 0
    assert mailer.sent == []
