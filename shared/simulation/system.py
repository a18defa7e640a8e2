"""The three services of a simulation, wired to one bus and one virtual clock.

Each service is its real application service on its own database (SQLite
files, or PostgreSQL as in production), and each topic it consumes is
handled by the very handler its Kafka app subscribes (`services/*/app.py`).
What the simulation leaves out is only the consumer loop around those
handlers: here `settle` hands each handler what its group has not had,
until nothing moves.

Emails go over SMTP through the notifier's own pool, to the server given or
to an SMTP sink run inside the simulation; letters go through the notifier's
press into its print room.
"""

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import anyio
from aiokafka import ConsumerRecord
from pydantic import ValidationError
from sqlalchemy import Engine

from services.ledger.adapters.tables import OutboxMessage as LedgerOutbox
from services.ledger.app import fact_recorder
from services.ledger.service import Ledger
from services.notifier.adapters.press import LetterPress
from services.notifier.adapters.print_room import PrintRoom
from services.notifier.adapters.smtp import SmtpPool
from services.notifier.adapters.tables import OutboxMessage as NotifierOutbox
from services.notifier.app import contacts_handler, creditor_handler, ledger_handler
from services.notifier.rendering.templates import Templates
from services.notifier.service import Notifier
from services.notifier.service.batches import Binder
from services.scheduler.adapters.tables import OutboxMessage as SchedulerOutbox
from services.scheduler.app import follower, ledger_follower
from services.scheduler.catch_up import LedgerProgress
from services.scheduler.service import Scheduler
from shared.clock import VirtualClock
from shared.events import Envelope
from shared.messaging.dlq import DeadLetters
from shared.messaging.errors import PermanentError
from shared.outbox.relay import OutboxRelay
from shared.simulation.bus import Bus
from shared.topics import (
    COLLECTIONS_CONTACTS,
    COLLECTIONS_EVENTS,
    LEDGER_CREDITORS,
    LEDGER_EVENTS,
    LEDGER_INBOUND,
    NOTIFIER_EVENTS,
)

logger = logging.getLogger(__name__)

Records = Sequence[ConsumerRecord[Any, Any]]
Handle = Callable[[Records], Awaitable[None]]

OBSERVER = "simulation-observer"
"""The group in which the simulation itself reads what the services decided."""

SETTLE_ROUNDS = 1000
"""Rounds of handing records over before a run is taken to be looping."""


class SimulationStuck(RuntimeError):
    """The services kept passing records to each other without coming to rest."""


@dataclass(frozen=True)
class Consumer:
    """One consumer group's handler of one topic."""

    group: str
    topic: str
    handle: Handle


@dataclass(frozen=True)
class Mail:
    """Where the notifier's emails go: an SMTP server, with a pool's settings."""

    host: str
    port: int
    pool_size: int = 4


def batch(handler: Callable[[Any], Awaitable[None]]) -> Handle:
    """A batch subscriber's handler, given the records of a poll as faststream
    would: one message whose `raw_message` is their tuple."""

    async def handle(records: Records) -> None:
        await handler(SimpleNamespace(raw_message=tuple(records)))

    return handle


def one_by_one(
    handler: Callable[[Envelope], Awaitable[None]], dead_letters: DeadLetters
) -> Handle:
    """A subscriber's handler of single envelopes; what is not one is dead-lettered,
    as the services' envelope guard does."""

    async def handle(records: Records) -> None:
        for record in records:
            try:
                envelope = Envelope.from_bytes(record.value or b"")
                await handler(envelope)
            except (ValidationError, PermanentError) as error:
                await dead_letters.send(record, error)

    return handle


class System:
    """The ledger, the scheduler and the notifier, as one simulation runs them."""

    def __init__(
        self,
        bus: Bus,
        clock: VirtualClock,
        *,
        engines: Mapping[str, Engine],
        letters: Path,
        mail: Mail,
        templates: Path | None = None,
        letter_workers: int | None = None,
    ) -> None:
        self.bus = bus
        self.clock = clock

        self.ledger = Ledger(engines["ledger"], clock)
        self.scheduler = Scheduler(engines["scheduler"], clock)
        self.press = LetterPress(letter_workers)
        self.mailer = SmtpPool(mail.host, mail.port, size=mail.pool_size)
        self.print_room = PrintRoom(letters)
        self.notifier = Notifier(
            engines["notifier"],
            clock,
            templates=Templates(overrides=templates),
            press=self.press,
            mailer=self.mailer,
            print_room=self.print_room,
        )
        self.binder = Binder(engines["notifier"], clock, self.print_room)
        # The relays run only between steps, when no transaction is open: a
        # hole in an outbox's positions is a rollback's, never a late commit.
        self.relays = [
            OutboxRelay(engines[service], table, bus, clock=clock, gap_wait=0.0)
            for service, table in (
                ("ledger", LedgerOutbox),
                ("scheduler", SchedulerOutbox),
                ("notifier", NotifierOutbox),
            )
        ]
        self.consumers = self._consumers()

    def _consumers(self) -> list[Consumer]:
        """Every group and topic of SPEC §2, each with its service's own handler."""
        bus = self.bus
        ledger = DeadLetters(bus, "overdue-ledger")
        scheduler = DeadLetters(bus, "overdue-scheduler")
        notifier = DeadLetters(bus, "overdue-notifier")
        progress = LedgerProgress()
        return [
            Consumer(
                "overdue-ledger",
                LEDGER_INBOUND.name,
                batch(fact_recorder(self.ledger, ledger)),
            ),
            Consumer(
                "overdue-scheduler",
                LEDGER_CREDITORS.name,
                one_by_one(
                    follower(self.scheduler.follow_creditor, LEDGER_CREDITORS),
                    scheduler,
                ),
            ),
            Consumer(
                "overdue-notifier",
                LEDGER_CREDITORS.name,
                one_by_one(creditor_handler(self.notifier), notifier),
            ),
            Consumer(
                "overdue-scheduler",
                LEDGER_EVENTS.name,
                batch(ledger_follower(self.scheduler, scheduler, progress)),
            ),
            Consumer(
                "overdue-notifier",
                LEDGER_EVENTS.name,
                batch(ledger_handler(self.notifier, notifier)),
            ),
            Consumer(
                "overdue-notifier",
                COLLECTIONS_CONTACTS.name,
                batch(contacts_handler(self.notifier, notifier)),
            ),
            Consumer(
                "overdue-scheduler",
                NOTIFIER_EVENTS.name,
                one_by_one(
                    follower(self.scheduler.follow_notifier, NOTIFIER_EVENTS),
                    scheduler,
                ),
            ),
        ]

    async def settle(self, observe: Callable[[str, Records], None]) -> None:
        """Publish every outbox and hand every group its records, again and again,
        until nothing moves; `observe` sees the records of the topics whose
        events are the outward effects (`collections.events`, `notifier.events`).
        """
        for _ in range(SETTLE_ROUNDS):
            moved = 0
            for relay in self.relays:
                while published := await relay.publish_pending():
                    moved += published
            for consumer in self.consumers:
                records = await self.bus.fetch(consumer.group, consumer.topic)
                if records:
                    moved += len(records)
                    await consumer.handle(records)
            for topic in (COLLECTIONS_EVENTS.name, NOTIFIER_EVENTS.name):
                records = await self.bus.fetch(OBSERVER, topic)
                if records:
                    observe(topic, records)
            if not moved:
                return
        raise SimulationStuck(f"still busy after {SETTLE_ROUNDS} rounds")

    async def fire_due(self) -> int:
        """Every scheduler timer and notifier retry due now; how many there were."""
        fired = await anyio.to_thread.run_sync(
            self.scheduler.fire_due, self.clock.now()
        )
        tried = await self.notifier.retry_due()
        return fired + tried

    def next_moment(self) -> datetime | None:
        """The next moment a service has something to do of its own accord."""
        moments = [
            m
            for m in (self.scheduler.next_timer(), self.notifier.work.next_attempt())
            if m is not None
        ]
        return min(moments, default=None)

    async def bind_letters(self, *, through: date | None = None) -> int:
        """Bind each finished day's letters into its print batch."""
        bound = await anyio.to_thread.run_sync(
            lambda: self.binder.bind(through=through)
        )
        return len(bound)

    async def close(self) -> None:
        await self.mailer.close()
        await anyio.to_thread.run_sync(self.press.close)
