"""The base of every event payload, and of the parts payloads are made of."""

import functools
import types
import typing
from decimal import Decimal
from typing import Any, ClassVar, Literal, Self

from pydantic import BaseModel, ConfigDict, model_validator
from pydantic.fields import FieldInfo

from shared.events.errors import MisaddressedEvent
from shared.money import MONEY_AMOUNT, check_precision


class Part(BaseModel):
    """A strict, immutable piece of a payload: unknown fields are refused."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Payload(Part):
    """The `data` of one event type.

    Every money amount in a payload with a `currency` is held to that
    currency's minor unit: `"1200"` in EUR reads as `1200.00`, `"12.345"` in
    EUR is refused.
    """

    event_type: ClassVar[str]
    schema_version: ClassVar[int] = 1
    keyed_by: ClassVar[Literal["debtor", "creditor"]] = "debtor"
    partial: ClassVar[bool] = False
    """A partial update carries only the fields it changes."""

    def to_data(self) -> dict[str, Any]:
        """The JSON-ready `data` of an envelope: money as strings, dates as text."""
        return self.model_dump(mode="json", exclude_unset=self.partial)

    @model_validator(mode="after")
    def _amounts_fit_currency(self) -> Self:
        _fit_amounts(self, getattr(self, "currency", None), type(self).__name__)
        return self


def check_addressing(model: type[Payload], debtor: str | None) -> None:
    """A debtor event names its debtor; a creditor event names none."""
    if model.keyed_by == "debtor" and debtor is None:
        raise MisaddressedEvent(f"{model.event_type} needs a debtor")
    if model.keyed_by == "creditor" and debtor is not None:
        raise MisaddressedEvent(f"{model.event_type} is keyed by creditor, not debtor")


def is_money_field(info: FieldInfo) -> bool:
    """Whether a field holds an amount of money (`AmountStr`, possibly optional)."""
    return MONEY_AMOUNT in info.metadata or _is_money(info.annotation)


def _is_money(annotation: Any) -> bool:
    if typing.get_origin(annotation) is typing.Annotated:
        return MONEY_AMOUNT in annotation.__metadata__
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return any(_is_money(arg) for arg in typing.get_args(annotation))
    return False


def _fit_amounts(part: BaseModel, currency: object, path: str) -> None:
    # Validation of the payload has finished, so the normalised amount is set
    # in place: equal in value, only its exponent changes.
    own = getattr(part, "currency", None)
    if isinstance(own, str):
        currency = own
    if not isinstance(currency, str):
        return
    money = _money_fields(type(part))
    for name, value in part.__dict__.items():
        if isinstance(value, Decimal):
            if name in money:
                part.__dict__[name] = _fit(value, currency, f"{path}.{name}")
        elif isinstance(value, BaseModel):
            _fit_amounts(value, currency, f"{path}.{name}")
        elif isinstance(value, list):
            for index, item in enumerate(value):
                if isinstance(item, BaseModel):
                    _fit_amounts(item, currency, f"{path}.{name}[{index}]")


@functools.cache
def _money_fields(model: type[BaseModel]) -> frozenset[str]:
    """The money fields of a model, looked up once: every payload checks them."""
    return frozenset(
        name for name, info in model.model_fields.items() if is_money_field(info)
    )


def _fit(amount: Decimal, currency: str, where: str) -> Decimal:
    try:
        return check_precision(amount, currency)
    except ValueError as error:
        raise ValueError(f"{where}: {error}") from None
