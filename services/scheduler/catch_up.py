"""How far this process's consumer of `ledger.events` has applied the topic.

Every half second the reporter looks at each partition the consumer owns.
When the records applied reach the high watermark of the consumer's last
fetch, everything the broker held at that fetch is applied: the fetch's
moment is the partition's caught-up moment. The reporter writes it to the
database, where every process's timer loop reads the slowest partition's
(`service/catch_up.py` holds the rule). The fetch's moment is real time; on a
shared virtual clock it is reported as that clock told it then.
"""

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition

from shared.clock import Clock, SystemClock, reading_at
from shared.topics import LEDGER_EVENTS

TICK = 0.5
"""How often the reporter writes; a timer fires at most about this much later."""

logger = logging.getLogger(__name__)

Report = Callable[[str, Mapping[int, datetime | None]], None]
"""Store, per partition, the caught-up moment or None (alive, still behind)."""


class LedgerProgress:
    """The offsets this process has applied of `ledger.events`, per partition."""

    def __init__(self, clock: Clock | None = None) -> None:
        self.clock: Clock = clock or SystemClock()
        """The clock the caught-up moments are told on, the timers' clock."""
        self.subscriber: Any = None
        """The batch subscriber, whose `consumer` exists while the app runs."""
        self.applied: dict[int, int] = {}
        self._started: dict[int, int] = {}

    def done(self, records: Sequence[ConsumerRecord[Any, Any]]) -> None:
        """The records are applied (or dead-lettered), and their transaction
        committed: the partition is applied up to the last of them."""
        for record in records:
            after = record.offset + 1
            self.applied[record.partition] = max(
                self.applied.get(record.partition, 0), after
            )

    async def caught_up(self) -> dict[int, datetime | None]:
        """Each owned partition's caught-up moment, or None while behind."""
        consumer: AIOKafkaConsumer | None = getattr(self.subscriber, "consumer", None)
        if consumer is None:
            return {}
        owned = {tp for tp in consumer.assignment() if tp.topic == LEDGER_EVENTS.name}
        for partition in set(self._started) - {tp.partition for tp in owned}:
            # Handed to another process: where it stands when it comes back
            # is read again, for that process moved it on.
            del self._started[partition]

        found: dict[int, datetime | None] = {}
        for tp in owned:
            high = consumer.highwater(tp)
            polled = consumer.last_poll_timestamp(tp)
            if high is None or polled is None:
                found[tp.partition] = None
                continue
            applied = max(self.applied.get(tp.partition, 0), await self._start(tp))
            fetched = datetime.fromtimestamp(polled / 1000, UTC)
            found[tp.partition] = (
                reading_at(self.clock, fetched) if applied >= high else None
            )
        return found

    async def _start(self, tp: TopicPartition) -> int:
        """Where the group stood on the partition when this process got it: every
        record before is applied, by this process or another."""
        if tp.partition not in self._started:
            consumer = self.subscriber.consumer
            committed = await consumer.committed(tp)
            if committed is None:
                committed = (await consumer.beginning_offsets([tp]))[tp]
            self._started[tp.partition] = int(committed)
        return self._started[tp.partition]


def owner() -> str:
    """This process, as the watermarks name it: host and process id."""
    return f"{socket.gethostname()}:{os.getpid()}"


async def report_progress(
    progress: LedgerProgress, report: Report, stop: asyncio.Event, *, tick: float = TICK
) -> None:
    """Write the consumer's caught-up moments until `stop`; a failure is retried."""
    me = owner()
    while not stop.is_set():
        try:
            found = await progress.caught_up()
            if found:
                await asyncio.to_thread(report, me, found)
        except Exception as exc:
            logger.warning(
                "reporting ledger progress failed, retry scheduled",
                extra={"error": type(exc).__name__, "retry_in": tick},
            )
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), tick)


@asynccontextmanager
async def progress_reported(
    progress: LedgerProgress, report: Report, *, tick: float = TICK
) -> AsyncIterator[None]:
    """Run `report_progress` in the background while the block runs."""
    stop = asyncio.Event()
    task = asyncio.create_task(
        report_progress(progress, report, stop, tick=tick),
        name="scheduler-ledger-progress",
    )
    try:
        yield
    finally:
        stop.set()
        await task
