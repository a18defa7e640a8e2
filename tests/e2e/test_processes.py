"""The ledger, the scheduler and the notifier as `overdue up` runs them.

Invoices go in over the ledger's API, promises and payments over the APIs
too, and what comes out is what a debtor would see: the emails in the SMTP
sink. The services share a virtual clock that the tests move with
`overdue clock`; the tests run in 2027, so that no scheduler on the real
clock that shares the broker finds these invoices due.
"""

import re
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from shared.clock import write_offset
from tests.e2e.conftest import (
    Creditor,
    Up,
    dump,
    emails_to,
    eventually,
    parts,
    post,
)
from tests.support.scheduler import DEBTOR

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

SETTLE = 10.0
"""Real seconds to watch on after a contact's moment, for one that must not come."""


def add_debtor(up: Up, creditor: Creditor, invoices: dict[str, str], due: str) -> str:
    """A debtor with an address of its own and the invoices given, due on `due`;
    returns the debtor's email address, which no other test uses."""
    debtor = f"d-{uuid.uuid4().hex[:8]}"
    address = f"ap-{debtor}@beta.example"
    ledger = up.urls["ledger"]
    post(f"{ledger}/v1/debtors", {**DEBTOR, "id": debtor, "email": address}, creditor)
    for number, amount in invoices.items():
        post(
            f"{ledger}/v1/invoices",
            {
                "debtor": debtor,
                "number": number,
                "issued_on": "2027-01-27",
                "due_on": due,
                "currency": "EUR",
                "amount": amount,
            },
            creditor,
        )
    return debtor


def timeline(up: Up, creditor: Creditor, debtor: str) -> dict[str, Any]:
    answer = httpx.get(
        f"{up.urls['scheduler']}/v1/cases/{debtor}", headers=creditor.auth, timeout=10
    )
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def open_case(up: Up, creditor: Creditor, debtor: str) -> dict[str, Any]:
    """The debtor's timeline, once its case is open with a next moment."""

    def look() -> dict[str, Any] | None:
        answer = httpx.get(
            f"{up.urls['scheduler']}/v1/cases/{debtor}",
            headers=creditor.auth,
            timeout=10,
        )
        if answer.status_code != 200:
            return None
        found = dict(answer.json())
        return found if found["case"] and found["next_moment"] else None

    return eventually(look, f"open case of {debtor}")


def amount(text: str, value: str) -> bool:
    """Whether `text` shows the amount `value` (`450.50`), in any separator style."""
    whole, cents = value.split(".")
    return re.search(rf"{whole}[.,]{cents}", text) is not None


def test_a_promise_is_confirmed_and_chased_by_email_as_the_shared_clock_moves(
    up: Up, creditor: Creditor
) -> None:
    debtor = add_debtor(
        up, creditor, {"INV-E2E-1": "300.00", "INV-E2E-2": "150.50"}, "2027-02-26"
    )
    address = f"ap-{debtor}@beta.example"
    opened = open_case(up, creditor, debtor)
    post(
        f"{up.urls['scheduler']}/v1/cases/{debtor}/promises",
        {"amount": "450.50", "promised_on": "2027-03-08"},
        creditor,
    )

    up.overdue("clock", "advance", "1h")
    [confirmation] = eventually(lambda: emails_to(address) or None, "confirmation")
    chased = timeline(up, creditor, debtor)["next_moment"]
    up.command("clock", "set", chased)
    [_, broken] = eventually(
        lambda: emails_to(address)[1:] and emails_to(address), "second email"
    )

    assert opened["case"]["state"] == "open", dump(opened)
    assert confirmation["Subject"].startswith("Confirmation: payment of")
    assert amount(confirmation["Subject"], "450.50")
    assert confirmation["To"].addresses[0].addr_spec == address
    text, html = parts(confirmation)["text/plain"], parts(confirmation)["text/html"]
    assert amount(text, "450.50") and amount(html, "450.50")
    assert broken["Subject"].startswith("Your promised payment has not arrived")
    assert amount(broken["Subject"], "450.50")
    text, html = parts(broken)["text/plain"], parts(broken)["text/html"]
    for part in (text, html):
        assert "INV-E2E-1" in part and "INV-E2E-2" in part
        assert amount(part, "450.50")
    contacts = timeline(up, creditor, debtor)["contacts"]
    assert [c["template"] for c in contacts] == [
        "promise_confirmation",
        "promise_broken",
    ], dump(contacts)
    assert [c["contact_id"] for c in contacts] == [
        confirmation["X-Overdue-Contact"],
        broken["X-Overdue-Contact"],
    ]


def test_a_payment_two_seconds_before_a_contacts_moment_prevents_it(
    up: Up, creditor: Creditor
) -> None:
    up.command("clock", "set", "2027-04-05T07:00:00+02:00")
    paying = add_debtor(up, creditor, {"INV-E2E-3": "200.00"}, "2027-04-01")
    silent = add_debtor(up, creditor, {"INV-E2E-4": "200.00"}, "2027-04-01")
    slot = datetime.fromisoformat(open_case(up, creditor, paying)["next_moment"])
    control = datetime.fromisoformat(open_case(up, creditor, silent)["next_moment"])
    assert control == slot

    # Written here rather than by `overdue clock set`, whose exit would eat into
    # the two seconds; the payment is recorded a few milliseconds after.
    write_offset(up.clock, slot - timedelta(seconds=2.2) - datetime.now(UTC))
    post(
        f"{up.urls['ledger']}/v1/payments",
        {
            "debtor": paying,
            "payment_id": f"PAY-{paying}",
            "currency": "EUR",
            "amount": "200.00",
            "received_on": "2027-04-05",
        },
        creditor,
    )
    [reminder] = eventually(
        lambda: emails_to(f"ap-{silent}@beta.example") or None, "control's reminder"
    )
    time.sleep(SETTLE)

    assert reminder["Subject"].startswith("Payment reminder")
    assert emails_to(f"ap-{paying}@beta.example") == []
    paid = timeline(up, creditor, paying)
    assert paid["case"] is None, dump(paid)
    assert paid["contacts"] == [], dump(paid)
    assert [c["state"] for c in paid["cases"]] == ["resolved"], dump(paid)
    assert "partitions silent" not in up.log("scheduler")


def test_a_second_up_starts_nothing_and_ps_shows_each_service_healthy(up: Up) -> None:
    recorded = (up.var / "run" / "services.json").read_text()
    ports = [f"--{name}-port={url.rpartition(':')[2]}" for name, url in up.urls.items()]

    again = up.command("up", *ports)
    shown = up.command("ps")

    assert again.count("already running") == 3, again
    assert (up.var / "run" / "services.json").read_text() == recorded
    for name in up.urls:
        assert name in shown
        assert (up.var / "run" / f"{name}.pid").read_text().strip() in shown
    assert "no" not in shown.split(), shown
