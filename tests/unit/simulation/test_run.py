"""A scenario's run over the in-process bus: the real services, a virtual clock."""

import json
from pathlib import Path

from shared.simulation.bus import InProcessBus
from shared.simulation.run import Where, simulate
from shared.simulation.scenario import scenario_from_text
from shared.simulation.timeline import render

ROOT = Path(__file__).resolve().parents[3]

# SPEC §7's example, with the SPEC §3 example policy.
EXAMPLE = """
start: 2026-01-05T08:00:00+01:00
days: 120
creditor: {id: acme, name: ACME Supplies GmbH, country: DE,
           timezone: Europe/Berlin, currency: EUR, language: de}
policy: policies/standard-b2b.yaml
debtors:
  - {id: d1, name: Beta GmbH, email: ap@beta.example, language: de,
     address: {lines: [Beta GmbH, Hauptstr. 1], postcode: "10115",
               city: Berlin, country: DE}}
events:
  - {day: 0, type: invoice.issued, debtor: d1, invoice: INV-1,
     amount: "1200.00", issued: 2026-01-05, due: 2026-01-19}
  - {day: 20, type: payment.received, debtor: d1, amount: "200.00"}
  - {day: 25, type: promise.recorded, debtor: d1, amount: "1000.00",
     date: 2026-02-10}
"""


def contact(at, template, amount, invoices, channel="email"):
    return {
        "at": at,
        "kind": "contact",
        "debtor": "d1",
        "template": template,
        "channel": channel,
        "language": "de",
        "amount_due": amount,
        "currency": "EUR",
        "invoices": invoices,
    }


# Worked out by hand from SPEC §3-§4: due Mon 19 Jan; pre_due 3 days before
# (Fri 16th); reminder A+1 (Tue 20th); 200 paid on Sun 25th; second A+10
# (Thu 29th, 9 days after the reminder); the promise of Fri 30th 10:00 is
# confirmed at once (the window is open), checked at slot(10 Feb + 1 day) and
# broken; final A+21 = 9 Feb is too close to the broken promise's demand of
# Wed 11th, so 11th + 5 = Mon 16th, by email and letter; agency A+45 = Thu 5 Mar.
EXPECTED = [
    contact("2026-01-16T09:00:00+01:00", "pre_due", "1200.00", ["INV-1"]),
    contact("2026-01-20T09:00:00+01:00", "reminder", "1200.00", ["INV-1"]),
    contact("2026-01-29T09:00:00+01:00", "second", "1000.00", ["INV-1"]),
    contact("2026-01-30T10:00:00+01:00", "promise_confirmation", "1000.00", []),
    contact("2026-02-11T09:00:00+01:00", "promise_broken", "1000.00", ["INV-1"]),
    contact("2026-02-16T09:00:00+01:00", "final", "1000.00", ["INV-1"]),
    contact("2026-02-16T09:00:00+01:00", "final", "1000.00", ["INV-1"], "letter"),
    {"at": "2026-03-05T09:00:00+01:00", "kind": "escalated", "debtor": "d1"},
]


async def run(text: str, artifacts: Path):
    scenario = scenario_from_text(text, base=ROOT, name="example.yaml")
    return await simulate(scenario, InProcessBus(), Where(artifacts))


async def test_the_spec_example_gives_the_timeline_worked_out_by_hand(tmp_path):
    outcome = await run(EXAMPLE, tmp_path)

    assert outcome.timeline.lines() == EXPECTED
    assert outcome.refusals == []


async def test_the_same_scenario_gives_the_same_timeline_byte_for_byte(tmp_path):
    first = await run(EXAMPLE, tmp_path / "first")
    second = await run(EXAMPLE, tmp_path / "second")

    assert render(first.timeline.lines()) == render(second.timeline.lines())


async def test_every_email_letter_batch_and_case_file_is_kept(tmp_path):
    await run(EXAMPLE, tmp_path)

    emails = sorted((tmp_path / "emails").glob("*.eml"))
    assert len(emails) == 6  # every email line of the timeline
    # Named by their virtual date, so the folder lists them in the order sent.
    assert emails[0].name.startswith("20260116T080000")
    day = tmp_path / "letters" / "acme" / "2026-02-16"
    assert len(list((day / "letters").glob("*.pdf"))) == 1
    assert (day / "batch-acme-2026-02-16.pdf").read_bytes().startswith(b"%PDF")
    assert (day / "manifest-acme-2026-02-16.csv").exists()
    case_file = json.loads((tmp_path / "agency/acme/d1-case-1.json").read_text())
    assert case_file["debtor"] == "d1"
    assert case_file["case_file"]["overdue_balance"] == "1000.00"
    assert [c["template"] for c in case_file["case_file"]["contacts"]][:2] == [
        "reminder",
        "second",
    ]


BOUNCING = """
start: 2026-01-05T08:00:00+01:00
days: 20
creditor: {id: acme, name: ACME Supplies GmbH, country: DE,
           timezone: Europe/Berlin, currency: EUR, language: de}
policy: policies/standard-b2b.yaml
debtors:
  - {id: d1, name: Beta GmbH, email: ap@beta.invalid, language: de,
     address: {lines: [Beta GmbH, Hauptstr. 1], postcode: "10115",
               city: Berlin, country: DE}}
events:
  - {day: 0, type: invoice.issued, debtor: d1, invoice: INV-1,
     amount: "1200.00", issued: 2026-01-05, due: 2026-01-19}
  - {day: 0, type: promise.recorded, debtor: d1, amount: "1000.00",
     date: 2026-02-10}
"""


async def test_an_address_that_bounces_fails_and_the_letter_follows(tmp_path):
    outcome = await run(BOUNCING, tmp_path)

    assert [(line["kind"], line["channel"]) for line in outcome.timeline.lines()] == [
        ("failed", "email"),  # the pre-due reminder bounced...
        ("contact", "letter"),  # ...and went by post instead
        ("contact", "letter"),  # the address stays invalid: the reminder is a letter
    ]
    assert outcome.timeline.lines()[0]["reason"] == "bounced"
    assert list((tmp_path / "emails").glob("*.eml")) == []


async def test_a_command_the_scheduler_refuses_is_reported_with_its_line(tmp_path):
    outcome = await run(BOUNCING, tmp_path)

    [refusal] = outcome.refusals
    assert refusal.event.line == 14
    assert "promise.recorded for d1 refused" in str(refusal)


async def test_a_scenario_without_events_sends_nothing(tmp_path):
    text = EXAMPLE.split("events:")[0] + "events: []\n"
    outcome = await run(text.replace("days: 120", "days: 3"), tmp_path)

    assert outcome.timeline.lines() == []
