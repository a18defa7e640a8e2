"""The event contracts every service speaks: one envelope, typed payloads."""

from shared.events.envelope import Envelope, debtor_key
from shared.events.errors import (
    EventContractError,
    MisaddressedEvent,
    UnknownEventType,
    UnsupportedSchemaVersion,
)
from shared.events.payload import Part, Payload
from shared.events.registry import (
    EVENT_TYPES,
    INBOUND,
    INBOUND_TYPES,
    PUBLISHED,
    EventKind,
    parse_inbound,
    parse_payload,
)

__all__ = [
    "EVENT_TYPES",
    "INBOUND",
    "INBOUND_TYPES",
    "PUBLISHED",
    "Envelope",
    "EventContractError",
    "EventKind",
    "MisaddressedEvent",
    "Part",
    "Payload",
    "UnknownEventType",
    "UnsupportedSchemaVersion",
    "debtor_key",
    "parse_inbound",
    "parse_payload",
]
