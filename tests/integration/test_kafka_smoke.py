"""The scheduler's consumer against the real broker: commits, restarts, dead letters."""

import asyncio
import json
import logging
import time
from collections.abc import Callable
from pathlib import Path
from uuid import uuid4

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from faststream import FastStream

from services.scheduler.app import create_app
from services.scheduler.service import Scheduler
from services.scheduler.settings import SchedulerSettings
from shared.clock import SystemClock
from shared.db.engine import make_engine
from shared.db.migrations import upgrade
from shared.topics import LEDGER_EVENTS
from tests.support.databases import sqlite_url

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("kafka_topics")]

TIMEOUT = 60.0
KEY = b"acme/d-smoke"


class HandledEvents(logging.Handler):
    """The event ids the scheduler logged as handled, in order."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.ids: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.getMessage() in ("event applied", "event already applied"):
            self.ids.append(record.event_id)


@pytest.fixture
def handled():
    logger = logging.getLogger("services.scheduler.app")
    handler, level = HandledEvents(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)

    yield handler

    logger.removeHandler(handler)
    logger.setLevel(level)


@pytest.fixture
def group() -> str:
    """A consumer group of this run alone, so earlier runs' offsets don't count."""
    return f"overdue-scheduler-smoke-{uuid4()}"


@pytest.fixture
def scheduler(tmp_path: Path) -> Scheduler:
    """The scheduler's state in a SQLite file: this test is about the broker."""
    url = sqlite_url(tmp_path)
    upgrade("scheduler", url)
    return Scheduler(make_engine(url), SystemClock())


@pytest.fixture
async def producer(kafka_bootstrap: str):
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")
    await producer.start()
    yield producer
    await producer.stop()


def _envelope(**changes) -> dict:
    envelope = {
        "id": str(uuid4()),
        "type": "invoice.issued",
        "schema": 1,
        "occurred_at": "2026-01-05T10:12:00+00:00",
        "creditor": "acme",
        "debtor": "d-smoke",
        "data": {
            "number": "INV-1",
            "issued_on": "2026-01-05",
            "due_on": "2026-01-19",
            "currency": "EUR",
            "amount": "1200.00",
            "balance": "1200.00",
        },
    }
    envelope.update(changes)
    return {k: v for k, v in envelope.items() if v is not None}


async def _eventually(condition: Callable[[], object], what: str) -> None:
    deadline = time.monotonic() + TIMEOUT
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"after {TIMEOUT:.0f} s still waiting for {what}")
        await asyncio.sleep(0.1)


async def _start_at_the_end(bootstrap: str, group: str) -> None:
    """Commit the group at the topic's end, so it skips earlier runs' records."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        [description] = await admin.describe_topics([LEDGER_EVENTS.name])
    finally:
        await admin.close()
    partitions = [
        TopicPartition(LEDGER_EVENTS.name, p["partition"])
        for p in description["partitions"]
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


async def _started(bootstrap: str, group: str, scheduler: Scheduler) -> FastStream:
    app = create_app(
        SchedulerSettings(kafka_bootstrap_servers=bootstrap, consumer_group=group),
        scheduler=scheduler,
    )
    await app.start()
    return app


async def _committed(bootstrap: str, group: str, partition: int) -> int:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(group)
    finally:
        await admin.close()
    meta = offsets.get(TopicPartition(LEDGER_EVENTS.name, partition))
    return meta.offset if meta is not None else -1


async def test_a_handled_event_is_committed_and_not_redelivered_after_a_restart(
    kafka_bootstrap, group, producer, handled, scheduler
):
    await _start_at_the_end(kafka_bootstrap, group)
    event = _envelope()
    app = await _started(kafka_bootstrap, group, scheduler)
    try:
        sent = await producer.send_and_wait(
            LEDGER_EVENTS.name, json.dumps(event).encode(), key=KEY
        )
        await _eventually(lambda: event["id"] in handled.ids, "the event to be handled")
        committed = await _wait_for_commit(kafka_bootstrap, group, sent)
    finally:
        await app.stop()

    handled.ids.clear()
    sentinel = _envelope()
    app = await _started(kafka_bootstrap, group, scheduler)
    try:
        await producer.send_and_wait(
            LEDGER_EVENTS.name, json.dumps(sentinel).encode(), key=KEY
        )
        await _eventually(
            lambda: sentinel["id"] in handled.ids, "the restarted app to catch up"
        )
    finally:
        await app.stop()

    assert committed > sent.offset  # later records of other runs may count too
    assert event["id"] not in handled.ids


async def _wait_for_commit(bootstrap: str, group: str, sent) -> int:
    deadline = time.monotonic() + TIMEOUT
    while (offset := await _committed(bootstrap, group, sent.partition)) <= sent.offset:
        if time.monotonic() > deadline:
            pytest.fail(f"offset {sent.offset} not committed after {TIMEOUT:.0f} s")
        await asyncio.sleep(0.2)
    return offset


async def test_malformed_records_land_in_the_dlq_unchanged_and_the_consumer_goes_on(
    kafka_bootstrap, group, producer, handled, scheduler
):
    await _start_at_the_end(kafka_bootstrap, group)
    not_json = f'{{"id": "{uuid4()}", "type": '.encode()
    no_occurred_at = json.dumps(_envelope(occurred_at=None)).encode()
    valid = _envelope()

    app = await _started(kafka_bootstrap, group, scheduler)
    try:
        # a header that is not text must not stop the consumer either
        await producer.send_and_wait(
            LEDGER_EVENTS.name, not_json, key=KEY, headers=[("blob", b"\xff")]
        )
        for value in (no_occurred_at, json.dumps(valid).encode()):
            await producer.send_and_wait(LEDGER_EVENTS.name, value, key=KEY)
        await _eventually(lambda: valid["id"] in handled.ids, "the valid event")
        letters = await _dead_letters_of(kafka_bootstrap, group, count=2)
    finally:
        await app.stop()

    by_value = {letter.value: letter for letter in letters}
    assert set(by_value) == {not_json, no_occurred_at}
    assert all(letter.key == KEY for letter in letters)
    reasons = {
        value: dict(letter.headers)["x-dlq-reason"].decode()
        for value, letter in by_value.items()
    }
    assert reasons[not_json].startswith("Invalid JSON")
    assert reasons[no_occurred_at] == "occurred_at: Field required"
    headers = dict(by_value[no_occurred_at].headers)
    assert headers["x-dlq-topic"] == b"ledger.events"
    assert headers["x-dlq-error"] == b"ValidationError"
    assert {"x-dlq-partition", "x-dlq-offset", "x-dlq-failed-at"} <= set(headers)


async def _dead_letters_of(bootstrap: str, group: str, count: int) -> list:
    """Records on `ledger.events.dlq` that `group` put there, read from the start."""
    reader = AIOKafkaConsumer(
        LEDGER_EVENTS.dlq,
        bootstrap_servers=bootstrap,
        group_id=f"{group}-reader",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await reader.start()
    letters = []
    deadline = time.monotonic() + TIMEOUT
    try:
        while len(letters) < count:
            if time.monotonic() > deadline:
                pytest.fail(f"{len(letters)} of {count} dead letters after {TIMEOUT} s")
            batches = await reader.getmany(timeout_ms=500)
            for record in (r for batch in batches.values() for r in batch):
                if dict(record.headers).get("x-dlq-consumer-group") == group.encode():
                    letters.append(record)
    finally:
        await reader.stop()
    return letters
