"""A dataclass's state as JSON and back, read from its type hints.

The domain's dataclasses grow: a field added later is written and read with
no change here, because every value is converted by its declared type.
Fields a stored document lacks take their defaults, so older rows still load;
keys it has that the class no longer declares are ignored.
"""

import dataclasses
import types
from collections.abc import Callable, Iterable
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any, Literal, TypeVar, Union, get_args, get_origin, get_type_hints

from pydantic import BaseModel

T = TypeVar("T")


class DocumentError(TypeError):
    """A value of a type no document can hold, or a document that does not fit."""


def dump(obj: object, *, exclude: Iterable[str] = ()) -> dict[str, Any]:
    """The JSON-able state of dataclass `obj`, without the `exclude`d fields."""
    skipped = set(exclude)
    hints = _hints(type(obj))
    return {
        f.name: _encode(getattr(obj, f.name), hints[f.name], f.name)
        for f in dataclasses.fields(obj)  # type: ignore[arg-type]
        if f.name not in skipped
    }


def load(cls: type[T], document: dict[str, Any], **given: Any) -> T:
    """An instance of dataclass `cls` from `document`; `given` supplies the rest."""
    hints = _hints(cls)
    init: dict[str, Any] = dict(given)
    later: dict[str, Any] = {}
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        if f.name in given or f.name not in document:
            continue
        value = _decode(document[f.name], hints[f.name], f.name)
        (init if f.init else later)[f.name] = value
    obj = cls(**init)
    for name, value in later.items():
        # Frozen classes too: this restores state, it does not change it.
        object.__setattr__(obj, name, value)
    return obj


_HINTS: dict[type, dict[str, Any]] = {}


def _hints(cls: type) -> dict[str, Any]:
    """The class's resolved type hints, worked out once per class."""
    if cls not in _HINTS:
        _HINTS[cls] = get_type_hints(cls)
    return _HINTS[cls]


def _is_union(hint: Any) -> bool:
    return get_origin(hint) in (Union, types.UnionType)


def _encode(value: Any, hint: Any, where: str) -> Any:
    if hint is Any:
        return value
    if _is_union(hint):
        return _encode_union(value, hint, where)
    origin = get_origin(hint)
    if origin is Literal:
        return value
    if origin in (list, tuple, set, frozenset):
        return _encode_items(value, hint, where)
    if origin is dict:
        key, item = get_args(hint)
        pairs = [
            (_encode(k, key, where), _encode(v, item, f"{where}[{k!r}]"))
            for k, v in value.items()
        ]
        if all(isinstance(k, str) for k, _ in pairs):
            return dict(pairs)
        # JSON keys are text: other keys go as a list of pairs.
        return [[k, v] for k, v in pairs]
    if isinstance(hint, type):
        return _encode_plain(value, hint, where)
    raise DocumentError(f"{where}: no document holds a {hint!r}")


def _encode_union(value: Any, hint: Any, where: str) -> Any:
    if value is None:
        return None
    arms = [a for a in get_args(hint) if a is not type(None)]
    if len(arms) == 1:
        return _encode(value, arms[0], where)
    # Several arms: the value's own class says which, and the document keeps it.
    for arm in arms:
        base = get_origin(arm) or arm
        if isinstance(base, type) and isinstance(value, base):
            return {"type": base.__name__, "value": _encode(value, arm, where)}
    raise DocumentError(f"{where}: {type(value).__name__} is none of {hint!r}")


def _encode_items(value: Any, hint: Any, where: str) -> list[Any]:
    args = get_args(hint)
    if get_origin(hint) is tuple and args and args[-1] is not Ellipsis:
        return [
            _encode(v, a, f"{where}[{i}]")
            for i, (v, a) in enumerate(zip(value, args, strict=True))
        ]
    item = args[0] if args else Any
    encoded = [_encode(v, item, f"{where}[]") for v in value]
    if get_origin(hint) in (set, frozenset):
        # A set has no order of its own; a sorted list gives the same document.
        encoded.sort(key=repr)
    return encoded


def _encode_plain(value: Any, hint: type, where: str) -> Any:
    if value is None:
        raise DocumentError(f"{where}: None where a {hint.__name__} is declared")
    if issubclass(hint, Enum):
        return value.value
    if hint in (str, int, bool, float):
        return value
    if hint is Decimal:
        return str(value)
    if hint is datetime:
        return value.isoformat()
    if hint is date:
        return value.isoformat()
    if dataclasses.is_dataclass(hint):
        return dump(value)
    if issubclass(hint, BaseModel):
        return value.model_dump(mode="json")
    raise DocumentError(f"{where}: no document holds a {hint.__name__}")


def _decode(value: Any, hint: Any, where: str) -> Any:
    if hint is Any:
        return value
    if _is_union(hint):
        return _decode_union(value, hint, where)
    origin = get_origin(hint)
    if origin is Literal:
        if value not in get_args(hint):
            raise DocumentError(f"{where}: {value!r} is not one of {get_args(hint)}")
        return value
    if origin in (list, tuple, set, frozenset):
        return _decode_items(value, hint, where)
    if origin is dict:
        key, item = get_args(hint)
        pairs = value.items() if isinstance(value, dict) else value
        return {
            _decode(k, key, where): _decode(v, item, f"{where}[{k!r}]")
            for k, v in pairs
        }
    if isinstance(hint, type):
        return _decode_plain(value, hint, where)
    raise DocumentError(f"{where}: no document holds a {hint!r}")


def _decode_union(value: Any, hint: Any, where: str) -> Any:
    if value is None:
        return None
    arms = [a for a in get_args(hint) if a is not type(None)]
    if len(arms) == 1:
        return _decode(value, arms[0], where)
    for arm in arms:
        base = get_origin(arm) or arm
        if getattr(base, "__name__", None) == value["type"]:
            return _decode(value["value"], arm, where)
    raise DocumentError(f"{where}: {value['type']!r} is none of {hint!r}")


def _decode_items(value: Any, hint: Any, where: str) -> Any:
    origin: Callable[[Iterable[Any]], Any] = get_origin(hint)
    args = get_args(hint)
    if origin is tuple and args and args[-1] is not Ellipsis:
        return tuple(
            _decode(v, a, f"{where}[{i}]")
            for i, (v, a) in enumerate(zip(value, args, strict=True))
        )
    item = args[0] if args else Any
    return origin(_decode(v, item, f"{where}[]") for v in value)


def _decode_plain(value: Any, hint: type, where: str) -> Any:
    if value is None:
        raise DocumentError(f"{where}: None where a {hint.__name__} is declared")
    if issubclass(hint, Enum):
        return hint(value)
    if hint is bool or hint is str:
        return value
    if hint is int:
        return int(value)
    if hint is float:
        return float(value)
    if hint is Decimal:
        return Decimal(value)
    if hint is datetime:
        return datetime.fromisoformat(value)
    if hint is date:
        return date.fromisoformat(value)
    if dataclasses.is_dataclass(hint):
        return load(hint, value)
    if issubclass(hint, BaseModel):
        return hint.model_validate(value)
    raise DocumentError(f"{where}: no document holds a {hint.__name__}")
