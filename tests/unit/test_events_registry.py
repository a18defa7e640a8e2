from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from shared.events import (
    EVENT_TYPES,
    INBOUND_TYPES,
    Envelope,
    MisaddressedEvent,
    UnknownEventType,
    UnsupportedSchemaVersion,
    parse_inbound,
    parse_payload,
)
from shared.events.examples import EXAMPLES
from shared.events.inbound import InboundPaymentReceived
from shared.events.ledger import PaymentReceived
from shared.events.registry import INBOUND, PUBLISHED
from shared.topics import ALL_TOPICS

AT = datetime(2026, 1, 25, 10, 0, tzinfo=UTC)

SPEC_TYPES = {
    "creditor.updated",
    "debtor.upserted",
    "invoice.issued",
    "invoice.adjusted",
    "invoice.written_off",
    "payment.received",
    "contact.due",
    "case.opened",
    "case.escalated",
    "case.resolved",
    "promise.recorded",
    "promise.kept",
    "promise.broken",
    "dispute.opened",
    "dispute.resolved",
    "plan.agreed",
    "plan.completed",
    "plan.broken",
    "contact.sent",
    "contact.failed",
    "contact.bounced",
    "contact.skipped",
}


def _envelope(event_type: str, data: dict[str, object], **fields: object) -> Envelope:
    return Envelope.model_validate(
        {
            "type": event_type,
            "occurred_at": AT,
            "creditor": "acme",
            "debtor": "d1",
            "data": data,
            **fields,
        }
    )


def test_every_event_type_of_the_spec_has_a_payload_model() -> None:
    assert EVENT_TYPES.keys() >= SPEC_TYPES


def test_the_ledger_accepts_the_facts_a_scenario_can_send() -> None:
    assert {
        "debtor.upserted",
        "debtor.updated",
        "invoice.issued",
        "payment.received",
        "credit_note.issued",
        "invoice.written_off",
    } == INBOUND_TYPES.keys()


def test_payload_classes_declare_the_type_they_are_registered_under() -> None:
    for event_type, model in (*EVENT_TYPES.items(), *INBOUND_TYPES.items()):
        assert model.event_type == event_type


def test_every_event_travels_on_a_known_topic() -> None:
    assert {kind.topic for kind in (*PUBLISHED, *INBOUND)} <= set(ALL_TOPICS)


def test_a_published_payment_is_parsed_with_its_allocations() -> None:
    envelope = _envelope("payment.received", EXAMPLES["payment.received"])

    payload = parse_payload(envelope)

    assert isinstance(payload, PaymentReceived)
    assert [a.invoice for a in payload.allocations] == ["INV-2", "INV-1"]


def test_an_inbound_payment_is_parsed_without_allocations() -> None:
    envelope = _envelope("payment.received", EXAMPLES["inbound.payment.received"])

    payload = parse_inbound(envelope)

    assert isinstance(payload, InboundPaymentReceived)


def test_an_inbound_payment_is_not_a_published_one() -> None:
    envelope = _envelope("payment.received", EXAMPLES["inbound.payment.received"])

    with pytest.raises(ValidationError, match=r"unallocated"):
        parse_payload(envelope)


def test_an_unknown_type_is_named_in_the_error() -> None:
    envelope = _envelope("invoice.paid", {})

    with pytest.raises(UnknownEventType, match=r"'invoice\.paid'"):
        parse_payload(envelope)


def test_a_published_only_type_is_unknown_on_the_inbound_topic() -> None:
    envelope = _envelope("contact.due", EXAMPLES["contact.due"])

    with pytest.raises(UnknownEventType):
        parse_inbound(envelope)


def test_a_future_schema_version_is_refused() -> None:
    envelope = _envelope("invoice.issued", EXAMPLES["invoice.issued"], schema=2)

    with pytest.raises(UnsupportedSchemaVersion, match="schema 2"):
        parse_payload(envelope)


def test_a_debtor_event_without_a_debtor_is_misaddressed() -> None:
    envelope = _envelope("invoice.issued", EXAMPLES["invoice.issued"], debtor=None)

    with pytest.raises(MisaddressedEvent):
        parse_payload(envelope)


def test_an_invalid_payload_names_the_field() -> None:
    data = {**EXAMPLES["invoice.issued"], "amount": 1200.0}

    with pytest.raises(ValidationError, match="amount"):
        parse_payload(_envelope("invoice.issued", data))


def test_a_wrapped_payload_parses_back_to_an_equal_one() -> None:
    sent = PaymentReceived.model_validate(EXAMPLES["payment.received"])
    envelope = Envelope.wrap(sent, creditor="acme", debtor="d1", occurred_at=AT)

    received = parse_payload(Envelope.from_bytes(envelope.to_bytes()))

    assert received == sent
