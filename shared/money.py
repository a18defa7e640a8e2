"""Money: a decimal amount in one ISO 4217 currency, never a float (SPEC §2).

Amounts are rounded half-up (ties away from zero) to the currency's minor
unit, as Babel's CLDR data states it: EUR 2 decimals, JPY 0, KWD 3. Parsing
is stricter than rounding: a string with more decimals than the currency has
is refused, because an amount received from outside must already be exact.
"""

import re
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import cache
from typing import Annotated, Any

from babel.numbers import get_currency_precision, is_currency
from pydantic import AfterValidator, BeforeValidator, PlainSerializer, WithJsonSchema

DECIMAL_PATTERN = r"^-?[0-9]+(\.[0-9]+)?$"
AMOUNT_PATTERN = r"^[0-9]+(\.[0-9]+)?$"
CURRENCY_PATTERN = r"^[A-Z]{3}$"

_DECIMAL = re.compile(DECIMAL_PATTERN)
_CURRENCY = re.compile(CURRENCY_PATTERN)


class MoneyError(ValueError):
    """Root of every money error; a `ValueError`, so pydantic reports it per field."""


class UnknownCurrency(MoneyError):
    """The code is not an ISO 4217 currency."""


class InvalidAmount(MoneyError):
    """A float, NaN, infinity, malformed text, or more decimals than allowed."""


class CurrencyMismatch(MoneyError):
    """Two amounts in different currencies were combined; nothing is converted."""

    def __init__(self, left: str, right: str) -> None:
        super().__init__(f"cannot combine {left} with {right}")
        self.left = left
        self.right = right


@cache
def _is_known_currency(code: str) -> bool:
    # Babel looks the code up in its locale data on every call: slow on hot paths.
    return bool(is_currency(code))


def check_currency(code: str) -> str:
    """Return `code` if it is an upper-case ISO 4217 code Babel knows."""
    known = isinstance(code, str) and _CURRENCY.match(code) and _is_known_currency(code)
    if not known:
        raise UnknownCurrency(f"{code!r} is not an ISO 4217 currency code")
    return code


@cache
def minor_units(currency: str) -> int:
    """Decimals of the currency's minor unit: EUR 2, JPY 0, KWD 3."""
    return int(get_currency_precision(check_currency(currency)))


@cache
def _exponent(currency: str) -> Decimal:
    return Decimal(1).scaleb(-minor_units(currency))


def to_decimal(value: object) -> Decimal:
    """A finite `Decimal` from a `Decimal`, an `int` or a plain decimal string."""
    if isinstance(value, bool | float):
        raise InvalidAmount(
            f"money must be a decimal string, not {type(value).__name__}"
        )
    if isinstance(value, str):
        if not _DECIMAL.match(value):
            raise InvalidAmount(
                f"{value!r} is not a plain decimal number like '1250.00'"
            )
        return Decimal(value)
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise InvalidAmount(f"{value} is not a finite amount")
        return value
    raise InvalidAmount(f"money must be a decimal string, not {type(value).__name__}")


def quantize(amount: Decimal, currency: str) -> Decimal:
    """Round half-up to the currency's minor unit."""
    try:
        return amount.quantize(_exponent(currency), rounding=ROUND_HALF_UP)
    except InvalidOperation:
        raise InvalidAmount(f"{amount} is too large to be an amount") from None


def check_precision(amount: Decimal, currency: str) -> Decimal:
    """Return `amount` at the currency's minor unit; refuse it if that would round."""
    exact = quantize(amount, currency)
    if exact != amount:
        raise InvalidAmount(
            f"{amount} has more decimals than {currency} allows "
            f"({minor_units(currency)})"
        )
    return exact


def format_amount(amount: Decimal) -> str:
    """The amount as plain decimal text, never in exponent notation."""
    return format(amount, "f")


@dataclass(frozen=True, slots=True)
class Money:
    """An amount in one currency, held at the currency's minor unit."""

    amount: Decimal
    currency: str

    def __post_init__(self) -> None:
        check_currency(self.currency)
        amount = quantize(to_decimal(self.amount), self.currency)
        object.__setattr__(self, "amount", amount)

    @classmethod
    def parse(cls, text: str, currency: str) -> "Money":
        """Read `"1250.00"`; refuse floats, NaN, infinity and excess decimals."""
        if not isinstance(text, str):
            raise InvalidAmount(f"money must be a decimal string, not {type(text)}")
        return cls(
            check_precision(to_decimal(text), check_currency(currency)), currency
        )

    @classmethod
    def zero(cls, currency: str) -> "Money":
        return cls(Decimal(0), currency)

    @classmethod
    def total(cls, amounts: Iterable["Money"], currency: str) -> "Money":
        """The sum of `amounts`, zero in `currency` when there are none."""
        result = cls.zero(currency)
        for amount in amounts:
            result = result + amount
        return result

    @property
    def minor_units(self) -> int:
        return minor_units(self.currency)

    def to_string(self) -> str:
        """The amount alone, as on the wire: `"1250.00"`."""
        return format_amount(self.amount)

    def is_zero(self) -> bool:
        return self.amount == 0

    def is_positive(self) -> bool:
        return self.amount > 0

    def is_negative(self) -> bool:
        return self.amount < 0

    def times(self, factor: Decimal | int) -> "Money":
        """Multiply by an exact factor (a rate, a day count), rounding half-up."""
        return Money(self.amount * to_decimal(factor), self.currency)

    def _same_currency(self, other: "Money") -> None:
        if other.currency != self.currency:
            raise CurrencyMismatch(self.currency, other.currency)

    def __add__(self, other: object) -> "Money":
        if not isinstance(other, Money):
            return NotImplemented
        self._same_currency(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: object) -> "Money":
        if not isinstance(other, Money):
            return NotImplemented
        self._same_currency(other)
        return Money(self.amount - other.amount, self.currency)

    def __neg__(self) -> "Money":
        return Money(-self.amount, self.currency)

    def __lt__(self, other: "Money") -> bool:
        self._same_currency(other)
        return self.amount < other.amount

    def __le__(self, other: "Money") -> bool:
        self._same_currency(other)
        return self.amount <= other.amount

    def __gt__(self, other: "Money") -> bool:
        self._same_currency(other)
        return self.amount > other.amount

    def __ge__(self, other: "Money") -> bool:
        self._same_currency(other)
        return self.amount >= other.amount

    def __str__(self) -> str:
        return f"{self.to_string()} {self.currency}"


def _from_wire(value: object) -> Decimal:
    # JSON numbers are refused, integers included: on the wire money is text.
    if not isinstance(value, str | Decimal):
        raise InvalidAmount(
            f"money must be a decimal string, not {type(value).__name__}"
        )
    return to_decimal(value)


def _non_negative(value: Decimal) -> Decimal:
    if value < 0:
        raise InvalidAmount(f"{value} is negative; amounts here are zero or more")
    return value


class MoneyAmountMarker:
    """Marks a field as money, so a payload can hold it to its currency's decimals."""


MONEY_AMOUNT = MoneyAmountMarker()


def _decimal_schema(pattern: str) -> WithJsonSchema:
    return WithJsonSchema({"type": "string", "pattern": pattern})


_AS_TEXT = PlainSerializer(format_amount, return_type=str, when_used="json")

DecimalStr = Annotated[
    Decimal,
    BeforeValidator(_from_wire),
    _AS_TEXT,
    _decimal_schema(DECIMAL_PATTERN),
]
"""A signed decimal (a rate, an interest margin); a string such as `"-0.88"` in JSON."""

AmountStr = Annotated[
    Decimal,
    BeforeValidator(_from_wire),
    AfterValidator(_non_negative),
    MONEY_AMOUNT,
    _AS_TEXT,
    _decimal_schema(AMOUNT_PATTERN),
]
"""An amount of money, zero or more; a string such as `"1250.00"` in JSON."""


def _currency(value: Any) -> str:
    if not isinstance(value, str):
        raise UnknownCurrency(f"{value!r} is not an ISO 4217 currency code")
    return check_currency(value)


CurrencyCode = Annotated[
    str,
    BeforeValidator(_currency),
    WithJsonSchema(
        {"type": "string", "pattern": CURRENCY_PATTERN, "examples": ["EUR"]}
    ),
]
"""An upper-case ISO 4217 currency code that Babel knows, such as `"EUR"`."""
