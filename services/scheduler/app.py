"""The scheduler as a FastStream app: it follows the ledger and the notifier.

It consumes `ledger.events`, `ledger.creditors` and `notifier.events`, and will
publish `contact.due` commands on `collections.contacts` and case events on
`collections.events`; both are declared so the AsyncAPI document shows them.
"""

import logging

from faststream import FastStream

from services.scheduler.settings import SchedulerSettings
from shared.events import Envelope
from shared.messaging.broker import (
    build_broker,
    declare_publisher,
    envelope_router,
    stream_app,
    subscribe,
)
from shared.messaging.handlers import accept, log_ids
from shared.topics import (
    COLLECTIONS_CONTACTS,
    COLLECTIONS_EVENTS,
    LEDGER_CREDITORS,
    LEDGER_EVENTS,
    NOTIFIER_EVENTS,
)

SERVICE = "scheduler"
DESCRIPTION = (
    "Runs the collection ladder: opens and resolves cases, schedules contacts of "
    "progressively firmer tone, and follows promises, disputes and plans up."
)


logger = logging.getLogger(__name__)


async def follow_ledger(envelope: Envelope) -> None:
    """A change to a debtor's receivables, as the ledger recorded it."""
    accept(envelope, LEDGER_EVENTS)
    # TODO(#4): update the debtor's invoices and case, open or resolve the case,
    # and work out the next stage's moment again.
    logger.info("ledger event received", extra=log_ids(envelope, LEDGER_EVENTS))


async def follow_creditor(envelope: Envelope) -> None:
    """A creditor's profile and policy, whole, as the ledger keeps it."""
    accept(envelope, LEDGER_CREDITORS)
    # TODO(#4): keep the creditor's policy and release its events held until now.
    logger.info("creditor received", extra=log_ids(envelope, LEDGER_CREDITORS))


async def follow_notifier(envelope: Envelope) -> None:
    """What became of a contact: sent, failed, bounced or skipped."""
    accept(envelope, NOTIFIER_EVENTS)
    # TODO(#4): mark the contact's step done, flag the case on a failure, and
    # move the ladder on.
    logger.info("notifier event received", extra=log_ids(envelope, NOTIFIER_EVENTS))


def create_app(settings: SchedulerSettings | None = None) -> FastStream:
    """The scheduler's FastStream app, wired to Kafka as `settings` say."""
    settings = settings or SchedulerSettings()
    broker = build_broker(settings, service=SERVICE)
    router = envelope_router(broker, settings.consumer_group)
    group = settings.consumer_group

    subscribe(router, LEDGER_EVENTS, follow_ledger, consumer_group=group)
    subscribe(router, LEDGER_CREDITORS, follow_creditor, consumer_group=group)
    subscribe(router, NOTIFIER_EVENTS, follow_notifier, consumer_group=group)
    declare_publisher(router, COLLECTIONS_CONTACTS)
    declare_publisher(router, COLLECTIONS_EVENTS)

    broker.include_router(router)
    return stream_app(broker, service=SERVICE, description=DESCRIPTION)
