"""The ledger as a FastStream app: it records facts from `ledger.inbound`.

It will publish what it recorded on `ledger.events` and creditor profiles on
`ledger.creditors`; both are declared here so the AsyncAPI document shows them.
"""

import logging

from faststream import FastStream

from services.ledger.settings import LedgerSettings
from shared.events import Envelope
from shared.messaging.broker import (
    build_broker,
    declare_publisher,
    envelope_router,
    stream_app,
    subscribe,
)
from shared.messaging.handlers import accept, log_ids
from shared.topics import LEDGER_CREDITORS, LEDGER_EVENTS, LEDGER_INBOUND

SERVICE = "ledger"
DESCRIPTION = (
    "Keeps the ledger of debtors, invoices, credit notes and payments, fed by "
    "accounting platforms, and publishes what it recorded."
)

logger = logging.getLogger(__name__)


async def record_fact(envelope: Envelope) -> None:
    """A fact from an accounting platform, to be recorded in the ledger."""
    accept(envelope, LEDGER_INBOUND)
    # TODO(#3): validate `data` against the typed payload of its type, record the
    # fact idempotently by envelope id, and publish the change on ledger.events.
    logger.info("fact received", extra=log_ids(envelope, LEDGER_INBOUND))


def create_app(settings: LedgerSettings | None = None) -> FastStream:
    """The ledger's FastStream app, wired to Kafka as `settings` say."""
    settings = settings or LedgerSettings()
    broker = build_broker(settings, service=SERVICE)
    router = envelope_router(broker, settings.consumer_group)

    subscribe(
        router, LEDGER_INBOUND, record_fact, consumer_group=settings.consumer_group
    )
    declare_publisher(router, LEDGER_EVENTS)
    declare_publisher(router, LEDGER_CREDITORS)

    broker.include_router(router)
    return stream_app(broker, service=SERVICE, description=DESCRIPTION)
