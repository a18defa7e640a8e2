"""The broker a simulation runs over: the real Kafka, or one inside the process.

Both speak the services' own names for topics and hand their handlers
`aiokafka` records, so the handlers of `services/*/app.py` run unchanged.
Both place a key on the partition Kafka's default partitioner would, so a
poll holds the same records in the same order on either.

The simulation is the only producer, so a bus knows each partition's end
without asking: `fetch` returns everything published so far that a group
has not had, and an empty list means the group has caught up.
"""

import asyncio
import logging
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.partitioner import DefaultPartitioner

from shared.messaging.dlq import Publisher
from shared.outbox.relay import Producer
from shared.topics import ALL_TOPICS

logger = logging.getLogger(__name__)

PARTITIONS = 3
"""Partitions of every topic of a run, as `overdue infra up` makes them."""

TOPICS = tuple(name for topic in ALL_TOPICS for name in (topic.name, topic.dlq))

Headers = list[tuple[str, bytes]]


class Bus(Producer, Publisher, Protocol):
    """What the simulation needs of a broker: the outbox relay's producer and
    the dead-letter publisher, and a way to read what a group has not had."""

    name: str

    async def start(self) -> None: ...
    async def stop(self) -> None: ...

    async def fetch(self, group: str, topic: str) -> list[ConsumerRecord[Any, Any]]: ...

    def published(self, topic: str) -> int:
        """How many records `topic` holds, over all its partitions."""
        ...


_partitioner = DefaultPartitioner()


def partition_of(key: bytes | None, partitions: int = PARTITIONS) -> int:
    """The partition Kafka's default partitioner gives a key (keys are never None
    here: every topic of SPEC §2 is keyed)."""
    every = list(range(partitions))
    return int(_partitioner(key or b"", every, every))


def _header_list(headers: dict[str, str] | Headers | None) -> Headers:
    if headers is None:
        return []
    if isinstance(headers, dict):
        return [(name, value.encode()) for name, value in headers.items()]
    return list(headers)


def _as_bytes(value: Any) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode()
    raise TypeError(f"a bus carries bytes, not {type(value).__name__}")


def _in_order(records: Iterable[ConsumerRecord[Any, Any]]) -> list[Any]:
    """A poll's records partition by partition, each partition in offset order:
    the same poll on either bus."""
    return sorted(records, key=lambda record: (record.partition, record.offset))


class _Publishing:
    """A dead letter's publish, as one more send: both buses take faststream's
    `publish` as the dead-letter publisher calls it."""

    send: Callable[..., Awaitable["asyncio.Future[Any]"]]
    """Each bus's own: the record on its partition, acknowledged."""

    def logical(self, topic: str) -> str:
        """The services' name of a topic the bus was handed."""
        return topic

    async def publish(
        self,
        message: Any,
        topic: str = "",
        *,
        key: bytes | Any | None = None,
        headers: dict[str, str] | None = None,
    ) -> Any:
        sent = await self.send(
            self.logical(topic),
            _as_bytes(message),
            key=key if key is None else _as_bytes(key),
            headers=_header_list(headers),
        )
        return await sent


@dataclass
class InProcessBus(_Publishing):
    """Topics as lists in memory: for a machine without Kafka, and for speed."""

    name: str = "in-process"
    _logs: dict[tuple[str, int], list[ConsumerRecord[Any, Any]]] = field(
        default_factory=lambda: defaultdict(list)
    )
    _positions: dict[tuple[str, str, int], int] = field(
        default_factory=lambda: defaultdict(int)
    )

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def send(
        self,
        topic: str,
        value: bytes | None = None,
        key: bytes | None = None,
        partition: int | None = None,
        timestamp_ms: int | None = None,
        headers: Headers | None = None,
    ) -> "asyncio.Future[Any]":
        partition = partition_of(key) if partition is None else partition
        log = self._logs[(topic, partition)]
        record: ConsumerRecord[Any, Any] = ConsumerRecord(
            topic=topic,
            partition=partition,
            offset=len(log),
            timestamp=timestamp_ms or 0,
            timestamp_type=0,
            key=key,
            value=value,
            checksum=None,
            serialized_key_size=len(key or b""),
            serialized_value_size=len(value or b""),
            headers=tuple(headers or ()),
        )
        log.append(record)
        done: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        done.set_result(record)
        return done

    async def fetch(self, group: str, topic: str) -> list[ConsumerRecord[Any, Any]]:
        found = []
        for partition in range(PARTITIONS):
            log = self._logs.get((topic, partition), [])
            at = self._positions[(group, topic, partition)]
            found.extend(log[at:])
            self._positions[(group, topic, partition)] = len(log)
        return _in_order(found)

    def published(self, topic: str) -> int:
        return sum(len(self._logs.get((topic, p), [])) for p in range(PARTITIONS))


@dataclass
class KafkaBus(_Publishing):
    """The real broker, on topics of this run alone: `sim-<run>.<topic>`.

    Another run, a test or the services themselves may be using the usual
    topics at the same time; a run's own topics keep them all apart, and
    are deleted when it stops.
    """

    bootstrap: str
    run: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    name: str = "kafka"
    _producer: AIOKafkaProducer | None = None
    _consumers: dict[tuple[str, str], AIOKafkaConsumer] = field(default_factory=dict)
    _ends: dict[tuple[str, int], int] = field(default_factory=lambda: defaultdict(int))

    def physical(self, topic: str) -> str:
        return f"sim-{self.run}.{topic}"

    def logical(self, topic: str) -> str:
        return topic.removeprefix(f"sim-{self.run}.")

    async def start(self) -> None:
        admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap)
        await admin.start()
        try:
            await admin.create_topics(
                [
                    NewTopic(self.physical(name), PARTITIONS, replication_factor=1)
                    for name in TOPICS
                ]
            )
        finally:
            await admin.close()
        self._producer = AIOKafkaProducer(
            bootstrap_servers=self.bootstrap, acks="all", linger_ms=0
        )
        await self._producer.start()
        logger.info("simulation topics created", extra={"run": self.run})

    async def stop(self) -> None:
        for consumer in self._consumers.values():
            await consumer.stop()
        self._consumers.clear()
        if self._producer is not None:
            await self._producer.stop()
            self._producer = None
        admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap)
        await admin.start()
        try:
            await admin.delete_topics([self.physical(name) for name in TOPICS])
        except Exception:  # topics left behind are harmless, and named in the log
            logger.warning("simulation topics not deleted", extra={"run": self.run})
        finally:
            await admin.close()

    async def send(
        self,
        topic: str,
        value: bytes | None = None,
        key: bytes | None = None,
        partition: int | None = None,
        timestamp_ms: int | None = None,
        headers: Headers | None = None,
    ) -> "asyncio.Future[Any]":
        assert self._producer is not None, "the bus is not started"
        partition = partition_of(key) if partition is None else partition
        sent = await self._producer.send(
            self.physical(topic),
            value=value,
            key=key,
            partition=partition,
            timestamp_ms=timestamp_ms,
            headers=headers,
        )
        # The end is known once the broker has acknowledged the record.
        metadata = await sent
        ends = self._ends
        ends[(topic, partition)] = max(ends[(topic, partition)], metadata.offset + 1)
        done: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        done.set_result(metadata)
        return done

    async def fetch(self, group: str, topic: str) -> list[ConsumerRecord[Any, Any]]:
        consumer = await self._consumer(group, topic)
        wanted = {
            TopicPartition(self.physical(topic), p): self._ends[(topic, p)]
            for p in range(PARTITIONS)
        }
        found = []
        while await self._behind(consumer, wanted):
            polled = await consumer.getmany(timeout_ms=200)
            for records in polled.values():
                found.extend(records)
        # The handlers see the services' names, as on the usual topics.
        return _in_order(self._renamed(record) for record in found)

    def published(self, topic: str) -> int:
        return sum(self._ends[(topic, p)] for p in range(PARTITIONS))

    @staticmethod
    async def _behind(
        consumer: AIOKafkaConsumer, ends: dict[TopicPartition, int]
    ) -> bool:
        for partition, end in ends.items():
            if await consumer.position(partition) < end:
                return True
        return False

    async def _consumer(self, group: str, topic: str) -> AIOKafkaConsumer:
        """One consumer per group and topic, reading every partition from the
        start; the bus, not the broker, keeps its place."""
        consumer = self._consumers.get((group, topic))
        if consumer is None:
            consumer = AIOKafkaConsumer(
                bootstrap_servers=self.bootstrap,
                enable_auto_commit=False,
                auto_offset_reset="earliest",
                fetch_max_wait_ms=20,
            )
            await consumer.start()
            partitions = [
                TopicPartition(self.physical(topic), p) for p in range(PARTITIONS)
            ]
            consumer.assign(partitions)
            for partition in partitions:
                consumer.seek(partition, 0)
            self._consumers[(group, topic)] = consumer
        return consumer

    def _renamed(self, record: ConsumerRecord[Any, Any]) -> ConsumerRecord[Any, Any]:
        record.topic = self.logical(record.topic)
        return record
