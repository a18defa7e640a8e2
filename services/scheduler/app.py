"""The scheduler as a FastStream app: it follows the ledger and the notifier.

It consumes `ledger.events`, `ledger.creditors` and `notifier.events`, and
publishes, through its outbox, `contact.due` commands on `collections.contacts`
and case events on `collections.events`; both are declared so the AsyncAPI
document shows them.
"""

import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import anyio
from aiokafka import ConsumerRecord
from faststream import FastStream
from faststream.kafka.annotations import KafkaMessage
from sqlalchemy.exc import InterfaceError, OperationalError

from services.scheduler.catch_up import LedgerProgress
from services.scheduler.service import Scheduler
from services.scheduler.settings import SchedulerSettings
from shared.clock import clock_from_settings
from shared.db.engine import make_engine
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
from shared.messaging.errors import RetryableError
from shared.messaging.handlers import accept, log_ids
from shared.topics import (
    COLLECTIONS_CONTACTS,
    COLLECTIONS_EVENTS,
    LEDGER_CREDITORS,
    LEDGER_EVENTS,
    NOTIFIER_EVENTS,
    Topic,
)

SERVICE = "scheduler"
DESCRIPTION = (
    "Runs the collection ladder: opens and resolves cases, schedules contacts of "
    "progressively firmer tone, and follows promises, disputes and plans up."
)


logger = logging.getLogger(__name__)

Follow = Callable[[Envelope], bool]

# Ledger events a poll hands the scheduler at most, applied in one transaction.
BATCH_SIZE = 500


class SchedulerUnavailable(RetryableError):
    """The scheduler's database could not be reached; the event is tried again."""


def follower(follow: Follow, topic: Topic) -> Callable[[Envelope], Awaitable[None]]:
    """A handler that applies each envelope of `topic` with `follow`, off the loop."""

    async def handle(envelope: Envelope) -> None:
        accept(envelope, topic)
        try:
            applied = await anyio.to_thread.run_sync(follow, envelope)
        except (OperationalError, InterfaceError) as error:
            raise SchedulerUnavailable(type(error).__name__) from error
        logger.info(
            "event applied" if applied else "event already applied",
            extra=log_ids(envelope, topic),
        )

    # AsyncAPI names the channel after the handler and describes it by its doc.
    handle.__name__ = handle.__qualname__ = follow.__name__
    handle.__doc__ = DESCRIPTIONS[topic.name]
    return handle


DESCRIPTIONS = {
    LEDGER_CREDITORS.name: "A creditor's profile and policy, whole, as the ledger "
    "keeps it.",
    NOTIFIER_EVENTS.name: "What became of a contact: sent, failed, bounced or skipped.",
}


def ledger_follower(
    scheduler: Scheduler, dead_letters: DeadLetters, progress: LedgerProgress
) -> Callable[[KafkaMessage], Awaitable[None]]:
    """The handler of `ledger.events`: a poll's events applied in one go, and
    noted in `progress` once their transaction has committed."""

    async def follow_ledger(message: KafkaMessage) -> None:
        """A change to a debtor's receivables, as the ledger recorded it."""
        records: Sequence[ConsumerRecord[Any, Any]] = message.raw_message
        good = await checked(records, LEDGER_EVENTS, dead_letters)
        envelopes, payloads = good.envelopes, good.payloads
        partitions = [record.partition for record in good.records]
        if not envelopes:
            progress.done(records)
            return

        try:
            fresh = await anyio.to_thread.run_sync(
                scheduler.follow_ledger_many, envelopes, payloads, partitions
            )
        except (OperationalError, InterfaceError) as error:
            raise SchedulerUnavailable(type(error).__name__) from error
        progress.done(records)
        if not logger.isEnabledFor(logging.INFO):
            return
        for envelope, new in zip(envelopes, fresh, strict=True):
            logger.info(
                "event applied" if new else "event already applied",
                extra=log_ids(envelope, LEDGER_EVENTS),
            )

    return follow_ledger


def create_app(
    settings: SchedulerSettings | None = None,
    *,
    scheduler: Scheduler | None = None,
    progress: LedgerProgress | None = None,
) -> FastStream:
    """The scheduler's FastStream app, wired to Kafka as `settings` say.

    `progress` learns which records of `ledger.events` are applied, and
    reaches the consumer that reads them.
    """
    settings = settings or SchedulerSettings()
    scheduler = scheduler or Scheduler(
        make_engine(settings.database_url), clock_from_settings(settings)
    )
    broker = build_broker(settings, service=SERVICE)
    router = envelope_router(broker, settings.consumer_group)
    group = settings.consumer_group

    dead_letters = DeadLetters(broker, group)
    progress = progress or LedgerProgress(scheduler.clock)
    ledger = ledger_follower(scheduler, dead_letters, progress)
    creditors = follower(scheduler.follow_creditor, LEDGER_CREDITORS)
    progress.subscriber = subscribe(
        router, LEDGER_EVENTS, ledger, consumer_group=group, batch_of=BATCH_SIZE
    )
    subscribe(router, LEDGER_CREDITORS, creditors, consumer_group=group)
    notifier = follower(scheduler.follow_notifier, NOTIFIER_EVENTS)
    subscribe(router, NOTIFIER_EVENTS, notifier, consumer_group=group)
    declare_publisher(router, COLLECTIONS_CONTACTS)
    declare_publisher(router, COLLECTIONS_EVENTS)

    broker.include_router(router)
    return stream_app(broker, service=SERVICE, description=DESCRIPTION)
