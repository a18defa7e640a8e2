"""Small helpers every envelope handler uses: accept a type, name the ids to log."""

from typing import Any

from shared.events import Envelope
from shared.events.registry import types_on
from shared.messaging.errors import UnknownEventType
from shared.topics import Topic


def accept(envelope: Envelope, topic: Topic) -> None:
    """Raise `UnknownEventType` (dead-lettered) unless `topic` carries this type."""
    if envelope.type not in types_on(topic):
        raise UnknownEventType(envelope.type, topic.name)


def log_ids(envelope: Envelope, topic: Topic) -> dict[str, Any]:
    """The `extra` of a log line about `envelope`: ids only, never `data`."""
    return {
        "event_id": str(envelope.id),
        "type": envelope.type,
        "topic": topic.name,
        "key": envelope.key,
        "creditor": envelope.creditor,
        "debtor": envelope.debtor,
    }
