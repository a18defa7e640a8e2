"""The relay: publishes a service's outbox to Kafka in order, then marks it sent.

A row is marked published only once the broker has acknowledged it, so a crash
between the two publishes it again on restart, with the same envelope id:
Kafka sees each event at least once, a consumer that remembers ids exactly once.
"""

import asyncio
import logging
import time
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy import Connection, Engine
from sqlalchemy.dialects.postgresql import ARRAY

from shared.clock import Clock, SystemClock
from shared.messaging.config import PRODUCER
from shared.outbox.records import OutboxRecord

logger = logging.getLogger(__name__)

DEFAULT_BATCH_SIZE = 2000
DEFAULT_POLL_INTERVAL = 0.1
MAX_BACKOFF = 5.0
# How long a hole in the outbox's positions holds back the rows after it. A
# hole is a transaction that took positions and has not committed yet (or
# never will: a rollback leaves its positions unused for good).
DEFAULT_GAP_WAIT = 2.0


class Producer(Protocol):
    """What the relay needs of `aiokafka.AIOKafkaProducer`; fakes implement this."""

    async def send(
        self,
        topic: str,
        value: bytes | None = None,
        key: bytes | None = None,
        partition: int | None = None,
        timestamp_ms: int | None = None,
        headers: list[tuple[str, bytes]] | None = None,
    ) -> Awaitable[Any]: ...


class RelayError(Exception):
    """The relay could not finish a batch; it is retried, nothing is lost."""


class PublishFailed(RelayError):
    """The broker refused or never acknowledged a record; it stays unpublished."""

    def __init__(self, published: int, cause: BaseException) -> None:
        super().__init__(f"{published} published before {type(cause).__name__}")
        self.published = published
        self.cause = cause


@dataclass(frozen=True)
class PendingEvent:
    """One unpublished outbox row, as the relay reads it."""

    position: int
    event_id: UUID
    topic: str
    key: str
    type: str
    envelope: bytes

    def headers(self) -> list[tuple[str, bytes]]:
        return [
            ("x-event-id", str(self.event_id).encode()),
            ("x-event-type", self.type.encode()),
        ]


AfterSend = Callable[[Sequence[PendingEvent]], Awaitable[None]]


def advisory_lock_key(table_name: str) -> int:
    """The PostgreSQL advisory lock of one outbox table: the same in every process."""
    return zlib.crc32(f"overdue.outbox.relay:{table_name}".encode())


class OutboxRelay:
    """Publishes one outbox table, batch by batch, in the order rows were written.

    On PostgreSQL only the relay holding the table's advisory lock publishes; any
    other waits, so two processes of one service never interleave a key's events.
    On SQLite one process owns the database file and no lock is taken.

    Positions come from a sequence, and on PostgreSQL transactions commit in
    any order: one that took position 7 may commit after one that took 8, and
    both may carry one debtor's events. So the relay publishes up to the first
    hole in the positions, and waits for it to fill; after `gap_wait` seconds
    it takes the hole for a rollback's and publishes past it. A transaction
    that commits later still than that is published late, out of order.

    `after_send`, if given, is awaited with a batch's acknowledged rows before
    they are marked; the crash tests stop the process there.
    """

    def __init__(
        self,
        engine: Engine,
        table: type[OutboxRecord],
        producer: Producer,
        *,
        batch_size: int = DEFAULT_BATCH_SIZE,
        poll_interval: float = DEFAULT_POLL_INTERVAL,
        clock: Clock | None = None,
        after_send: AfterSend | None = None,
        gap_wait: float = DEFAULT_GAP_WAIT,
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch size must be at least 1, not {batch_size}")
        self._engine = engine
        self._table: sa.Table = table.__table__  # type: ignore[attr-defined]
        self._producer = producer
        self.batch_size = batch_size
        self.poll_interval = poll_interval
        self._clock = clock or SystemClock()
        self._after_send = after_send
        self._wakeup = asyncio.Event()
        self._needs_lock = engine.dialect.name == "postgresql"
        self._lock_key = advisory_lock_key(self._table.name)
        self._lock_connection: Connection | None = None
        self.gap_wait = gap_wait
        # The position after the highest one read; a row beyond it is past a hole.
        self._next_position: int | None = None
        self._hole: tuple[int, int] | None = None
        self._hole_seen_at = 0.0

    @property
    def active(self) -> bool:
        """Whether this relay may publish: it holds the lock, or needs none."""
        return not self._needs_lock or self._lock_connection is not None

    def wake(self) -> None:
        """Publish soon: a service calls this after committing rows to the outbox."""
        self._wakeup.set()

    async def publish_pending(self) -> int:
        """Publish one batch of unpublished rows; return how many were published.

        Returns 0 without reading while another relay holds the table's lock.
        Raises `PublishFailed` after marking the rows acknowledged before the
        first failure; that row and every later one stay for the next attempt.
        """
        self._wakeup.clear()
        pending = await asyncio.to_thread(self._read_batch)
        if not pending:
            return 0

        acknowledged, failure = await self._send(pending)
        if acknowledged and self._after_send is not None:
            await self._after_send(acknowledged)

        if acknowledged:
            await asyncio.to_thread(self._mark, [e.position for e in acknowledged])
            topics = {event.topic for event in acknowledged}
            logger.info(
                "published %d outbox events",
                len(acknowledged),
                extra={"topic": topics.pop() if len(topics) == 1 else None},
            )
        if failure is not None:
            raise PublishFailed(len(acknowledged), failure) from failure
        return len(acknowledged)

    async def run(self, stop: asyncio.Event) -> None:
        """Publish until `stop` is set: at once while there is a backlog, else on
        `wake()` or every `poll_interval`; back off on errors and retry."""
        backoff = self.poll_interval
        try:
            while not stop.is_set():
                try:
                    published = await self.publish_pending()
                except Exception as exc:
                    logger.warning(
                        "outbox publish failed, retry scheduled",
                        extra={"error": _describe(exc), "retry_in": round(backoff, 3)},
                    )
                    await self._pause(backoff, stop)
                    backoff = min(max(backoff, 0.05) * 2, MAX_BACKOFF)
                    continue

                backoff = self.poll_interval
                if published < self.batch_size:
                    await self._pause(self.poll_interval, stop)
        finally:
            await asyncio.to_thread(self._release_lock)

    async def delete_published(self, older_than: datetime) -> int:
        """Delete rows published before `older_than`; return how many went."""
        return await asyncio.to_thread(self._delete_published, older_than)

    async def _send(
        self, pending: Sequence[PendingEvent]
    ) -> tuple[list[PendingEvent], BaseException | None]:
        """Send every row, then wait for the acknowledgements together.

        Returns the acknowledged rows up to the first failure, and that failure.
        """
        futures: list[Awaitable[Any]] = []
        failure: BaseException | None = None
        for event in pending:
            try:
                futures.append(
                    await self._producer.send(
                        event.topic,
                        value=event.envelope,
                        key=event.key.encode(),
                        headers=event.headers(),
                    )
                )
            except Exception as exc:
                failure = exc
                break

        results = await asyncio.gather(*futures, return_exceptions=True)
        acknowledged: list[PendingEvent] = []
        for event, result in zip(pending, results, strict=False):
            if isinstance(result, BaseException):
                failure = result
                break
            acknowledged.append(event)
        return acknowledged, failure

    async def _pause(self, seconds: float, stop: asyncio.Event) -> None:
        """Sleep up to `seconds`, ending early on `wake()` or on `stop`."""
        if stop.is_set() or self._wakeup.is_set():
            return
        waiters = {
            asyncio.ensure_future(stop.wait()),
            asyncio.ensure_future(self._wakeup.wait()),
        }
        try:
            await asyncio.wait(
                waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            for waiter in waiters:
                waiter.cancel()

    def _read_batch(self) -> list[PendingEvent]:
        if not self._hold_lock():
            return []

        t = self._table
        query = (
            sa.select(t.c.position, t.c.event_id, t.c.topic, t.c.key, t.c.type)
            .add_columns(t.c.envelope)
            .where(t.c.published_at.is_(None))
            .order_by(t.c.position)
            .limit(self.batch_size)
        )
        with self._engine.connect() as connection:
            rows = connection.execute(query).all()
            pending = [PendingEvent(*row) for row in rows]
            if not self._needs_lock or not pending:
                return pending
            if self._next_position is None:
                self._next_position = self._after_published(connection, pending)
        return self._up_to_hole(pending)

    def _after_published(
        self, connection: Connection, pending: list[PendingEvent]
    ) -> int:
        """Where a relay that just took the lock expects the next row: after the
        highest published one, or at the sequence's first value if none is."""
        t = self._table
        highest = connection.execute(
            sa.select(sa.func.max(t.c.position)).where(
                t.c.published_at.is_not(None), t.c.position < pending[0].position
            )
        ).scalar_one()
        return 1 if highest is None else int(highest) + 1

    def _up_to_hole(self, pending: list[PendingEvent]) -> list[PendingEvent]:
        """The rows before the first hole in positions that may still fill."""
        assert self._next_position is not None
        kept: list[PendingEvent] = []
        for event in pending:
            if event.position > self._next_position and not self._hole_expired(
                (self._next_position, event.position)
            ):
                break
            kept.append(event)
            self._next_position = max(self._next_position, event.position + 1)
        return kept

    def _hole_expired(self, hole: tuple[int, int]) -> bool:
        """Whether positions hole[0] up to hole[1] (excluded) were missing for
        `gap_wait` seconds: then no commit is coming for them."""
        now = time.monotonic()
        if hole != self._hole:
            self._hole, self._hole_seen_at = hole, now
        if now - self._hole_seen_at < self.gap_wait:
            return False
        logger.warning(
            "outbox positions never committed, publishing past them",
            extra={"reason": self._table.name, "positions": f"{hole[0]}-{hole[1] - 1}"},
        )
        return True

    def _mark(self, positions: list[int]) -> None:
        # Mark by position, never by range: a row committed meanwhile inside the
        # range has not been sent.
        t = self._table
        if self._needs_lock:
            # One array parameter: PostgreSQL plans it once, whatever the count.
            chosen = t.c.position == sa.func.any(
                sa.bindparam("positions", positions, type_=ARRAY(sa.BigInteger))
            )
        else:
            chosen = t.c.position.in_(positions)
        statement = sa.update(t).where(chosen).values(published_at=self._clock.now())
        with self._engine.begin() as connection:
            connection.execute(statement)

    def _delete_published(self, older_than: datetime) -> int:
        # The newest published row stays: a relay starting up finds there where
        # publishing stood, and knows a hole before the next row for one.
        t = self._table
        newest = (
            sa.select(sa.func.max(t.c.position))
            .where(t.c.published_at.is_not(None))
            .scalar_subquery()
        )
        statement = sa.delete(t).where(
            t.c.published_at.is_not(None),
            t.c.published_at < older_than,
            t.c.position < newest,
        )
        with self._engine.begin() as connection:
            return connection.execute(statement).rowcount

    def _hold_lock(self) -> bool:
        """Take the table's advisory lock, or check it is still held."""
        if not self._needs_lock:
            return True

        if self._lock_connection is not None:
            try:
                self._lock_connection.execute(sa.text("SELECT 1"))
                return True
            except sa.exc.DBAPIError:
                logger.warning("outbox relay lost its lock connection")
                self._drop_lock_connection()

        connection = self._engine.connect().execution_options(
            isolation_level="AUTOCOMMIT"
        )
        try:
            taken = connection.execute(
                sa.select(sa.func.pg_try_advisory_lock(self._lock_key))
            ).scalar_one()
        except BaseException:
            connection.close()
            raise
        if not taken:
            connection.close()
            return False
        self._lock_connection = connection
        self._next_position = None  # another relay may have published meanwhile
        logger.info("outbox relay active", extra={"reason": self._table.name})
        return True

    def _release_lock(self) -> None:
        if self._lock_connection is None:
            return
        with suppress(sa.exc.DBAPIError):
            self._lock_connection.execute(
                sa.select(sa.func.pg_advisory_unlock(self._lock_key))
            )
        self._drop_lock_connection()

    def _drop_lock_connection(self) -> None:
        # Invalidate rather than return it to the pool: a pooled session would
        # keep the lock, and no relay could take it while this engine lives.
        if self._lock_connection is not None:
            with suppress(sa.exc.DBAPIError):
                self._lock_connection.invalidate()
                self._lock_connection.close()
            self._lock_connection = None


def producer_kwargs() -> dict[str, Any]:
    """`AIOKafkaProducer` settings of the relay: the house producer settings."""
    return PRODUCER.as_kwargs()


@asynccontextmanager
async def start_relay(
    engine: Engine,
    table: type[OutboxRecord],
    *,
    bootstrap_servers: str | None = None,
    producer: Producer | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    poll_interval: float = DEFAULT_POLL_INTERVAL,
    clock: Clock | None = None,
    producer_options: Mapping[str, Any] | None = None,
) -> AsyncIterator[OutboxRelay]:
    """Run a relay in the background for the duration of the `async with` block.

    Give `bootstrap_servers` and the relay starts and stops its own producer, or
    pass a started `producer` and it is left running. `producer_options` (TLS,
    SASL) are added to the house producer settings. In a lifespan::

        @asynccontextmanager
        async def lifespan(app):
            async with start_relay(
                engine, LedgerOutbox, bootstrap_servers=settings.kafka
            ) as relay:
                app.state.relay = relay
                yield

    and after `session.commit()` of rows `enqueue` added, `relay.wake()`
    publishes them at once instead of at the next poll.
    """
    owned = None
    if producer is None:
        if bootstrap_servers is None:
            raise ValueError("start_relay needs bootstrap_servers or a producer")
        from aiokafka import AIOKafkaProducer

        owned = AIOKafkaProducer(
            bootstrap_servers=bootstrap_servers,
            **{**producer_kwargs(), **(producer_options or {})},
        )
        await owned.start()
        producer = owned

    relay = OutboxRelay(
        engine,
        table,
        producer,
        batch_size=batch_size,
        poll_interval=poll_interval,
        clock=clock,
    )
    stop = asyncio.Event()
    task = asyncio.create_task(relay.run(stop), name=f"outbox-relay-{table.__name__}")
    try:
        yield relay
    finally:
        stop.set()
        try:
            await task
        finally:
            if owned is not None:
                await owned.stop()


@asynccontextmanager
async def relay_on_commit(
    engine: Engine, table: type[OutboxRecord], *, bootstrap_servers: str
) -> AsyncIterator[OutboxRelay]:
    """`start_relay`, woken by every commit on `engine` rather than by its poll."""
    async with start_relay(engine, table, bootstrap_servers=bootstrap_servers) as relay:
        # Commits happen in worker threads, hence the thread-safe hand-over.
        loop = asyncio.get_running_loop()

        def wake(_connection: object) -> None:
            loop.call_soon_threadsafe(relay.wake)

        sa.event.listen(engine, "commit", wake)
        try:
            yield relay
        finally:
            sa.event.remove(engine, "commit", wake)


def _describe(exc: BaseException) -> str:
    cause = exc.cause if isinstance(exc, PublishFailed) else exc
    return f"{type(cause).__name__}: {cause}"
