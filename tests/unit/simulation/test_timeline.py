"""The timeline's lines: SPEC §7's fields, in its order, at the debtor's local time."""

import json
from datetime import UTC, datetime
from types import SimpleNamespace
from zoneinfo import ZoneInfo

from shared.events import Envelope
from shared.events.ids import stable_id
from shared.simulation.timeline import Timeline, render
from shared.topics import COLLECTIONS_EVENTS, NOTIFIER_EVENTS

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
AT = datetime(2026, 1, 20, 8, 0, tzinfo=UTC)

OUTCOME = {
    "contact_id": str(stable_id("contact", "x")),
    "step": "reminder",
    "template": "reminder",
    "language": "de",
    "currency": "EUR",
    "amount_due": "1200.00",
    "invoices": ["INV-1"],
}


def record(type_, data, *, debtor="d1", at=AT, n=0):
    envelope = Envelope(
        id=stable_id("test", type_, debtor, str(n)),
        type=type_,
        schema_version=1,
        occurred_at=at,
        creditor="acme",
        debtor=debtor,
        data=data,
    )
    return SimpleNamespace(value=envelope.to_bytes())


def timeline(tmp_path=None, **zones):
    return Timeline(zones, BERLIN, agency=tmp_path)


def test_a_sent_contact_has_the_spec_fields_in_the_spec_order():
    lines = timeline()
    lines.observe(
        NOTIFIER_EVENTS.name,
        [record("contact.sent", OUTCOME | {"channel": "email", "message_id": "<m>"})],
    )

    assert render(lines.lines()) == (
        '{"at": "2026-01-20T09:00:00+01:00", "kind": "contact", "debtor": "d1", '
        '"template": "reminder", "channel": "email", "language": "de", '
        '"amount_due": "1200.00", "currency": "EUR", "invoices": ["INV-1"]}\n'
    )


def test_a_failure_and_a_bounce_are_failed_lines_with_their_reason():
    lines = timeline()
    lines.observe(
        NOTIFIER_EVENTS.name,
        [
            record("contact.bounced", OUTCOME, n=1),
            record(
                "contact.failed",
                OUTCOME | {"channel": "letter", "reason": "no_address"},
                n=2,
            ),
        ],
    )

    assert [
        (line["kind"], line["channel"], line["reason"]) for line in lines.lines()
    ] == [
        ("failed", "email", "bounced"),
        ("failed", "letter", "no_address"),
    ]


def test_skipped_contacts_and_other_case_events_leave_no_line():
    lines = timeline()
    lines.observe(
        NOTIFIER_EVENTS.name,
        [record("contact.skipped", OUTCOME | {"reason": "paid"})],
    )

    assert lines.lines() == []


def test_lines_are_in_time_order_then_by_debtor_then_as_they_happened():
    lines = timeline(d2=NEW_YORK)
    later = datetime(2026, 1, 20, 14, 0, tzinfo=UTC)
    sent = OUTCOME | {"channel": "email"}
    lines.observe(
        NOTIFIER_EVENTS.name,
        [
            record("contact.sent", sent, debtor="d2", at=later, n=1),
            record("contact.sent", sent, debtor="d1", at=later, n=2),
            record("contact.sent", sent | {"channel": "letter"}, debtor="d1", n=3),
            record("contact.sent", sent, debtor="d1", n=4),
        ],
    )

    assert [
        (line["at"], line["debtor"], line["channel"]) for line in lines.lines()
    ] == [
        ("2026-01-20T09:00:00+01:00", "d1", "letter"),
        ("2026-01-20T09:00:00+01:00", "d1", "email"),
        ("2026-01-20T15:00:00+01:00", "d1", "email"),
        ("2026-01-20T09:00:00-05:00", "d2", "email"),  # the same instant, New York
    ]


def test_an_escalation_hands_its_case_file_to_the_agency(tmp_path):
    lines = timeline(tmp_path)
    escalated = {"case_id": "d1#2", "trigger": "ladder", "stage": "agency"}
    lines.observe(
        COLLECTIONS_EVENTS.name,
        [
            record("case.escalated", escalated | {"case_file": {"x": 1}}),
            record("case.resolved", {"case_id": "d1#2"}, n=1),
        ],
    )

    assert lines.lines() == [
        {"at": "2026-01-20T09:00:00+01:00", "kind": "escalated", "debtor": "d1"},
        {"at": "2026-01-20T09:00:00+01:00", "kind": "resolved", "debtor": "d1"},
    ]
    [path] = lines.case_files
    assert path == tmp_path / "acme" / "d1-case-2.json"
    handed = json.loads(path.read_text())
    assert handed["stage"] == "agency" and handed["case_file"] == {"x": 1}
