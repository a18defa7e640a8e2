"""Fixtures for tests against the real Kafka of the local stack."""

import contextlib
import os

import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from shared.topics import ALL_TOPICS

DEFAULT_BOOTSTRAP = "127.0.0.1:9092"


@pytest.fixture(scope="session")
def kafka_bootstrap() -> str:
    """Where the real Kafka answers: the environment's, else the local stack's."""
    return (
        os.environ.get("OVERDUE_KAFKA_BOOTSTRAP_SERVERS")
        or os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
        or DEFAULT_BOOTSTRAP
    )


@pytest.fixture(scope="session")
async def kafka_topics(kafka_bootstrap: str) -> None:
    """Every topic of SPEC §2 and its DLQ twin exists, created here if missing."""
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        wanted = []
        for topic in ALL_TOPICS:
            compact = {"cleanup.policy": "compact"} if topic.compacted else {}
            if topic.name not in existing:
                wanted.append(NewTopic(topic.name, 6, 1, topic_configs=compact))
            if topic.dlq not in existing:
                wanted.append(NewTopic(topic.dlq, 6, 1))
        for new_topic in wanted:
            # created meanwhile, by another test run or by the broker itself
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics([new_topic])
    finally:
        await admin.close()
