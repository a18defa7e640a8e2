"""Every payload model accepts its documented example and refuses bad money,
naive moments and unknown fields; the checked-in JSON Schema agrees."""

import copy
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator, FormatChecker
from pydantic import ValidationError

from shared.events.examples import EXAMPLES
from shared.events.payload import Payload, is_money_field
from shared.events.registry import INBOUND, PUBLISHED, EventKind
from shared.events.schemas import schema_file_name

SCHEMAS = Path(__file__).resolve().parents[2] / "docs" / "schemas"
ALL_KINDS = (*PUBLISHED, *INBOUND)


def _example(kind: EventKind) -> dict[str, Any]:
    return copy.deepcopy(EXAMPLES[schema_file_name(kind)[:-5]])


def _money_field(model: type[Payload]) -> str | None:
    return next((n for n, i in model.model_fields.items() if is_money_field(i)), None)


def _validator(kind: EventKind) -> Draft202012Validator:
    schema = json.loads((SCHEMAS / schema_file_name(kind)).read_text(encoding="utf-8"))
    return Draft202012Validator(schema, format_checker=FormatChecker())


def _params(kinds: tuple[EventKind, ...]) -> list[Any]:
    return [pytest.param(kind, id=schema_file_name(kind)[:-5]) for kind in kinds]


KINDS = _params(ALL_KINDS)
KINDS_WITH_MONEY = _params(tuple(k for k in ALL_KINDS if _money_field(k.model)))


@pytest.mark.parametrize("kind", KINDS)
def test_every_event_type_has_a_documented_example(kind: EventKind) -> None:
    assert schema_file_name(kind)[:-5] in EXAMPLES


@pytest.mark.parametrize("kind", KINDS)
def test_the_example_validates_and_survives_a_round_trip(kind: EventKind) -> None:
    payload = kind.model.model_validate(_example(kind))

    again = kind.model.model_validate_json(json.dumps(payload.to_data()))

    assert again == payload


@pytest.mark.parametrize("kind", KINDS)
def test_the_example_and_its_serialisation_match_the_checked_in_schema(
    kind: EventKind,
) -> None:
    validator = _validator(kind)
    dumped = kind.model.model_validate(_example(kind)).to_data()

    validator.validate(_example(kind))
    validator.validate(dumped)


@pytest.mark.parametrize("kind", KINDS)
def test_an_unknown_field_is_refused(kind: EventKind) -> None:
    data = {**_example(kind), "colour": "red"}

    with pytest.raises(ValidationError, match="colour"):
        kind.model.model_validate(data)
    assert not _validator(kind).is_valid(data)


@pytest.mark.parametrize("kind", KINDS_WITH_MONEY)
def test_a_float_amount_is_refused(kind: EventKind) -> None:
    field = _money_field(kind.model)
    assert field is not None
    data = {**_example(kind), field: 12.5}

    with pytest.raises(ValidationError, match=field):
        kind.model.model_validate(data)
    assert not _validator(kind).is_valid(data)


@pytest.mark.parametrize("kind", KINDS_WITH_MONEY)
def test_a_negative_amount_is_refused(kind: EventKind) -> None:
    field = _money_field(kind.model)
    assert field is not None
    data = {**_example(kind), field: "-1.00"}

    with pytest.raises(ValidationError, match=field):
        kind.model.model_validate(data)
    assert not _validator(kind).is_valid(data)


@pytest.mark.parametrize("kind", KINDS_WITH_MONEY)
def test_an_amount_finer_than_the_currency_is_refused(kind: EventKind) -> None:
    field = _money_field(kind.model)
    assert field is not None
    data = {**_example(kind), field: "1.001"}

    with pytest.raises(ValidationError, match="more decimals than"):
        kind.model.model_validate(data)


def test_a_naive_send_moment_is_refused() -> None:
    data = {**EXAMPLES["contact.due"], "due_at": "2026-01-20T09:00:00"}

    with pytest.raises(ValidationError, match="due_at"):
        _model("contact.due").model_validate(data)


def test_a_naive_moment_deep_in_a_case_file_is_refused() -> None:
    data = copy.deepcopy(EXAMPLES["case.escalated"])
    data["case_file"]["notes"][0]["at"] = "2026-01-30T11:15:00"

    with pytest.raises(ValidationError, match="notes"):
        _model("case.escalated").model_validate(data)


def test_amounts_are_normalised_to_the_currency_decimals() -> None:
    data = {**EXAMPLES["inbound.invoice.issued"], "amount": "1200"}

    payload = _inbound("invoice.issued").model_validate(data)

    assert payload.model_dump(mode="json")["amount"] == "1200.00"


def test_yen_amounts_have_no_decimals() -> None:
    data = {**EXAMPLES["inbound.invoice.issued"], "currency": "JPY", "amount": "150000"}

    payload = _inbound("invoice.issued").model_validate(data)

    assert payload.model_dump(mode="json")["amount"] == "150000"


def test_nested_amounts_are_held_to_the_payload_currency() -> None:
    data = copy.deepcopy(EXAMPLES["payment.received"])
    data["allocations"][0]["amount"] = "300.001"

    with pytest.raises(ValidationError, match=r"allocations\[0\]\.amount"):
        _model("payment.received").model_validate(data)


def test_a_partial_debtor_update_carries_only_what_it_changes() -> None:
    update = _inbound("debtor.updated").model_validate({"email": "new@beta.example"})

    assert update.to_data() == {"email": "new@beta.example"}


def test_a_partial_debtor_update_cannot_clear_the_name() -> None:
    with pytest.raises(ValidationError, match="not cleared"):
        _inbound("debtor.updated").model_validate({"name": None})


def test_a_payment_must_account_for_every_cent() -> None:
    data = {**EXAMPLES["payment.received"], "unallocated": "0.00"}

    with pytest.raises(ValidationError, match="add up"):
        _model("payment.received").model_validate(data)


def test_a_contact_demands_the_sum_of_its_invoices() -> None:
    data = {**EXAMPLES["contact.due"], "amount_due": "1000.00"}

    with pytest.raises(ValidationError, match="sum"):
        _model("contact.due").model_validate(data)


def test_an_invoice_cannot_fall_due_before_it_was_issued() -> None:
    data = {**EXAMPLES["inbound.invoice.issued"], "due_on": "2026-01-01"}

    with pytest.raises(ValidationError, match="due_on"):
        _inbound("invoice.issued").model_validate(data)


@pytest.mark.parametrize(
    "name", ["Beta GmbH\r\nBcc: victim@example.com", "Beta\x00GmbH"]
)
def test_a_name_cannot_smuggle_a_line_break_into_a_header(name: str) -> None:
    data = {**EXAMPLES["debtor.upserted"], "name": name}

    with pytest.raises(ValidationError, match="name"):
        _model("debtor.upserted").model_validate(data)


def test_an_email_address_cannot_carry_a_line_break() -> None:
    data = {**EXAMPLES["debtor.upserted"], "email": "ap@beta.example\nBcc: x@y.z"}

    with pytest.raises(ValidationError, match="email"):
        _model("debtor.upserted").model_validate(data)


@pytest.mark.parametrize(
    ("field", "value"),
    [("timezone", "Mars/Olympus"), ("country", "XX"), ("language", "German")],
)
def test_unknown_codes_are_refused(field: str, value: str) -> None:
    data = {**EXAMPLES["debtor.upserted"], field: value}

    with pytest.raises(ValidationError, match=field):
        _model("debtor.upserted").model_validate(data)


def test_a_creditor_says_how_to_be_paid() -> None:
    data = {**EXAMPLES["creditor.updated"]}
    del data["bank"]

    with pytest.raises(ValidationError, match="bank details or a payment link"):
        _model("creditor.updated").model_validate(data)


def test_a_negative_reference_rate_is_accepted() -> None:
    data = copy.deepcopy(EXAMPLES["creditor.updated"])
    data["late_fees"]["reference_rates"][0]["rate"] = "-0.88"

    profile = _model("creditor.updated").model_validate(data)

    assert profile.model_dump()["late_fees"]["reference_rates"][0]["rate"] == Decimal(
        "-0.88"
    )


def _model(event_type: str) -> type[Payload]:
    return next(k.model for k in PUBLISHED if k.type == event_type)


def _inbound(event_type: str) -> type[Payload]:
    return next(k.model for k in INBOUND if k.type == event_type)
