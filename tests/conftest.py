"""Fixtures for the integration and end-to-end tests: the real stack that
`overdue infra up` started."""

import pytest

from shared.devstack.state import endpoints
from shared.devstack.topics import ensure_topics
from shared.settings import CommonSettings


@pytest.fixture(scope="session")
def kafka_bootstrap() -> str:
    """Where the real Kafka answers: the user's cluster, else the local stack's."""
    return endpoints().kafka_bootstrap


@pytest.fixture(scope="session")
async def kafka_topics(kafka_bootstrap: str) -> None:
    """Every topic of SPEC §2 and its DLQ twin exists, as `infra up` makes them."""
    await ensure_topics(kafka_bootstrap, CommonSettings().topic_partitions)
