"""Which payload model each event type has, on which topic, and how to read one."""

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache

from shared.events import collections, contacts, creditors, inbound, ledger, notifier
from shared.events.envelope import Envelope
from shared.events.errors import UnknownEventType, UnsupportedSchemaVersion
from shared.events.payload import Payload, check_addressing
from shared.topics import (
    COLLECTIONS_CONTACTS,
    COLLECTIONS_EVENTS,
    LEDGER_CREDITORS,
    LEDGER_EVENTS,
    LEDGER_INBOUND,
    NOTIFIER_EVENTS,
    Topic,
)


@dataclass(frozen=True)
class EventKind:
    """One event type as it travels on one topic."""

    model: type[Payload]
    topic: Topic
    producer: str

    @property
    def type(self) -> str:
        return self.model.event_type


def _kinds(topic: Topic, producer: str, *models: type[Payload]) -> list[EventKind]:
    return [EventKind(model, topic, producer) for model in models]


PUBLISHED: tuple[EventKind, ...] = (
    *_kinds(
        LEDGER_CREDITORS,
        "ledger",
        creditors.CreditorUpdated,
    ),
    *_kinds(
        LEDGER_EVENTS,
        "ledger",
        ledger.DebtorUpserted,
        ledger.InvoiceIssued,
        ledger.InvoiceAdjusted,
        ledger.InvoiceWrittenOff,
        ledger.PaymentReceived,
    ),
    *_kinds(COLLECTIONS_CONTACTS, "scheduler", contacts.SendContact),
    *_kinds(
        COLLECTIONS_EVENTS,
        "scheduler",
        collections.CaseOpened,
        collections.CasePaused,
        collections.CaseEscalated,
        collections.CaseResolved,
        collections.PromiseRecorded,
        collections.PromiseKept,
        collections.PromiseBroken,
        collections.DisputeOpened,
        collections.DisputeResolved,
        collections.PlanAgreed,
        collections.PlanCompleted,
        collections.PlanBroken,
    ),
    *_kinds(
        NOTIFIER_EVENTS,
        "notifier",
        notifier.ContactSent,
        notifier.ContactFailed,
        notifier.ContactBounced,
        notifier.ContactSkipped,
    ),
)
"""Every event a service of ours publishes; each type name appears once."""

INBOUND: tuple[EventKind, ...] = tuple(
    _kinds(
        LEDGER_INBOUND,
        "accounting platforms",
        inbound.InboundDebtorUpserted,
        inbound.InboundDebtorUpdated,
        inbound.InboundInvoiceIssued,
        inbound.InboundPaymentReceived,
        inbound.InboundCreditNoteIssued,
        inbound.InboundInvoiceWrittenOff,
    )
)
"""The facts the ledger accepts on `ledger.inbound`, under the same type names."""

EVENT_TYPES: dict[str, type[Payload]] = {kind.type: kind.model for kind in PUBLISHED}
INBOUND_TYPES: dict[str, type[Payload]] = {kind.type: kind.model for kind in INBOUND}


def parse_payload(
    envelope: Envelope, types: Mapping[str, type[Payload]] = EVENT_TYPES
) -> Payload:
    """Validate `envelope.data` against the model of its type.

    Raises an `EventContractError` (unknown type, unsupported schema version,
    debtor missing or superfluous) or a pydantic `ValidationError`.
    """
    model = types.get(envelope.type)
    if model is None:
        raise UnknownEventType(envelope.type)
    if envelope.schema_version != model.schema_version:
        raise UnsupportedSchemaVersion(
            envelope.type, envelope.schema_version, model.schema_version
        )
    check_addressing(model, envelope.debtor)
    return model.model_validate(envelope.data)


def parse_inbound(envelope: Envelope) -> Payload:
    """`parse_payload` for a fact received on `ledger.inbound`."""
    return parse_payload(envelope, INBOUND_TYPES)


@cache  # asked for every message a consumer accepts
def types_on(topic: Topic) -> frozenset[str]:
    """The event types `topic` carries; any other type there is dead-lettered."""
    return frozenset(
        kind.type for kind in (*PUBLISHED, *INBOUND) if kind.topic == topic
    )
