"""Create the catalogue's topics and their dead-letter twins; read where each ends."""

import asyncio
import logging
import time

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError, for_code

from shared.devstack.errors import InfraError
from shared.topics import ALL_TOPICS

logger = logging.getLogger(__name__)

REPLICATION_FACTOR = 1  # the local stack has one broker


def wanted_topics(partitions: int) -> list[NewTopic]:
    """Each catalogue topic and its `.dlq` twin; only a compacted topic is compacted.

    The twin keeps every failed message, so it is never compacted.
    """
    wanted: list[NewTopic] = []
    for topic in ALL_TOPICS:
        configs = {"cleanup.policy": "compact"} if topic.compacted else {}
        wanted.append(
            NewTopic(topic.name, partitions, REPLICATION_FACTOR, topic_configs=configs)
        )
        wanted.append(NewTopic(topic.dlq, partitions, REPLICATION_FACTOR))
    return wanted


async def ensure_topics(bootstrap: str, partitions: int) -> list[str]:
    """Create whichever catalogue topics are missing; returns the names created now.

    Topics that already exist are left as they are, so running it twice is
    harmless. Returns once the cluster lists every wanted topic.
    """
    wanted = wanted_topics(partitions)
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=30000)
    try:
        await admin.start()
        existing = set(await admin.list_topics())
        missing = [topic for topic in wanted if topic.name not in existing]

        if missing:
            response = await admin.create_topics(missing, timeout_ms=30000)
            _raise_on_errors(response)
        await _wait_listed(admin, {topic.name for topic in wanted})
    except KafkaError as exc:
        raise InfraError(f"could not create topics on {bootstrap}: {exc}") from exc
    finally:
        await admin.close()

    created = [topic.name for topic in missing]
    if created:
        logger.info("created topics", extra={"topics": created})
    return created


def _raise_on_errors(response: object) -> None:
    for name, code, *detail in getattr(response, "topic_errors", []):
        if code == 0:
            continue
        error = for_code(code)
        if error is TopicAlreadyExistsError:
            continue  # created meanwhile by somebody else: that is fine
        message = detail[0] if detail and detail[0] else error.__name__
        raise InfraError(f"could not create topic {name}: {message}")


async def _wait_listed(
    admin: AIOKafkaAdminClient, names: set[str], within: float = 30.0
) -> None:
    deadline = time.monotonic() + within
    while True:
        absent = names - set(await admin.list_topics())
        if not absent:
            return
        if time.monotonic() > deadline:
            raise InfraError(f"topics not listed after {within:.0f}s: {sorted(absent)}")
        await asyncio.sleep(0.5)


async def end_offsets(bootstrap: str, topic: str) -> dict[int, int]:
    """The next offset of each partition of `topic`: where a new record will land."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        [described] = await admin.describe_topics([topic])
    finally:
        await admin.close()
    partitions = [
        TopicPartition(topic, p["partition"]) for p in described["partitions"]
    ]

    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await consumer.start()
    try:
        ends = await consumer.end_offsets(partitions)
    finally:
        await consumer.stop()
    return {tp.partition: offset for tp, offset in ends.items()}


async def skip_to_end(bootstrap: str, group: str, topic: str) -> None:
    """Commit `group` at the end of `topic`: it will read only what comes next."""
    ends = await end_offsets(bootstrap, topic)
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False
    )
    await consumer.start()
    try:
        offsets = {TopicPartition(topic, p): o for p, o in ends.items()}
        consumer.assign(list(offsets))  # a commit needs its partitions assigned
        await consumer.commit(offsets)
    finally:
        await consumer.stop()
