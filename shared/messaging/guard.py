"""SPEC §6 "nothing lost on bad input", consumer side, as a faststream middleware.

Around every envelope handler: bytes that are not an envelope, an unknown type,
a payload that fails validation or a permanent failure are dead-lettered and
committed, so the consumer goes on;
a retryable failure leaves the record uncommitted and seeks back to it, so it is
delivered again after a pause that doubles up to a ceiling.

A batch subscriber's handler gets the records undecoded and dead-letters its
bad ones itself (`DeadLetters.send`); around it the guard only retries the
whole batch on a retryable failure, or any other that escapes the handler.
"""

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
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
        if isinstance(msg.raw_message, tuple | list):
            return await self._consume_batch(call_next, msg)
        record: ConsumerRecord[Any, Any] = msg.raw_message

        try:
            envelope = Envelope.from_bytes(msg.body)
        except ValidationError as error:
            return await self._dead_letter(msg, error, _coordinates_of(record))

        ids = _ids(record, envelope)
        try:
            result = await call_next(msg)
        except HandlerException:
            raise  # an explicit ack, nack or reject from the handler stands
        except RetryableError as error:
            return await self._retry_later(msg, error, ids)
        except (PermanentError, ValidationError) as error:
            # a ValidationError here is the handler's check of `data`: permanent too
            return await self._dead_letter(msg, error, ids)
        except Exception as error:
            logger.exception(
                "giving up on an unexpected error",
                extra={**ids, "error": type(error).__name__},
            )
            return await self._dead_letter(msg, error, ids)

        self.guard.backoff.forget(record)
        return result

    async def _consume_batch(self, call_next: Any, msg: StreamMessage[Any]) -> Any:
        records: tuple[ConsumerRecord[Any, Any], ...] = msg.raw_message
        first = records[0]
        ids = {**_coordinates_of(first), "records": len(records)}
        try:
            result = await call_next(msg)
        except HandlerException:
            raise
        except Exception as error:
            # Nothing to dead-letter: the handler has set aside each bad record;
            # what escapes it concerns the whole batch, which is tried again.
            if not isinstance(error, RetryableError):
                logger.exception(
                    "batch failed unexpectedly",
                    extra={**ids, "error": type(error).__name__},
                )
            return await self._retry_later(msg, error, ids)

        self.guard.backoff.forget(first)
        return result

    async def _dead_letter(
        self, msg: StreamMessage[Any], error: BaseException, ids: dict[str, Any]
    ) -> None:
        record = msg.raw_message
        try:
            await self.guard.dead_letters.send(
                record, error, event_id=ids.get("event_id")
            )
        except Exception as failure:
            # The DLQ did not take it: keep the record rather than lose it.
            await self._retry_later(msg, failure, ids)
            return
        self.guard.backoff.forget(record)

    async def _retry_later(
        self, msg: StreamMessage[Any], error: BaseException, ids: dict[str, Any]
    ) -> None:
        raw = msg.raw_message
        attempt, delay = self.guard.backoff.next_delay(
            raw[0] if isinstance(raw, tuple | list) else raw
        )
        logger.warning(
            "retry scheduled",
            extra={
                **ids,
                "error": type(error).__name__,
                "attempt": attempt,
                "retry_in": delay,
            },
        )
        await anyio.sleep(delay)
        await msg.nack()


async def tolerate_binary_headers(
    record: ConsumerRecord[Any, Any] | Sequence[ConsumerRecord[Any, Any]],
    parse: Callable[[Any], Awaitable[StreamMessage[Any]]],
) -> StreamMessage[Any]:
    """faststream reads every header as UTF-8; drop one that is not, not the record.

    Otherwise the parser fails before the guard runs, and the record (or the
    batch holding it) is redelivered for ever, blocking its partition.
    """
    if isinstance(record, tuple | list):
        # A batch, always a tuple: the test broker hands a list, which
        # faststream's nack would take for a single record.
        return await parse(tuple(_text_headers_only(r) for r in record))
    return await parse(_text_headers_only(record))


def _text_headers_only(record: ConsumerRecord[Any, Any]) -> ConsumerRecord[Any, Any]:
    headers = record.headers or ()
    if all(_is_text(value) for _, value in headers):
        return record
    kept = [(name, value) for name, value in headers if _is_text(value)]
    return replace(record, headers=kept)


def _is_text(value: bytes | None) -> bool:
    try:
        (value or b"").decode()
    except UnicodeDecodeError:
        return False
    return True


def _coordinates(record: ConsumerRecord[Any, Any]) -> _Coordinates:
    return (record.topic, record.partition, record.offset)


def _coordinates_of(record: ConsumerRecord[Any, Any]) -> dict[str, Any]:
    return {
        "topic": record.topic,
        "partition": record.partition,
        "offset": record.offset,
    }


def _ids(record: ConsumerRecord[Any, Any], envelope: Envelope) -> dict[str, Any]:
    return {
        "event_id": str(envelope.id),
        "type": envelope.type,
        "topic": record.topic,
        "partition": record.partition,
        "offset": record.offset,
        "key": envelope.key,
    }
