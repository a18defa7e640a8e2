import json
from datetime import UTC, date, datetime, timedelta, timezone
from uuid import UUID

import pytest
from pydantic import ValidationError

from shared.events import EVENT_TYPES, Envelope, MisaddressedEvent, debtor_key
from shared.events.creditors import CreditorUpdated
from shared.events.envelope import sealed
from shared.events.examples import EXAMPLES
from shared.events.inbound import InboundDebtorUpdated
from shared.events.ledger import InvoiceIssued

CET = timezone(timedelta(hours=1))
AT = datetime(2026, 1, 5, 10, 12, tzinfo=CET)


def _invoice() -> InvoiceIssued:
    return InvoiceIssued(
        number="INV-1",
        issued_on=date(2026, 1, 5),
        due_on=date(2026, 1, 19),
        currency="EUR",
        amount="1200",
        balance="1200",
    )


def test_a_wrapped_payload_survives_the_wire_unchanged() -> None:
    sent = Envelope.wrap(_invoice(), creditor="acme", debtor="d-1001", occurred_at=AT)

    received = Envelope.from_bytes(sent.to_bytes())

    assert received == sent
    assert received.type == "invoice.issued"
    assert received.schema_version == 1


def test_money_travels_as_strings_at_the_currency_decimals() -> None:
    envelope = Envelope.wrap(_invoice(), creditor="acme", debtor="d1", occurred_at=AT)

    wire = json.loads(envelope.to_bytes())

    assert wire["data"]["amount"] == "1200.00"
    assert wire["data"]["balance"] == "1200.00"
    assert wire["data"]["due_on"] == "2026-01-19"


def test_the_wire_spells_schema_and_keeps_the_offset() -> None:
    envelope = Envelope.wrap(_invoice(), creditor="acme", debtor="d1", occurred_at=AT)

    wire = json.loads(envelope.to_bytes())

    assert wire["schema"] == 1
    assert "schema_version" not in wire
    assert wire["occurred_at"] == "2026-01-05T10:12:00+01:00"
    assert Envelope.from_bytes(envelope.to_bytes()).occurred_at.utcoffset() == (
        timedelta(hours=1)
    )


def test_an_envelope_as_in_the_spec_is_read() -> None:
    raw = (
        b'{"id": "0b6c2c1e-7d4a-4a8e-9f0e-3c7f2b1a9d10", "type": "invoice.issued",'
        b' "schema": 1, "occurred_at": "2026-01-05T10:12:00+00:00",'
        b' "creditor": "acme", "debtor": "d-1001", "data": {}}'
    )

    envelope = Envelope.from_bytes(raw)

    assert envelope.id == UUID("0b6c2c1e-7d4a-4a8e-9f0e-3c7f2b1a9d10")
    assert envelope.occurred_at == datetime(2026, 1, 5, 10, 12, tzinfo=UTC)


def test_a_naive_occurred_at_is_refused() -> None:
    with pytest.raises(ValidationError, match="occurred_at"):
        Envelope(type="invoice.issued", occurred_at=datetime(2026, 1, 5), creditor="a")
    with pytest.raises(ValidationError, match="occurred_at"):
        Envelope.from_bytes(
            b'{"type": "x", "occurred_at": "2026-01-05T10:12:00", "creditor": "a"}'
        )


def test_an_unknown_envelope_field_is_refused() -> None:
    with pytest.raises(ValidationError, match="extra"):
        Envelope.from_bytes(
            b'{"type": "x", "occurred_at": "2026-01-05T10:12:00Z", "creditor": "a",'
            b' "priority": 1}'
        )


def test_a_debtor_event_is_keyed_by_creditor_and_debtor() -> None:
    envelope = Envelope.wrap(
        _invoice(), creditor="acme", debtor="d-1001", occurred_at=AT
    )

    assert envelope.key == "acme/d-1001" == debtor_key("acme", "d-1001")


def test_a_creditor_event_is_keyed_by_the_creditor_alone() -> None:
    profile = CreditorUpdated.model_validate(EXAMPLES["creditor.updated"])

    envelope = Envelope.wrap(profile, creditor="acme", occurred_at=AT)

    assert envelope.key == "acme"
    assert envelope.debtor is None


def test_wrapping_refuses_a_debtor_event_without_a_debtor() -> None:
    with pytest.raises(MisaddressedEvent):
        Envelope.wrap(_invoice(), creditor="acme", occurred_at=AT)


def test_wrapping_refuses_a_creditor_event_with_a_debtor() -> None:
    profile = CreditorUpdated.model_validate(EXAMPLES["creditor.updated"])

    with pytest.raises(MisaddressedEvent):
        Envelope.wrap(profile, creditor="acme", debtor="d1", occurred_at=AT)


def test_a_creditor_id_cannot_contain_the_key_separator() -> None:
    with pytest.raises(ValidationError, match="creditor"):
        Envelope.wrap(_invoice(), creditor="ac/me", debtor="d1", occurred_at=AT)


def test_a_given_id_is_kept_and_otherwise_one_is_made() -> None:
    given = UUID("0b6c2c1e-7d4a-4a8e-9f0e-3c7f2b1a9d10")

    kept = Envelope.wrap(_invoice(), creditor="a", debtor="d", occurred_at=AT, id=given)
    made = Envelope.wrap(_invoice(), creditor="a", debtor="d", occurred_at=AT)

    assert kept.id == given
    assert made.id != given


@pytest.mark.parametrize("event_type", sorted(EVENT_TYPES))
def test_sealed_bytes_are_those_of_the_validated_envelope(event_type: str) -> None:
    model = EVENT_TYPES[event_type]
    payload = model.model_validate(EXAMPLES[event_type])
    debtor = None if model.keyed_by == "creditor" else 'Müller & Söhne "K-7"'
    addressing = {
        "creditor": "acme",
        "debtor": debtor,
        "occurred_at": datetime(
            2026, 3, 29, 1, 30, tzinfo=timezone(timedelta(hours=2))
        ),
        "id": UUID("5a0f3d4e-0c1b-5d8e-9a51-2f7c1d0e6b42"),
    }

    assert (
        sealed(payload, **addressing) == Envelope.wrap(payload, **addressing).to_bytes()
    )


def test_a_sealed_partial_update_carries_only_the_fields_it_changes() -> None:
    update = InboundDebtorUpdated.model_validate({"email": "neu@beta.example"})
    wire = sealed(
        update,
        id=UUID(int=7),
        creditor="acme",
        debtor="d1",
        occurred_at=datetime(2026, 1, 5, tzinfo=UTC),
    )

    assert json.loads(wire)["data"] == {"email": "neu@beta.example"}


def test_sealing_checks_the_addressing_as_wrapping_does() -> None:
    payload = InvoiceIssued.model_validate(EXAMPLES["invoice.issued"])
    with pytest.raises(MisaddressedEvent):
        sealed(
            payload,
            id=UUID(int=7),
            creditor="acme",
            debtor=None,
            occurred_at=datetime(2026, 1, 5, tzinfo=UTC),
        )
