"""A migrated ledger on a throwaway database, and ways to look into its outbox."""

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from sqlmodel import Session, col, select

from services.ledger.adapters.tables import OutboxMessage
from services.ledger.service import CreditorProfile, Ledger
from shared.clock import SystemClock
from shared.db.engine import make_engine
from shared.db.migrations import upgrade
from tests.support.databases import fresh_postgres_database, sqlite_url

BACKENDS = ["sqlite", "postgresql"]

PROFILE = CreditorProfile.model_validate(
    {
        "legal_name": "ACME Supplies GmbH",
        "address": {"lines": ["ACME"], "city": "Berlin", "country": "DE"},
        "country": "DE",
        "timezone": "Europe/Berlin",
        "currency": "EUR",
        "language": "de",
        "branding": {"sender_name": "ACME", "sender_email": "ar@acme.example"},
        "payment_link": "https://pay.acme.example/",
    }
)


@contextmanager
def database_url(backend: str, folder: Path) -> Iterator[str]:
    """An empty, migrated ledger database on `backend`."""
    if backend == "sqlite":
        url = sqlite_url(folder)
        upgrade("ledger", url)
        yield url
        return
    with fresh_postgres_database(migrated_for="ledger") as url:
        yield url


@contextmanager
def migrated_ledger(backend: str, folder: Path) -> Iterator[Ledger]:
    with database_url(backend, folder) as url:
        engine = make_engine(url)
        try:
            yield Ledger(engine, SystemClock())
        finally:
            engine.dispose()


def outbox(ledger: Ledger, topic: str | None = None) -> list[dict[str, Any]]:
    """The envelopes waiting in the outbox, oldest first."""
    with Session(ledger.engine) as session:
        query = select(OutboxMessage).order_by(col(OutboxMessage.position))
        if topic is not None:
            query = query.where(OutboxMessage.topic == topic)
        return [json.loads(row.envelope) for row in session.exec(query).all()]


def outbox_types(ledger: Ledger, topic: str | None = None) -> list[str]:
    return [envelope["type"] for envelope in outbox(ledger, topic)]


async def start_group_at_the_end(bootstrap: str, group: str, topic: str) -> None:
    """Commit `group` at the end of `topic`, so it skips what earlier runs sent."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        [description] = await admin.describe_topics([topic])
    finally:
        await admin.close()
    partitions = [
        TopicPartition(topic, p["partition"]) for p in description["partitions"]
    ]
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False
    )
    await consumer.start()
    try:
        consumer.assign(partitions)
        await consumer.commit(await consumer.end_offsets(partitions))
    finally:
        await consumer.stop()
