"""SPEC §6 "nothing lost on bad input", consumer side, as a faststream middleware.

Around every envelope handler: bytes that are not an envelope, an unknown type
or a permanent failure are dead-lettered and committed, so the consumer goes on;
a retryable failure leaves the record uncommitted and seeks back to it, so it is
delivered again after a pause that doubles up to a ceiling.
"""

import logging
from dataclasses import dataclass, field
from typing import Any

import anyio
from aiokafka import ConsumerRecord
from faststream import BaseMiddleware
from faststream.exceptions import HandlerException
from faststream.message import StreamMessage
from pydantic import ValidationError

from shared.events import Envelope
from shared.messaging.dlq import DeadLetters
from shared.messaging.errors import PermanentError, RetryableError

logger = logging.getLogger(__name__)

_Coordinates = tuple[str, int, int]


@dataclass
class Backoff:
    """Pause before a record is delivered again: `first`, doubled per attempt."""

    first: float = 0.5
    ceiling: float = 30.0
    _attempts: dict[_Coordinates, int] = field(default_factory=dict, repr=False)

    def next_delay(self, record: ConsumerRecord[Any, Any]) -> tuple[int, float]:
        """The attempt this retry is, and how long to wait before it."""
        coordinates = _coordinates(record)
        attempt = self._attempts.get(coordinates, 0) + 1
        self._attempts[coordinates] = attempt
        return attempt, min(self.first * 2 ** (attempt - 1), self.ceiling)

    def forget(self, record: ConsumerRecord[Any, Any]) -> None:
        self._attempts.pop(_coordinates(record), None)


class EnvelopeGuard:
    """Middleware factory for a router whose subscribers all take an `Envelope`."""

    def __init__(
        self, dead_letters: DeadLetters, backoff: Backoff | None = None
    ) -> None:
        self.dead_letters = dead_letters
        self.backoff = backoff or Backoff()

    def __call__(self, msg: Any, /, *, context: Any) -> "_GuardScope":
        return _GuardScope(msg, context=context, guard=self)


class _GuardScope(BaseMiddleware):
    def __init__(self, msg: Any, /, *, context: Any, guard: EnvelopeGuard) -> None:
        super().__init__(msg, context=context)
        self.guard = guard

    async def consume_scope(self, call_next: Any, msg: StreamMessage[Any]) -> Any:
        record: ConsumerRecord[Any, Any] = msg.raw_message
        dead_letters, backoff = self.guard.dead_letters, self.guard.backoff

        try:
            envelope = Envelope.from_bytes(msg.body)
        except ValidationError as error:
            await dead_letters.send(record, error)
            return None

        event_id = str(envelope.id)
        try:
            result = await call_next(msg)
        except HandlerException:
            raise  # an explicit ack, nack or reject from the handler stands
        except RetryableError as error:
            attempt, delay = backoff.next_delay(record)
            logger.warning(
                "retry scheduled",
                extra={
                    **_ids(record, envelope),
                    "error": type(error).__name__,
                    "attempt": attempt,
                    "retry_in": delay,
                },
            )
            await anyio.sleep(delay)
            await msg.nack()
            return None
        except PermanentError as error:
            await dead_letters.send(record, error, event_id=event_id)
        except Exception as error:
            logger.exception(
                "giving up on an unexpected error",
                extra={**_ids(record, envelope), "error": type(error).__name__},
            )
            await dead_letters.send(record, error, event_id=event_id)
        else:
            backoff.forget(record)
            return result

        backoff.forget(record)
        return None


def _coordinates(record: ConsumerRecord[Any, Any]) -> _Coordinates:
    return (record.topic, record.partition, record.offset)


def _ids(record: ConsumerRecord[Any, Any], envelope: Envelope) -> dict[str, Any]:
    return {
        "event_id": str(envelope.id),
        "type": envelope.type,
        "topic": record.topic,
        "partition": record.partition,
        "offset": record.offset,
        "key": envelope.key,
    }
