"""The ledger as a FastStream app: it records facts from `ledger.inbound`.

What it records reaches `ledger.events` and `ledger.creditors` through the
outbox, written in the same transaction as the fact; both topics are
declared here so the AsyncAPI document shows them.
"""

import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import anyio
from aiokafka import ConsumerRecord
from faststream import FastStream
from faststream.kafka.annotations import KafkaMessage
from pydantic import ValidationError
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from services.ledger.domain.errors import LedgerError
from services.ledger.service import Ledger, RecordResult
from services.ledger.settings import LedgerSettings
from shared.clock import clock_from_settings
from shared.db.engine import make_engine
from shared.events import Envelope
from shared.messaging.broker import (
    build_broker,
    declare_publisher,
    envelope_router,
    stream_app,
    subscribe,
)
from shared.messaging.dlq import DeadLetters
from shared.messaging.errors import PermanentError, RetryableError
from shared.messaging.handlers import accept, log_ids
from shared.topics import LEDGER_CREDITORS, LEDGER_EVENTS, LEDGER_INBOUND

SERVICE = "ledger"
DESCRIPTION = (
    "Keeps the ledger of debtors, invoices, credit notes and payments, fed by "
    "accounting platforms, and publishes what it recorded."
)

# Facts a poll hands the ledger at most; one transaction per creditor among them.
BATCH_SIZE = 2000

logger = logging.getLogger(__name__)

_Entry = tuple["ConsumerRecord[Any, Any]", Envelope]


class FactRefused(PermanentError):
    """The ledger refused the fact; the reason names the field at fault."""

    def __init__(self, error: LedgerError) -> None:
        super().__init__(str(error))
        self.field = error.field


class LedgerUnavailable(RetryableError):
    """The ledger's database could not be reached; the fact is tried again."""


def fact_recorder(
    ledger: Ledger, dead_letters: DeadLetters
) -> Callable[[KafkaMessage], Awaitable[None]]:
    """The handler of `ledger.inbound`, recording a poll's facts into `ledger`.

    Each creditor's facts of the poll are recorded in one transaction, in the
    order they arrived. A refusal rolls that transaction back and names the
    fact at fault: it is dead-lettered, the facts before it are recorded
    together, and those after it are tried again together. A fact recorded
    before a retry is recognised by its envelope id and not recorded twice.
    """

    async def record_facts(message: KafkaMessage) -> None:
        """Facts from accounting platforms, to be recorded in the ledger."""
        records: Sequence[ConsumerRecord[Any, Any]] = message.raw_message
        by_creditor: dict[str, list[_Entry]] = {}
        for record in records:
            try:
                envelope = Envelope.from_bytes(record.value or b"")
                accept(envelope, LEDGER_INBOUND)
            except ValidationError as error:
                await dead_letters.send(record, error)
                continue
            except PermanentError as error:
                await dead_letters.send(record, error, event_id=str(envelope.id))
                continue
            by_creditor.setdefault(envelope.creditor, []).append((record, envelope))

        for creditor, entries in by_creditor.items():
            await record_in_order(creditor, entries)

    async def record_in_order(creditor: str, entries: list[_Entry]) -> None:
        pending = entries
        while pending:
            try:
                results = await _in_thread(
                    ledger.record_many, creditor, [e for _, e in pending]
                )
            except LedgerError as error:
                stop = error.index or 0
                error.index = None  # a place in this poll means nothing in the DLQ
                if stop:
                    await record_in_order(creditor, pending[:stop])
                record, envelope = pending[stop]
                await dead_letters.send(
                    record, FactRefused(error), event_id=str(envelope.id)
                )
                pending = pending[stop + 1 :]
                continue

            if logger.isEnabledFor(logging.INFO):
                for (_, envelope), result in zip(pending, results, strict=True):
                    logger.info(
                        "fact already recorded"
                        if result.duplicate
                        else "fact recorded",
                        extra={
                            **log_ids(envelope, LEDGER_INBOUND),
                            "emitted": len(result.emitted),
                        },
                    )
            return

    return record_facts


async def _in_thread(
    record_many: Callable[[str, list[Envelope]], list[RecordResult]],
    creditor: str,
    envelopes: list[Envelope],
) -> list[RecordResult]:
    """Run `record_many` off the event loop; a lost database is worth a retry."""
    try:
        return await anyio.to_thread.run_sync(record_many, creditor, envelopes)
    except (OperationalError, InterfaceError) as error:
        raise LedgerUnavailable(type(error).__name__) from error
    except DBAPIError as error:
        if error.connection_invalidated:
            raise LedgerUnavailable(type(error).__name__) from error
        raise


def create_app(
    settings: LedgerSettings | None = None, *, ledger: Ledger | None = None
) -> FastStream:
    """The ledger's FastStream app, on the Kafka and database `settings` name."""
    settings = settings or LedgerSettings()
    ledger = ledger or Ledger(
        make_engine(settings.database_url), clock_from_settings(settings)
    )
    broker = build_broker(settings, service=SERVICE)
    router = envelope_router(broker, settings.consumer_group)
    dead_letters = DeadLetters(broker, settings.consumer_group)

    subscribe(
        router,
        LEDGER_INBOUND,
        fact_recorder(ledger, dead_letters),
        consumer_group=settings.consumer_group,
        batch_of=BATCH_SIZE,
    )
    declare_publisher(router, LEDGER_EVENTS)
    declare_publisher(router, LEDGER_CREDITORS)

    broker.include_router(router)
    return stream_app(broker, service=SERVICE, description=DESCRIPTION)
