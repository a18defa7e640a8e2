"""Effects of the engine as the events the scheduler publishes."""

from services.scheduler.service.effects import Party, describe
from tests.unit.scheduler.test_collection import (
    at,
    collection,
    issue,
    promised,
    run_until,
)


def test_the_case_file_lists_promises_disputes_and_notes():
    c = collection()
    issue(c, "INV-1", "1200.00", "2026-01-05", "2026-01-19")
    issue(c, "INV-2", "300.00", "2026-01-06", "2026-01-20")
    run_until(c, at("2026-01-26"), at("2026-01-06"))
    promised(c, "1200.00", "2026-02-10", at("2026-01-26"))
    c.dispute_opened("INV-2", at=at("2026-01-27"), reason="Goods damaged")
    c.noted("Jana", "Called, no answer", at=at("2026-01-28"))

    [escalated] = c.escalated(at=at("2026-02-02"))
    event = describe(c, Party({"language": "de"}, None), escalated, [])

    case_file = event.envelope.data["case_file"]
    assert event.envelope.data["trigger"] == "collector"
    assert [(p["amount"], p["outcome"]) for p in case_file["promises"]] == [
        ("1200.00", "active")
    ]
    assert [(d["invoice"], d["reason"]) for d in case_file["disputes"]] == [
        ("INV-2", "Goods damaged")
    ]
    assert [n["text"] for n in case_file["notes"]] == ["Called, no answer"]
