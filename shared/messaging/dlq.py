"""Dead letters: a message that cannot be handled goes to `<topic>.dlq`, unchanged.

The record keeps the original value byte for byte and the original key, so an
operator can replay it as it was; headers say where it came from and why it
failed, naming the field where one is at fault.
"""

import logging
from datetime import UTC, datetime
from typing import Any, Protocol

from aiokafka import ConsumerRecord
from pydantic import ValidationError

from shared.topics import DLQ_SUFFIX

logger = logging.getLogger(__name__)

REASON = "x-dlq-reason"
ERROR = "x-dlq-error"
TOPIC = "x-dlq-topic"
PARTITION = "x-dlq-partition"
OFFSET = "x-dlq-offset"
CONSUMER_GROUP = "x-dlq-consumer-group"
FAILED_AT = "x-dlq-failed-at"

_MAX_REASON = 1000


class Publisher(Protocol):
    """The part of a faststream `KafkaBroker` dead-lettering needs."""

    async def publish(
        self,
        message: Any,
        topic: str = "",
        *,
        key: bytes | Any | None = None,
        headers: dict[str, str] | None = None,
    ) -> Any: ...


def dlq_topic(topic: str) -> str:
    """The dead-letter twin of a topic."""
    return topic + DLQ_SUFFIX


def reason_for(error: BaseException) -> str:
    """A reason a person can act on: each failing field's dotted path and message.

    Never the offending value: it may be a debtor's name or an amount.
    """
    if isinstance(error, ValidationError):
        problems = []
        for detail in error.errors(include_url=False, include_input=False):
            path = ".".join(str(part) for part in detail["loc"])
            problems.append(f"{path}: {detail['msg']}" if path else detail["msg"])
        reason = "; ".join(problems) or str(error.title)
    elif isinstance(error, UnicodeDecodeError):
        reason = f"not UTF-8 at byte {error.start}"
    else:
        reason = str(error) or type(error).__name__
    return reason[:_MAX_REASON]


def dead_letter_headers(
    record: ConsumerRecord[Any, Any],
    *,
    error: BaseException,
    consumer_group: str,
    failed_at: datetime | None = None,
) -> dict[str, str]:
    """The record's own headers, plus where it came from and why it failed."""
    headers = {}
    for name, value in record.headers or ():
        try:
            headers[name] = value.decode()
        except UnicodeDecodeError:
            continue  # faststream sends text headers only; a binary one is dropped

    headers.update(
        {
            REASON: reason_for(error),
            ERROR: type(error).__name__,
            TOPIC: record.topic,
            PARTITION: str(record.partition),
            OFFSET: str(record.offset),
            CONSUMER_GROUP: consumer_group,
            FAILED_AT: (failed_at or datetime.now(UTC)).isoformat(),
        }
    )
    return headers


class DeadLetters:
    """Publishes what a consumer group could not handle to the topic's `.dlq` twin."""

    def __init__(self, broker: Publisher, consumer_group: str) -> None:
        self.broker = broker
        self.consumer_group = consumer_group

    async def send(
        self,
        record: ConsumerRecord[Any, Any],
        error: BaseException,
        *,
        event_id: str | None = None,
    ) -> None:
        """Dead-letter `record`; raises if the DLQ did not take it, so it is retried."""
        headers = dead_letter_headers(
            record, error=error, consumer_group=self.consumer_group
        )
        target = dlq_topic(record.topic)

        await self.broker.publish(
            record.value if record.value is not None else b"",
            target,
            key=record.key,
            headers=headers,
        )

        logger.warning(
            "dead-lettered",
            extra={
                "event_id": event_id,
                "topic": record.topic,
                "partition": record.partition,
                "offset": record.offset,
                "key": _text(record.key),
                "consumer_group": self.consumer_group,
                "dlq_topic": target,
                "error": headers[ERROR],
                "reason": headers[REASON],
            },
        )


def _text(key: bytes | str | None) -> str | None:
    if isinstance(key, bytes):
        return key.decode(errors="replace")
    return key
