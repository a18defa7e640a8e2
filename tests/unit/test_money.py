from decimal import Decimal

import pytest
from pydantic import BaseModel, ValidationError

from shared.money import (
    AmountStr,
    CurrencyCode,
    CurrencyMismatch,
    DecimalStr,
    InvalidAmount,
    Money,
    UnknownCurrency,
    minor_units,
)


@pytest.mark.parametrize(
    ("currency", "digits"), [("EUR", 2), ("USD", 2), ("JPY", 0), ("KWD", 3)]
)
def test_each_currency_has_its_own_minor_unit(currency: str, digits: int) -> None:
    assert minor_units(currency) == digits


@pytest.mark.parametrize(
    ("text", "currency", "shown"),
    [
        ("1250", "EUR", "1250.00"),
        ("1250.5", "EUR", "1250.50"),
        ("1250", "JPY", "1250"),
        ("1.234", "KWD", "1.234"),
        ("0", "KWD", "0.000"),
    ],
)
def test_a_parsed_amount_is_shown_with_the_currency_decimals(
    text: str, currency: str, shown: str
) -> None:
    money = Money.parse(text, currency)

    assert money.to_string() == shown


@pytest.mark.parametrize(
    ("amount", "currency", "rounded"),
    [
        ("2.345", "EUR", "2.35"),
        ("2.344", "EUR", "2.34"),
        ("-2.345", "EUR", "-2.35"),
        ("0.5", "JPY", "1"),
        ("1.0005", "KWD", "1.001"),
    ],
)
def test_computed_amounts_are_rounded_half_up(
    amount: str, currency: str, rounded: str
) -> None:
    assert Money(Decimal(amount), currency).to_string() == rounded


def test_interest_is_rounded_half_up_to_the_minor_unit() -> None:
    balance = Money.parse("1000.00", "EUR")

    interest = balance.times(Decimal("0.09") * 10 / 365)

    assert interest == Money.parse("2.47", "EUR")


@pytest.mark.parametrize("text", ["1.005", "1e3", "NaN", "Infinity", "-inf", " 1", ""])
def test_parsing_refuses_what_is_not_an_exact_plain_decimal(text: str) -> None:
    with pytest.raises(InvalidAmount):
        Money.parse(text, "EUR")


def test_parsing_refuses_decimals_a_currency_does_not_have() -> None:
    with pytest.raises(InvalidAmount, match="JPY"):
        Money.parse("100.5", "JPY")


def test_a_float_is_never_money() -> None:
    with pytest.raises(InvalidAmount):
        Money(0.1, "EUR")  # type: ignore[arg-type]
    with pytest.raises(InvalidAmount):
        Money.parse(0.1, "EUR")  # type: ignore[arg-type]


@pytest.mark.parametrize("code", ["eur", "EURO", "ZZZ", ""])
def test_an_unknown_currency_is_refused(code: str) -> None:
    with pytest.raises(UnknownCurrency):
        Money.parse("1.00", code)


def test_amounts_of_one_currency_add_and_subtract() -> None:
    a = Money.parse("1200.00", "EUR")
    b = Money.parse("200.50", "EUR")

    assert a + b == Money.parse("1400.50", "EUR")
    assert a - b == Money.parse("999.50", "EUR")
    assert (b - a).is_negative()
    assert Money.total([a, b], "EUR") == Money.parse("1400.50", "EUR")
    assert Money.total([], "JPY").is_zero()


def test_amounts_of_different_currencies_are_never_combined() -> None:
    euros = Money.parse("10.00", "EUR")
    dollars = Money.parse("10.00", "USD")

    with pytest.raises(CurrencyMismatch, match="EUR with USD"):
        euros + dollars
    with pytest.raises(CurrencyMismatch):
        euros - dollars
    with pytest.raises(CurrencyMismatch):
        _ = euros < dollars


def test_money_prints_amount_and_currency() -> None:
    assert str(Money.parse("1250", "EUR")) == "1250.00 EUR"


class _Fee(BaseModel):
    amount: AmountStr
    rate: DecimalStr
    currency: CurrencyCode


def test_decimal_fields_are_strings_in_json_and_decimals_in_python() -> None:
    fee = _Fee.model_validate_json(
        '{"amount": "40.00", "rate": "-0.88", "currency": "EUR"}'
    )

    assert fee.amount == Decimal("40.00")
    assert fee.model_dump_json() == '{"amount":"40.00","rate":"-0.88","currency":"EUR"}'


def test_decimal_fields_show_as_patterned_strings_in_json_schema() -> None:
    schema = _Fee.model_json_schema(mode="serialization")["properties"]

    assert schema["amount"]["type"] == "string"
    assert schema["amount"]["pattern"] == r"^[0-9]+(\.[0-9]+)?$"
    assert schema["rate"]["pattern"] == r"^-?[0-9]+(\.[0-9]+)?$"


@pytest.mark.parametrize(
    "raw",
    [
        '{"amount": 40.0, "rate": "1", "currency": "EUR"}',
        '{"amount": 40, "rate": "1", "currency": "EUR"}',
        '{"amount": "-40.00", "rate": "1", "currency": "EUR"}',
        '{"amount": "NaN", "rate": "1", "currency": "EUR"}',
        '{"amount": "40.00", "rate": "1", "currency": "XYZ"}',
    ],
)
def test_decimal_fields_refuse_numbers_negatives_and_nonsense(raw: str) -> None:
    with pytest.raises(ValidationError):
        _Fee.model_validate_json(raw)
