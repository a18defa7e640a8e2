"""The outbox relay against the real Kafka, on SQLite and on PostgreSQL."""

import asyncio
import os
import signal
import sys
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
import sqlalchemy as sa
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from sqlalchemy.orm import registry
from sqlmodel import Session, SQLModel

from shared.db.engine import make_engine
from shared.events import Envelope
from shared.outbox import OutboxRecord, OutboxRelay, enqueue, start_relay
from shared.outbox.relay import producer_kwargs
from shared.topics import Topic
from tests.support.databases import fresh_postgres_database, sqlite_url

pytestmark = pytest.mark.integration

TIMEOUT = 60.0
NOW = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)
TABLE = "relay_it_outbox"
ROOT = Path(__file__).resolve().parents[2]


class RelayTable(SQLModel, registry=registry()):
    """Tables of these tests alone."""


class RelayOutbox(OutboxRecord, RelayTable, table=True):
    __tablename__ = TABLE


# A relay process that stops for a minute between the broker's acknowledgement
# and the marking of the rows, so the test can kill it exactly there.
CRASHING_RELAY = f"""
import asyncio, sys
from sqlalchemy.orm import registry
from sqlmodel import SQLModel
from aiokafka import AIOKafkaProducer
from shared.db.engine import make_engine
from shared.outbox import OutboxRecord, OutboxRelay
from shared.outbox.relay import producer_kwargs

class Table(SQLModel, registry=registry()):
    pass

class Outbox(OutboxRecord, Table, table=True):
    __tablename__ = {TABLE!r}

async def stall(events):
    print("acknowledged", len(events), flush=True)
    await asyncio.sleep(600)

async def main(url, bootstrap):
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, **producer_kwargs())
    await producer.start()
    relay = OutboxRelay(make_engine(url), Outbox, producer, after_send=stall)
    await relay.publish_pending()

asyncio.run(main(sys.argv[1], sys.argv[2]))
"""


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield sqlite_url(tmp_path)
        return
    with fresh_postgres_database() as url:
        yield url


@pytest.fixture
def postgres_url() -> Iterator[str]:
    with fresh_postgres_database() as url:
        yield url


def _engine(url: str) -> sa.Engine:
    engine = make_engine(url)
    RelayTable.metadata.create_all(engine)
    return engine


@pytest.fixture
def topic() -> Topic:
    """A topic of this test alone; the local broker creates it on first use."""
    return Topic(f"relay.it.{uuid4().hex[:12]}", "events of one relay test")


@pytest.fixture
async def producer(kafka_bootstrap: str) -> AsyncIterator[AIOKafkaProducer]:
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, **producer_kwargs())
    await producer.start()
    yield producer
    await producer.stop()


def _commit_events(
    engine: sa.Engine, topic: Topic, debtors: list[str]
) -> list[Envelope]:
    """Enqueue one event per debtor in one committed transaction."""
    envelopes = [
        Envelope(
            type="invoice.issued",
            occurred_at=NOW,
            creditor="acme",
            debtor=debtor,
            data={"invoice": f"INV-{uuid4().hex[:6]}"},
        )
        for debtor in debtors
    ]
    with Session(engine) as session:
        for envelope in envelopes:
            enqueue(session, RelayOutbox, envelope, topic)
        session.commit()
    return envelopes


def _unpublished(engine: sa.Engine) -> int:
    table = RelayOutbox.__table__
    query = sa.select(sa.func.count()).where(table.c.published_at.is_(None))
    with engine.connect() as connection:
        return int(connection.execute(query).scalar_one())


def _ids_by_key(envelopes: list[Envelope]) -> dict[str, list[str]]:
    by_key: dict[str, list[str]] = defaultdict(list)
    for envelope in envelopes:
        by_key[envelope.key].append(str(envelope.id))
    return dict(by_key)


async def _eventually(condition: Callable[[], object], what: str) -> None:
    deadline = time.monotonic() + TIMEOUT
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"after {TIMEOUT:.0f} s still waiting for {what}")
        await asyncio.sleep(0.05)


async def _read_topic(bootstrap: str, topic: Topic, count: int) -> list[Any]:
    """The first `count` records of `topic`, from its beginning."""
    consumer = AIOKafkaConsumer(
        topic.name,
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    records: list[Any] = []
    deadline = time.monotonic() + TIMEOUT
    try:
        while len(records) < count:
            if time.monotonic() > deadline:
                pytest.fail(f"{len(records)} of {count} records after {TIMEOUT} s")
            batches = await consumer.getmany(timeout_ms=500)
            records.extend(r for batch in batches.values() for r in batch)
    finally:
        await consumer.stop()
    return records


def _first_sightings_by_key(records: list[Any]) -> dict[str, list[str]]:
    """What a consumer that skips ids it has seen handles, per key, in order."""
    seen: set[str] = set()
    by_key: dict[str, list[str]] = defaultdict(list)
    for record in records:
        event_id = str(Envelope.from_bytes(record.value).id)
        if event_id in seen:
            continue
        seen.add(event_id)
        by_key[record.key.decode()].append(event_id)
    return dict(by_key)


async def test_committed_events_reach_the_topic_in_order_per_key_with_their_ids(
    database_url: str,
    topic: Topic,
    producer: AIOKafkaProducer,
    kafka_bootstrap: str,
) -> None:
    engine = _engine(database_url)
    envelopes = _commit_events(engine, topic, ["d-1", "d-2", "d-3"] * 10)

    async with start_relay(engine, RelayOutbox, producer=producer) as relay:
        relay.wake()
        await _eventually(lambda: _unpublished(engine) == 0, "the outbox to drain")
    records = await _read_topic(kafka_bootstrap, topic, len(envelopes))
    engine.dispose()

    assert len(records) == len(envelopes)
    assert _first_sightings_by_key(records) == _ids_by_key(envelopes)
    for record in records:
        headers = dict(record.headers)
        assert headers["x-event-id"].decode() == str(
            Envelope.from_bytes(record.value).id
        )
        assert headers["x-event-type"] == b"invoice.issued"


async def test_a_relay_killed_between_publish_and_mark_loses_nothing_and_keeps_ids(
    database_url: str,
    topic: Topic,
    producer: AIOKafkaProducer,
    kafka_bootstrap: str,
) -> None:
    engine = _engine(database_url)
    envelopes = _commit_events(engine, topic, ["d-1", "d-2"] * 10)

    crashing = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        CRASHING_RELAY,
        database_url,
        kafka_bootstrap,
        stdout=asyncio.subprocess.PIPE,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert crashing.stdout is not None
    said = await asyncio.wait_for(crashing.stdout.readline(), timeout=TIMEOUT)
    crashing.send_signal(signal.SIGKILL)
    await asyncio.wait_for(crashing.wait(), timeout=TIMEOUT)
    left_by_the_crash = _unpublished(engine)

    async with start_relay(engine, RelayOutbox, producer=producer):
        await _eventually(lambda: _unpublished(engine) == 0, "the outbox to drain")
    records = await _read_topic(kafka_bootstrap, topic, 2 * len(envelopes))
    engine.dispose()

    assert said.decode().split() == ["acknowledged", str(len(envelopes))]
    assert left_by_the_crash == len(envelopes)
    assert len(records) == 2 * len(envelopes)
    copies: dict[str, set[bytes]] = defaultdict(set)
    for record in records:
        copies[str(Envelope.from_bytes(record.value).id)].add(record.value)
    assert all(len(values) == 1 for values in copies.values())
    assert _first_sightings_by_key(records) == _ids_by_key(envelopes)


class CountingProducer:
    """Passes records to the real producer, counting what this relay sent."""

    def __init__(self, producer: AIOKafkaProducer) -> None:
        self.producer = producer
        self.sent = 0

    async def send(self, topic: str, **kwargs: Any) -> Any:
        self.sent += 1
        return await self.producer.send(topic, **kwargs)


async def test_of_two_relays_on_one_postgres_database_one_publishes_and_order_holds(
    postgres_url: str,
    topic: Topic,
    producer: AIOKafkaProducer,
    kafka_bootstrap: str,
) -> None:
    engines = [_engine(postgres_url), make_engine(postgres_url)]
    senders = [CountingProducer(producer), CountingProducer(producer)]
    relays = [
        OutboxRelay(engine, RelayOutbox, sender, poll_interval=0.02)  # type: ignore[arg-type]
        for engine, sender in zip(engines, senders, strict=True)
    ]
    stops = [asyncio.Event(), asyncio.Event()]
    running = [
        asyncio.create_task(relay.run(stop))
        for relay, stop in zip(relays, stops, strict=True)
    ]
    envelopes: list[Envelope] = []

    try:
        for _ in range(5):
            envelopes += _commit_events(engines[0], topic, ["d-1", "d-2", "d-3"] * 4)
            for relay in relays:
                relay.wake()
            await asyncio.sleep(0.05)
        await _eventually(lambda: _unpublished(engines[0]) == 0, "the outbox to drain")
        first_counts = [sender.sent for sender in senders]

        active = first_counts.index(max(first_counts))
        stops[active].set()
        await asyncio.wait_for(running[active], timeout=TIMEOUT)
        envelopes += _commit_events(engines[0], topic, ["d-1", "d-2", "d-3"] * 2)
        await _eventually(
            lambda: _unpublished(engines[0]) == 0, "the standby to take over"
        )
    finally:
        for stop in stops:
            stop.set()
        await asyncio.wait_for(asyncio.gather(*running), timeout=TIMEOUT)
        for engine in engines:
            engine.dispose()
    records = await _read_topic(kafka_bootstrap, topic, len(envelopes))

    assert sorted(first_counts) == [0, 60]
    assert senders[1 - active].sent == 6
    assert len(records) == len(envelopes)
    assert _first_sightings_by_key(records) == _ids_by_key(envelopes)


def _envelope(debtor: str) -> Envelope:
    return Envelope(
        type="invoice.issued",
        occurred_at=NOW,
        creditor="acme",
        debtor=debtor,
        data={"invoice": f"INV-{uuid4().hex[:6]}"},
    )


async def test_events_committed_past_an_open_transaction_wait_for_it_to_commit(
    postgres_url: str,
    topic: Topic,
    producer: AIOKafkaProducer,
    kafka_bootstrap: str,
) -> None:
    engine = _engine(postgres_url)
    relay = OutboxRelay(engine, RelayOutbox, producer, gap_wait=60.0)
    earlier, later = _envelope("d-1"), _envelope("d-1")

    with Session(engine) as slow:
        enqueue(slow, RelayOutbox, earlier, topic)
        slow.flush()  # takes its position, commits only later
        _commit_events_of(engine, topic, [later])
        held_back = await relay.publish_pending()
        slow.commit()
    published = await relay.publish_pending()
    records = await _read_topic(kafka_bootstrap, topic, 2)
    engine.dispose()

    assert held_back == 0
    assert published == 2
    assert _first_sightings_by_key(records) == {
        "acme/d-1": [str(earlier.id), str(later.id)]
    }


async def test_a_hole_left_by_a_rollback_holds_the_relay_back_only_a_while(
    postgres_url: str,
    topic: Topic,
    producer: AIOKafkaProducer,
    kafka_bootstrap: str,
) -> None:
    engine = _engine(postgres_url)
    relay = OutboxRelay(engine, RelayOutbox, producer, gap_wait=0.3)
    first, after = _envelope("d-1"), _envelope("d-1")
    _commit_events_of(engine, topic, [first])
    assert await relay.publish_pending() == 1

    with Session(engine) as failed:
        enqueue(failed, RelayOutbox, _envelope("d-1"), topic)
        failed.flush()
        failed.rollback()
    _commit_events_of(engine, topic, [after])
    at_once = await relay.publish_pending()
    await asyncio.sleep(0.4)
    after_the_wait = await relay.publish_pending()
    records = await _read_topic(kafka_bootstrap, topic, 2)
    engine.dispose()

    assert at_once == 0
    assert after_the_wait == 1
    assert _first_sightings_by_key(records) == {
        "acme/d-1": [str(first.id), str(after.id)]
    }


async def test_a_relay_that_takes_over_publishes_what_follows_the_published_rows(
    postgres_url: str, topic: Topic, producer: AIOKafkaProducer
) -> None:
    engine = _engine(postgres_url)
    _commit_events_of(engine, topic, [_envelope("d-1"), _envelope("d-2")])
    async with start_relay(engine, RelayOutbox, producer=producer):
        await _eventually(lambda: _unpublished(engine) == 0, "the outbox to drain")
    _commit_events_of(engine, topic, [_envelope("d-1")])

    published = await OutboxRelay(engine, RelayOutbox, producer).publish_pending()
    engine.dispose()

    assert published == 1


def _commit_events_of(
    engine: sa.Engine, topic: Topic, envelopes: list[Envelope]
) -> None:
    with Session(engine) as session:
        for envelope in envelopes:
            enqueue(session, RelayOutbox, envelope, topic)
        session.commit()
