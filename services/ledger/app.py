"""The ledger as a FastStream app: it records facts from `ledger.inbound`.

What it records reaches `ledger.events` and `ledger.creditors` through the
outbox, written in the same transaction as the fact; both topics are
declared here so the AsyncAPI document shows them.
"""

import logging
from collections.abc import Awaitable, Callable

import anyio
from faststream import FastStream
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from services.ledger.domain.errors import LedgerError
from services.ledger.service import Ledger
from services.ledger.settings import LedgerSettings
from shared.clock import SystemClock
from shared.db.engine import make_engine
from shared.events import Envelope
from shared.messaging.broker import (
    build_broker,
    declare_publisher,
    envelope_router,
    stream_app,
    subscribe,
)
from shared.messaging.errors import PermanentError, RetryableError
from shared.messaging.handlers import accept, log_ids
from shared.topics import LEDGER_CREDITORS, LEDGER_EVENTS, LEDGER_INBOUND

SERVICE = "ledger"
DESCRIPTION = (
    "Keeps the ledger of debtors, invoices, credit notes and payments, fed by "
    "accounting platforms, and publishes what it recorded."
)

logger = logging.getLogger(__name__)


class FactRefused(PermanentError):
    """The ledger refused the fact; the reason names the field at fault."""

    def __init__(self, error: LedgerError) -> None:
        super().__init__(str(error))
        self.field = error.field


class LedgerUnavailable(RetryableError):
    """The ledger's database could not be reached; the fact is tried again."""


def fact_recorder(ledger: Ledger) -> Callable[[Envelope], Awaitable[None]]:
    """The handler of `ledger.inbound`, recording into `ledger`."""

    # TODO(#3): one message at a time. A batch subscriber (`batch=True`) would
    # record a poll's facts in one transaction through `record_many`, but the
    # guard dead-letters per record, and one bad fact would then refuse its
    # whole batch; splitting a refused batch is the way, not yet written.
    async def record_fact(envelope: Envelope) -> None:
        """A fact from an accounting platform, to be recorded in the ledger."""
        accept(envelope, LEDGER_INBOUND)
        try:
            result = await anyio.to_thread.run_sync(
                ledger.record, envelope.creditor, envelope
            )
        except LedgerError as error:
            raise FactRefused(error) from None
        except (OperationalError, InterfaceError) as error:
            raise LedgerUnavailable(type(error).__name__) from error
        except DBAPIError as error:
            if error.connection_invalidated:
                raise LedgerUnavailable(type(error).__name__) from error
            raise
        logger.info(
            "fact already recorded" if result.duplicate else "fact recorded",
            extra={**log_ids(envelope, LEDGER_INBOUND), "emitted": len(result.emitted)},
        )

    return record_fact


def create_app(
    settings: LedgerSettings | None = None, *, ledger: Ledger | None = None
) -> FastStream:
    """The ledger's FastStream app, on the Kafka and database `settings` name."""
    settings = settings or LedgerSettings()
    ledger = ledger or Ledger(make_engine(settings.database_url), SystemClock())
    broker = build_broker(settings, service=SERVICE)
    router = envelope_router(broker, settings.consumer_group)

    subscribe(
        router,
        LEDGER_INBOUND,
        fact_recorder(ledger),
        consumer_group=settings.consumer_group,
    )
    declare_publisher(router, LEDGER_EVENTS)
    declare_publisher(router, LEDGER_CREDITORS)

    broker.include_router(router)
    return stream_app(broker, service=SERVICE, description=DESCRIPTION)
