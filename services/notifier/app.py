"""The notifier as a FastStream app: it turns `contact.due` commands into letters.

It consumes `collections.contacts`, `ledger.creditors` and `ledger.events`, and
publishes, through its outbox, what became of each contact on
`notifier.events`, declared here so the AsyncAPI document shows it.
"""

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
from faststream import FastStream
from faststream.kafka.annotations import KafkaMessage
from sqlalchemy.exc import InterfaceError, OperationalError

from services.notifier.errors import NotifierUnavailable
from services.notifier.service import Notifier
from services.notifier.settings import NotifierSettings
from shared.events import Envelope
from shared.messaging.batches import checked
from shared.messaging.broker import (
    build_broker,
    declare_publisher,
    envelope_router,
    stream_app,
    subscribe,
)
from shared.messaging.dlq import DeadLetters
from shared.messaging.handlers import accept, log_ids
from shared.topics import (
    COLLECTIONS_CONTACTS,
    LEDGER_CREDITORS,
    LEDGER_EVENTS,
    NOTIFIER_EVENTS,
)

SERVICE = "notifier"
DESCRIPTION = (
    "Renders emails and PDF letters from templates, sends the emails over SMTP, "
    "collects the letters into a daily print batch, and reports each outcome."
)

CONTACTS_BATCH = 50
"""Contacts a poll hands over at most: tried side by side, letters in parallel."""

LEDGER_BATCH = 500


logger = logging.getLogger(__name__)


def contacts_handler(
    notifier: Notifier, dead_letters: DeadLetters
) -> Callable[[KafkaMessage], Awaitable[None]]:
    async def deliver_contact(message: KafkaMessage) -> None:
        """A contact the scheduler says is due: render it and send it, once."""
        good = await checked(message.raw_message, COLLECTIONS_CONTACTS, dead_letters)
        envelopes = good.envelopes
        if not envelopes:
            return
        try:
            ready = await anyio.to_thread.run_sync(
                notifier.receive, envelopes, good.payloads
            )
        except (OperationalError, InterfaceError) as error:
            raise NotifierUnavailable(type(error).__name__) from error
        for envelope in envelopes:
            logger.info(
                "contact received", extra=log_ids(envelope, COLLECTIONS_CONTACTS)
            )
        await notifier.try_all(ready)

    return deliver_contact


def ledger_handler(
    notifier: Notifier, dead_letters: DeadLetters
) -> Callable[[KafkaMessage], Awaitable[None]]:
    async def follow_ledger(message: KafkaMessage) -> None:
        """A change to a debtor: its details and balances, to skip what is paid."""
        good = await checked(message.raw_message, LEDGER_EVENTS, dead_letters)
        envelopes, payloads = good.envelopes, good.payloads
        if not envelopes:
            return
        try:
            await anyio.to_thread.run_sync(
                notifier.follow_ledger_many, envelopes, payloads
            )
        except (OperationalError, InterfaceError) as error:
            raise NotifierUnavailable(type(error).__name__) from error
        logger.info("ledger events applied", extra={"count": len(envelopes)})

    return follow_ledger


def creditor_handler(notifier: Notifier) -> Callable[[Envelope], Awaitable[None]]:
    async def follow_creditor(envelope: Envelope) -> None:
        """A creditor's profile and branding, whole, as the ledger keeps it."""
        accept(envelope, LEDGER_CREDITORS)
        try:
            await anyio.to_thread.run_sync(notifier.follow_creditor, envelope)
        except (OperationalError, InterfaceError) as error:
            raise NotifierUnavailable(type(error).__name__) from error
        logger.info("creditor applied", extra=log_ids(envelope, LEDGER_CREDITORS))

    return follow_creditor


def create_app(
    settings: NotifierSettings | None = None, *, notifier: Notifier | None = None
) -> FastStream:
    """The notifier's FastStream app, wired to Kafka as `settings` say.

    Without `notifier` (as for the AsyncAPI document) the handlers are wired
    to nothing that could run; `overdue notifier serve` passes the real one.
    """
    settings = settings or NotifierSettings()
    broker = build_broker(settings, service=SERVICE)
    router = envelope_router(broker, settings.consumer_group)
    group = settings.consumer_group
    dead_letters = DeadLetters(broker, group)
    target: Any = notifier

    subscribe(
        router,
        COLLECTIONS_CONTACTS,
        contacts_handler(target, dead_letters),
        consumer_group=group,
        batch_of=CONTACTS_BATCH,
    )
    subscribe(router, LEDGER_CREDITORS, creditor_handler(target), consumer_group=group)
    subscribe(
        router,
        LEDGER_EVENTS,
        ledger_handler(target, dead_letters),
        consumer_group=group,
        batch_of=LEDGER_BATCH,
    )
    declare_publisher(router, NOTIFIER_EVENTS)

    broker.include_router(router)
    return stream_app(broker, service=SERVICE, description=DESCRIPTION)
