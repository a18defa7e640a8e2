"""A batch subscriber's records, checked: the valid envelopes of the topic, parsed.

A batch handler gets the raw records of a poll; whatever is not a valid
envelope of the topic, with a valid payload, goes to the dead-letter topic
with its reason, and the rest is handled.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from aiokafka import ConsumerRecord
from pydantic import ValidationError

from shared.events import Envelope, EventContractError, Payload, parse_payload
from shared.messaging.dlq import DeadLetters
from shared.messaging.errors import PermanentError
from shared.messaging.handlers import accept
from shared.topics import Topic


@dataclass
class Checked:
    """The poll's good records, each with its envelope and payload, in order."""

    envelopes: list[Envelope] = field(default_factory=list)
    payloads: list[Payload] = field(default_factory=list)
    records: list[ConsumerRecord[Any, Any]] = field(default_factory=list)


async def checked(
    records: Sequence[ConsumerRecord[Any, Any]],
    topic: Topic,
    dead_letters: DeadLetters,
) -> Checked:
    """Parse each record; dead-letter the ones that are not valid on `topic`."""
    good = Checked()
    for record in records:
        try:
            envelope = Envelope.from_bytes(record.value or b"")
            accept(envelope, topic)
            payload = parse_payload(envelope)
        except (ValidationError, EventContractError, PermanentError) as error:
            await dead_letters.send(record, error)
            continue
        good.envelopes.append(envelope)
        good.payloads.append(payload)
        good.records.append(record)
    return good
