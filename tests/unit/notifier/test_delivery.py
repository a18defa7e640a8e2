"""Which channels a contact goes by on the send date, and when it is moot."""

from datetime import UTC, datetime
from decimal import Decimal

from services.notifier.domain.delivery import (
    Reach,
    Standing,
    channels_for,
    fallback_after_bounce,
    is_moot,
)
from shared.events import parse_payload
from shared.events.contacts import SendContact
from tests.support.notifier import contact_due

NOW = datetime(2026, 1, 20, 8, tzinfo=UTC)


def contact(**changes: object) -> SendContact:
    payload = parse_payload(contact_due(NOW, **changes))  # type: ignore[arg-type]
    assert isinstance(payload, SendContact)
    return payload


def test_email_goes_as_a_letter_to_a_debtor_who_cannot_be_emailed() -> None:
    assert channels_for(["email"], Reach(email=False, postal=True)) == ["letter"]


def test_one_letter_goes_at_most() -> None:
    both = channels_for(["email", "letter"], Reach(email=False, postal=True))

    assert both == ["letter"]


def test_a_letter_is_kept_without_an_address_so_that_it_fails_visibly() -> None:
    assert channels_for(["letter"], Reach(email=True, postal=False)) == ["letter"]


def test_a_bounce_is_followed_by_a_letter_unless_one_goes_anyway() -> None:
    assert fallback_after_bounce(["email"]) == "letter"
    assert fallback_after_bounce(["email", "letter"]) is None


def test_a_demand_is_moot_when_every_invoice_is_settled() -> None:
    demand = contact(invoices=(("A", "10.00"), ("B", "20.00")))

    assert is_moot(demand, {"A": Standing(Decimal(0)), "B": Standing(Decimal(0))})
    assert is_moot(demand, {"A": Standing(Decimal(0)), "B": Standing(Decimal(5), True)})
    assert not is_moot(demand, {"A": Standing(Decimal(0)), "B": Standing(Decimal(5))})


def test_an_invoice_the_projection_does_not_know_keeps_the_demand() -> None:
    assert not is_moot(contact(), {})


def test_a_confirmation_is_never_moot() -> None:
    confirmation = contact(template="promise_confirmation", step="promise:1")

    assert not is_moot(confirmation, {"INV-1": Standing(Decimal(0))})


def test_a_pre_due_reminder_of_a_paid_invoice_is_moot() -> None:
    pre_due = contact(template="pre_due", step="pre_due:INV-1")

    assert is_moot(pre_due, {"INV-1": Standing(Decimal(0))})
