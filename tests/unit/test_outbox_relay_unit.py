"""The outbox relay with a fake producer and an in-memory SQLite database."""

import asyncio
import logging
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import registry
from sqlalchemy.pool import StaticPool
from sqlmodel import Session, SQLModel, select

from shared.clock import FixedClock
from shared.events import Envelope
from shared.outbox import OutboxRecord, OutboxRelay, PublishFailed, enqueue
from shared.outbox.relay import start_relay
from shared.topics import Topic

NOW = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)
TOPIC = Topic("relay.unit", "events of the relay's unit tests")


class UnitTable(SQLModel, registry=registry()):
    """Tables of these tests alone."""


class UnitOutbox(OutboxRecord, UnitTable, table=True):
    __tablename__ = "unit_outbox"


class Refused(Exception):
    """What the fake broker raises for a record it will not take."""


class FakeProducer:
    """Takes records like `AIOKafkaProducer.send`; acknowledges them unless told."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []
        self.refuse_from: int | None = None
        self.hold = False
        self.futures: list[asyncio.Future[int]] = []

    async def send(
        self,
        topic: str,
        value: bytes | None = None,
        key: bytes | None = None,
        partition: int | None = None,
        timestamp_ms: int | None = None,
        headers: list[tuple[str, bytes]] | None = None,
    ) -> asyncio.Future[int]:
        future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        offset = len(self.sent)
        self.sent.append(
            {"topic": topic, "value": value, "key": key, "headers": headers}
        )
        if self.refuse_from is not None and offset >= self.refuse_from:
            future.set_exception(Refused("not leader for partition"))
        elif not self.hold:
            future.set_result(offset)
        self.futures.append(future)
        return future

    def acknowledge_all(self) -> None:
        for offset, future in enumerate(self.futures):
            if not future.done():
                future.set_result(offset)

    def ids(self) -> list[str]:
        return [dict(record["headers"])["x-event-id"].decode() for record in self.sent]


@pytest.fixture
def engine() -> Iterator[sa.Engine]:
    engine = sa.create_engine(
        "sqlite://",
        poolclass=StaticPool,
        connect_args={"check_same_thread": False},
    )
    UnitTable.metadata.create_all(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def producer() -> FakeProducer:
    return FakeProducer()


def _relay(engine: sa.Engine, producer: FakeProducer, **options: Any) -> OutboxRelay:
    return OutboxRelay(engine, UnitOutbox, producer, clock=FixedClock(NOW), **options)


def _enqueue(engine: sa.Engine, *debtors: str) -> list[str]:
    """Commit one event per debtor, in order; return their ids."""
    envelopes = [
        Envelope(
            type="invoice.issued",
            occurred_at=NOW,
            creditor="acme",
            debtor=debtor,
            data={"invoice": f"INV-{n}"},
        )
        for n, debtor in enumerate(debtors)
    ]
    with Session(engine) as session:
        for envelope in envelopes:
            enqueue(session, UnitOutbox, envelope, TOPIC)
        session.commit()
    return [str(envelope.id) for envelope in envelopes]


def _unpublished(engine: sa.Engine) -> list[str]:
    with Session(engine) as session:
        rows = session.exec(
            select(UnitOutbox)
            .where(UnitOutbox.published_at == None)  # noqa: E711
            .order_by(UnitOutbox.position)  # type: ignore[arg-type]
        ).all()
    return [str(row.event_id) for row in rows]


async def test_events_are_published_in_the_order_they_were_written(
    engine: sa.Engine, producer: FakeProducer
) -> None:
    ids = _enqueue(engine, "d-1", "d-2", "d-1", "d-3", "d-1")
    relay = _relay(engine, producer)

    published = await relay.publish_pending()

    assert published == 5
    assert producer.ids() == ids
    assert _unpublished(engine) == []


async def test_a_record_carries_the_envelope_unchanged_keyed_by_debtor(
    engine: sa.Engine, producer: FakeProducer
) -> None:
    [event_id] = _enqueue(engine, "d-1")
    with Session(engine) as session:
        stored = session.exec(select(UnitOutbox)).one().envelope
    relay = _relay(engine, producer)

    await relay.publish_pending()

    [record] = producer.sent
    assert record["topic"] == "relay.unit"
    assert record["key"] == b"acme/d-1"
    assert record["value"] == stored
    assert Envelope.from_bytes(record["value"]).id.hex == event_id.replace("-", "")
    assert dict(record["headers"]) == {
        "x-event-id": event_id.encode(),
        "x-event-type": b"invoice.issued",
    }


async def test_a_batch_publishes_at_most_batch_size_events(
    engine: sa.Engine, producer: FakeProducer
) -> None:
    ids = _enqueue(engine, *(f"d-{n}" for n in range(7)))
    relay = _relay(engine, producer, batch_size=3)

    counts = [await relay.publish_pending() for _ in range(4)]

    assert counts == [3, 3, 1, 0]
    assert producer.ids() == ids


async def test_a_row_is_marked_published_only_after_the_broker_acknowledged_it(
    engine: sa.Engine, producer: FakeProducer
) -> None:
    ids = _enqueue(engine, "d-1", "d-2")
    producer.hold = True
    relay = _relay(engine, producer)

    publishing = asyncio.create_task(relay.publish_pending())
    await _eventually(lambda: len(producer.sent) == 2)
    before_ack = _unpublished(engine)
    producer.acknowledge_all()
    published = await asyncio.wait_for(publishing, timeout=5)

    assert before_ack == ids
    assert published == 2
    assert _unpublished(engine) == []


async def test_a_refused_record_stays_unpublished_with_every_later_one_and_is_retried(
    engine: sa.Engine, producer: FakeProducer
) -> None:
    ids = _enqueue(engine, "d-1", "d-2", "d-3", "d-4")
    producer.refuse_from = 2
    relay = _relay(engine, producer)

    with pytest.raises(PublishFailed) as failed:
        await relay.publish_pending()
    left_after_failure = _unpublished(engine)
    producer.refuse_from = None
    retried = await relay.publish_pending()

    assert failed.value.published == 2
    assert left_after_failure == ids[2:]
    assert retried == 2
    assert producer.ids() == ids + ids[2:]
    assert _unpublished(engine) == []


async def test_nothing_is_published_twice_when_every_send_succeeds(
    engine: sa.Engine, producer: FakeProducer
) -> None:
    _enqueue(engine, "d-1", "d-2")
    relay = _relay(engine, producer)
    await relay.publish_pending()
    later = _enqueue(engine, "d-3")

    await relay.publish_pending()
    await relay.publish_pending()

    assert len(producer.ids()) == len(set(producer.ids())) == 3
    assert producer.ids()[-1] == later[0]


async def test_rows_are_marked_with_the_clocks_moment(
    engine: sa.Engine, producer: FakeProducer
) -> None:
    _enqueue(engine, "d-1")
    relay = _relay(engine, producer)

    await relay.publish_pending()

    with Session(engine) as session:
        row = session.exec(select(UnitOutbox)).one()
    assert row.published_at is not None
    assert row.published_at.replace(tzinfo=UTC) == NOW


async def test_the_running_relay_logs_a_retry_and_publishes_once_the_broker_is_back(
    engine: sa.Engine, producer: FakeProducer, caplog: pytest.LogCaptureFixture
) -> None:
    ids = _enqueue(engine, "d-1", "d-2")
    producer.refuse_from = 0
    relay = _relay(engine, producer, poll_interval=0.01)
    stop = asyncio.Event()

    with caplog.at_level(logging.WARNING, logger="shared.outbox.relay"):
        running = asyncio.create_task(relay.run(stop))
        await _eventually(lambda: len(producer.sent) >= 2)
        producer.refuse_from = None
        await _eventually(lambda: not _unpublished(engine))
        stop.set()
        await asyncio.wait_for(running, timeout=5)

    retries = [r for r in caplog.records if "retry scheduled" in r.getMessage()]
    assert retries
    assert retries[0].levelno == logging.WARNING
    assert "Refused" in retries[0].__dict__["error"]
    assert [i for i in producer.ids() if i not in ids] == []


async def test_wake_publishes_without_waiting_for_the_poll_interval(
    engine: sa.Engine, producer: FakeProducer
) -> None:
    relay = _relay(engine, producer, poll_interval=60)
    stop = asyncio.Event()
    running = asyncio.create_task(relay.run(stop))
    await asyncio.sleep(0.05)

    ids = _enqueue(engine, "d-1")
    relay.wake()
    await _eventually(lambda: producer.ids() == ids, within=2)
    stop.set()
    await asyncio.wait_for(running, timeout=5)

    assert _unpublished(engine) == []


async def test_start_relay_publishes_in_the_background_until_the_block_ends(
    engine: sa.Engine, producer: FakeProducer
) -> None:
    ids = _enqueue(engine, "d-1", "d-2")

    async with start_relay(engine, UnitOutbox, producer=producer, poll_interval=0.01):
        await _eventually(lambda: not _unpublished(engine))
    ids_after = _enqueue(engine, "d-3")
    await asyncio.sleep(0.05)

    assert producer.ids() == ids
    assert _unpublished(engine) == ids_after


async def test_delete_published_removes_rows_published_before_the_moment_but_the_newest(
    engine: sa.Engine, producer: FakeProducer
) -> None:
    published = _enqueue(engine, "d-1", "d-2", "d-3")
    relay = _relay(engine, producer)
    await relay.publish_pending()
    waiting = _enqueue(engine, "d-4")

    kept = await relay.delete_published(older_than=NOW)
    deleted = await relay.delete_published(older_than=NOW + timedelta(days=7))

    assert (kept, deleted) == (0, 2)
    with Session(engine) as session:
        left = [str(row.event_id) for row in session.exec(select(UnitOutbox)).all()]
    assert left == [published[-1], *waiting]


def test_a_batch_size_below_one_is_refused(
    engine: sa.Engine, producer: FakeProducer
) -> None:
    with pytest.raises(ValueError, match="batch size"):
        _relay(engine, producer, batch_size=0)


async def _eventually(condition: Callable[[], object], within: float = 5.0) -> None:
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"still waiting after {within} s")
        await asyncio.sleep(0.01)


async def test_start_relay_refuses_to_start_without_a_broker_or_a_producer(
    engine: sa.Engine,
) -> None:
    with pytest.raises(ValueError, match="bootstrap_servers or a producer"):
        async with start_relay(engine, UnitOutbox):
            pass
