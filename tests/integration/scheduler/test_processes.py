"""`overdue scheduler serve` as real processes on the real Kafka and PostgreSQL.

Each test has a creditor, a consumer group and a database of its own. The
group starts at the end of the scheduler's input topics, so the records of
earlier runs and of other work on the broker are not read. The processes
run on the wall clock: the creditor's send window is open all day, in a
timezone where it is about noon, and the invoices fell due weeks ago, so a
case opens and its first stage is due the moment the invoice is applied.

The broker is shared: another scheduler (a demo, a benchmark) may follow the
same topics, and it decides this test's contacts too, with the same ids but
its own moments, so in other bytes. The tests therefore wait on their own
database, and count only the records whose bytes are a row of its outbox:
what these processes published.
"""

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from uuid import uuid4

import httpx
import pytest
import sqlalchemy as sa
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from sqlmodel import Session, col, select

from services.scheduler.adapters.tables import (
    CollectionRow,
    CreditorRow,
    LedgerWatermark,
    OutboxMessage,
    ProcessedMessage,
)
from shared.devstack.topics import skip_to_end
from shared.events import Envelope
from shared.events.ids import contact_id
from shared.topics import (
    COLLECTIONS_CONTACTS,
    COLLECTIONS_EVENTS,
    LEDGER_CREDITORS,
    LEDGER_EVENTS,
    NOTIFIER_EVENTS,
)
from tests.support.scheduler import (
    creditor_updated,
    debtor_upserted,
    invoice_issued,
    outbox,
    payment_received,
)

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("kafka_topics")]

TIMEOUT = 45.0
DEBTORS = 40
ROOT = Path(__file__).resolve().parents[3]
OVERDUE = Path(sys.executable).parent / "overdue"
INPUTS = (LEDGER_EVENTS.name, LEDGER_CREDITORS.name, NOTIFIER_EVENTS.name)
OUTPUTS = (COLLECTIONS_CONTACTS.name, COLLECTIONS_EVENTS.name)


# -- the world of one test ------------------------------------------------------


def noon_somewhere() -> str:
    """A fixed-offset timezone in which it is between 06:00 and 18:00 now."""
    hours = (12 - datetime.now(UTC).hour) % 24
    if hours > 12:
        hours -= 24
    # The Etc zones count west as positive: Etc/GMT-3 is three hours east of UTC.
    return "Etc/UTC" if hours == 0 else f"Etc/GMT{-hours:+d}"


def open_all_day(creditor: str, timezone: str) -> Envelope:
    """The creditor, with a policy whose window is open at any hour of any day."""
    envelope = creditor_updated(datetime.now(UTC), creditor=creditor)
    policy = dict(envelope.data["policy"])
    policy["send_window"] = {
        "start": "00:00",
        "end": "23:59",
        "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
    }
    policy["skip_holidays"] = False
    policy["pre_due"] = None
    return creditor_updated(
        datetime.now(UTC), creditor=creditor, timezone=timezone, policy=policy
    )


def overdue_debtor(creditor: str, debtor: str, today: date) -> list[Envelope]:
    """A debtor and an invoice that fell due three weeks ago."""
    now = datetime.now(UTC)
    return [
        debtor_upserted(now, creditor=creditor, debtor=debtor),
        invoice_issued(
            now,
            creditor=creditor,
            debtor=debtor,
            number=f"INV-{debtor}",
            issued=(today - timedelta(days=35)).isoformat(),
            due=(today - timedelta(days=21)).isoformat(),
        ),
    ]


def first_reminder(creditor: str, debtor: str) -> str:
    """The id the first stage of the debtor's first case has, whoever decides it."""
    return contact_id(creditor, debtor, f"{debtor}#1", "ladder:1")


@pytest.fixture
def creditor() -> str:
    return f"it-{uuid4().hex[:10]}"


@pytest.fixture
def timezone() -> str:
    return noon_somewhere()


@pytest.fixture
def today(timezone: str) -> date:
    from zoneinfo import ZoneInfo

    return datetime.now(ZoneInfo(timezone)).date()


@pytest.fixture
async def group(kafka_bootstrap: str) -> str:
    """A consumer group of this test alone, committed at the end of its inputs."""
    group = f"overdue-scheduler-it-{uuid4().hex[:10]}"
    for topic in INPUTS:
        await skip_to_end(kafka_bootstrap, group, topic)
    return group


@pytest.fixture
async def producer(kafka_bootstrap: str) -> AsyncIterator[AIOKafkaProducer]:
    producer = AIOKafkaProducer(
        bootstrap_servers=kafka_bootstrap, acks="all", linger_ms=5
    )
    await producer.start()
    yield producer
    await producer.stop()


async def produce(producer: AIOKafkaProducer, envelopes: list[Envelope]) -> None:
    """Send the envelopes together, in order, each keyed as the ledger keys it."""
    sent = []
    for envelope in envelopes:
        topic = LEDGER_CREDITORS if envelope.debtor is None else LEDGER_EVENTS
        sent.append(
            await producer.send(
                topic.name, envelope.to_bytes(), key=envelope.key.encode()
            )
        )
    await asyncio.gather(*sent)


# -- the scheduler's processes ----------------------------------------------------


class Processes:
    """`overdue scheduler serve` processes of one test; stopped when it ends."""

    def __init__(
        self, folder: Path, database_url: str, bootstrap: str, group: str
    ) -> None:
        self.folder = folder
        self.database_url = database_url
        self.bootstrap = bootstrap
        self.group = group
        self.running: list[subprocess.Popen[bytes]] = []

    async def start(self) -> subprocess.Popen[bytes]:
        """One more process on the test's database and group, once it answers."""
        port = _free_port()
        log = self.folder / f"scheduler-{len(self.running)}.log"
        process = self._spawn(port, log)
        self.running.append(process)
        await self._healthy(process, port, log)
        return process

    def _spawn(self, port: int, log: Path) -> subprocess.Popen[bytes]:
        with open(log, "ab") as out:
            return subprocess.Popen(
                [
                    str(OVERDUE),
                    "scheduler",
                    "serve",
                    "--database",
                    self.database_url,
                    "--kafka",
                    self.bootstrap,
                    "--port",
                    str(port),
                ],
                cwd=ROOT,
                env={
                    **os.environ,
                    "OVERDUE_SCHEDULER_CONSUMER_GROUP": self.group,
                    "OVERDUE_LOG_FORMAT": "text",
                },
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    @staticmethod
    def kill(process: subprocess.Popen[bytes]) -> None:
        """SIGKILL: no shutdown, no commit, nothing flushed."""
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=TIMEOUT)

    def stop_all(self) -> None:
        for process in self.running:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.running:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    async def _healthy(
        self, process: subprocess.Popen[bytes], port: int, log: Path
    ) -> None:
        deadline = time.monotonic() + TIMEOUT
        async with httpx.AsyncClient() as client:
            while True:
                if process.poll() is not None:
                    pytest.fail(f"the scheduler exited: {_tail(log)}")
                try:
                    answer = await client.get(f"http://127.0.0.1:{port}/healthz")
                    if answer.status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    pytest.fail(f"the scheduler did not answer: {_tail(log)}")
                await asyncio.sleep(0.1)


def _tail(log: Path) -> str:
    return log.read_text()[-3000:]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def processes(
    tmp_path: Path, database_url: str, kafka_bootstrap: str, group: str
) -> Iterator[Processes]:
    started = Processes(tmp_path, database_url, kafka_bootstrap, group)
    yield started
    started.stop_all()


# -- what the scheduler published -------------------------------------------------


class Published:
    """The records of `collections.*` about one creditor since the test began."""

    def __init__(self, bootstrap: str, creditor: str) -> None:
        self.bootstrap = bootstrap
        self.creditor = creditor
        self.records: list[ConsumerRecord[bytes, bytes]] = []
        self.consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap, enable_auto_commit=False
        )

    async def start(self) -> None:
        partitions = await _partitions(self.bootstrap, OUTPUTS)
        await self.consumer.start()
        self.consumer.assign(partitions)
        for partition, offset in (await self.consumer.end_offsets(partitions)).items():
            self.consumer.seek(partition, offset)

    async def stop(self) -> None:
        await self.consumer.stop()

    def ours(self, engine: sa.Engine) -> None:
        """Keep only the records that are rows of this test's outbox."""
        with Session(engine) as session:
            rows = set(session.exec(select(OutboxMessage.envelope)).all())
        self.records = [r for r in self.records if r.value in rows]

    def envelopes(self, topic: str, type: str | None = None) -> list[Envelope]:
        found = [Envelope.from_bytes(r.value) for r in self.records if r.topic == topic]
        return [e for e in found if type is None or e.type == type]

    def contact_ids(self) -> list[str]:
        """The id of every `contact.due` read, a copy as often as it came."""
        return [
            e.data["contact_id"]
            for e in self.envelopes(COLLECTIONS_CONTACTS.name, "contact.due")
        ]

    async def everything_from(self, engine: sa.Engine) -> None:
        """Read what the relay has published of the outbox, once it has all."""
        await drained(engine)
        await self._to_the_end()
        self.ours(engine)

    async def _to_the_end(self) -> None:
        """Read everything the topics hold now."""
        partitions = list(self.consumer.assignment())
        ends = await self.consumer.end_offsets(partitions)
        deadline = time.monotonic() + TIMEOUT
        while [p for p, end in ends.items() if await self._position(p) < end]:
            if time.monotonic() > deadline:
                pytest.fail("the published records could not be read to the end")
            await self._poll()

    async def _position(self, partition: TopicPartition) -> int:
        return int(await self.consumer.position(partition))

    async def _poll(self) -> None:
        batches = await self.consumer.getmany(timeout_ms=200)
        for record in (r for batch in batches.values() for r in batch):
            if json.loads(record.value).get("creditor") == self.creditor:
                self.records.append(record)


@pytest.fixture
async def published(kafka_bootstrap: str, creditor: str) -> AsyncIterator[Published]:
    reader = Published(kafka_bootstrap, creditor)
    await reader.start()
    yield reader
    await reader.stop()


async def _partitions(bootstrap: str, topics: tuple[str, ...]) -> list[TopicPartition]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        described = await admin.describe_topics(list(topics))
    finally:
        await admin.close()
    return [
        TopicPartition(topic["topic"], partition["partition"])
        for topic in described
        for partition in topic["partitions"]
    ]


# -- what the scheduler's database holds ------------------------------------------


def outbox_contacts(engine: sa.Engine) -> list[str]:
    """The contact id of every `contact.due` row in the outbox."""
    with Session(engine) as session:
        rows = session.exec(
            select(OutboxMessage).where(OutboxMessage.type == "contact.due")
        ).all()
        return [json.loads(row.envelope)["data"]["contact_id"] for row in rows]


def unpublished(engine: sa.Engine) -> int:
    with Session(engine) as session:
        query = select(sa.func.count()).where(col(OutboxMessage.published_at).is_(None))
        return int(session.exec(query).one())


def due_timers(engine: sa.Engine) -> int:
    """Collections whose timer has come and not fired."""
    with Session(engine) as session:
        query = select(sa.func.count()).where(
            col(CollectionRow.next_moment) <= datetime.now(UTC)
        )
        return int(session.exec(query).one())


def applied(engine: sa.Engine, envelope: Envelope) -> bool:
    with Session(engine) as session:
        return session.get(ProcessedMessage, envelope.id) is not None


async def drained(engine: sa.Engine) -> None:
    """Wait until the relay has published every row of the outbox."""
    deadline = time.monotonic() + TIMEOUT
    while unpublished(engine):
        if time.monotonic() > deadline:
            pytest.fail(f"{unpublished(engine)} outbox rows still unpublished")
        await asyncio.sleep(0.1)


async def eventually(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + TIMEOUT
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"after {TIMEOUT:.0f} s still waiting for {what}")
        await asyncio.sleep(0.1)


def decided(engine: sa.Engine, expected: set[str]) -> Callable[[], bool]:
    return lambda: expected <= set(outbox_contacts(engine))


# -- the tests -------------------------------------------------------------------


async def test_one_process_sends_each_overdue_debtor_its_first_reminder_once(
    processes: Processes,
    producer: AIOKafkaProducer,
    published: Published,
    engine: sa.Engine,
    creditor: str,
    timezone: str,
    today: date,
) -> None:
    debtors = [f"d{n}" for n in range(DEBTORS)]
    expected = {first_reminder(creditor, d) for d in debtors}
    await processes.start()

    await produce(producer, [open_all_day(creditor, timezone)])
    for debtor in debtors:
        await produce(producer, overdue_debtor(creditor, debtor, today))
    await eventually(decided(engine, expected), "a reminder for every debtor")
    await published.everything_from(engine)

    reminders = published.envelopes(COLLECTIONS_CONTACTS.name, "contact.due")
    assert Counter(published.contact_ids()) == Counter(expected)
    assert {e.data["template"] for e in reminders} == {"reminder"}
    assert {e.debtor for e in reminders} == set(debtors)
    assert len(published.envelopes(COLLECTIONS_EVENTS.name, "case.opened")) == DEBTORS


async def test_two_processes_on_one_database_and_group_send_what_one_does_once(
    processes: Processes,
    producer: AIOKafkaProducer,
    published: Published,
    engine: sa.Engine,
    creditor: str,
    timezone: str,
    today: date,
) -> None:
    debtors = [f"d{n}" for n in range(DEBTORS)]
    expected = {first_reminder(creditor, d) for d in debtors}
    await processes.start()
    await processes.start()

    await produce(producer, [open_all_day(creditor, timezone)])
    for debtor in debtors:
        await produce(producer, overdue_debtor(creditor, debtor, today))
    await eventually(decided(engine, expected), "a reminder for every debtor")
    await published.everything_from(engine)

    assert Counter(published.contact_ids()) == Counter(expected)
    assert sorted(outbox_contacts(engine)) == sorted(expected)


async def test_a_process_killed_while_debtors_arrive_then_restarted_loses_none(
    processes: Processes,
    producer: AIOKafkaProducer,
    published: Published,
    engine: sa.Engine,
    creditor: str,
    timezone: str,
    today: date,
) -> None:
    debtors = [f"d{n}" for n in range(DEBTORS * 3)]
    expected = {first_reminder(creditor, d) for d in debtors}
    first = await processes.start()
    await produce(producer, [open_all_day(creditor, timezone)])

    async def arrive() -> None:
        for debtor in debtors:
            await produce(producer, overdue_debtor(creditor, debtor, today))
            await asyncio.sleep(0.02)

    arriving = asyncio.create_task(arrive())
    await eventually(lambda: len(outbox_contacts(engine)) >= 5, "the first reminders")
    processes.kill(first)
    decided_before_the_kill = len(outbox_contacts(engine))
    await processes.start()
    await arriving
    await eventually(decided(engine, expected), "a reminder for every debtor")
    await published.everything_from(engine)

    assert decided_before_the_kill < len(debtors)
    assert set(published.contact_ids()) == expected
    assert sorted(outbox_contacts(engine)) == sorted(expected)
    assert unpublished(engine) == 0
    assert due_timers(engine) == 0


async def test_a_payment_the_scheduler_reads_before_the_slot_prevents_the_contact(
    processes: Processes,
    producer: AIOKafkaProducer,
    published: Published,
    engine: sa.Engine,
    creditor: str,
    timezone: str,
    today: date,
) -> None:
    await processes.start()
    await produce(producer, [open_all_day(creditor, timezone)])
    paid = overdue_debtor(creditor, "paid", today)
    payment = payment_received(
        datetime.now(UTC), creditor=creditor, debtor="paid", number="INV-paid"
    )
    sentinel = first_reminder(creditor, "sentinel")

    await produce(producer, [*paid, payment])
    await produce(producer, overdue_debtor(creditor, "sentinel", today))
    await eventually(decided(engine, {sentinel}), "the other debtor's reminder")
    await eventually(lambda: applied(engine, payment), "the payment to be applied")
    await published.everything_from(engine)

    cases = [e.type for e in published.envelopes(COLLECTIONS_EVENTS.name)]
    of_paid = [
        e.type
        for e in published.envelopes(COLLECTIONS_EVENTS.name)
        if e.debtor == "paid"
    ]
    assert [e.debtor for e in published.envelopes(COLLECTIONS_CONTACTS.name)] == [
        "sentinel"
    ]
    assert "case.opened" in cases
    assert of_paid in ([], ["case.opened", "case.resolved"])


def waiting_on_a_lock(engine: sa.Engine) -> bool:
    """Whether a session of the scheduler waits for a row another holds."""
    query = sa.text(
        "SELECT count(*) FROM pg_stat_activity"
        " WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )
    with engine.connect() as connection:
        return bool(connection.execute(query).scalar_one())


def collection_of(
    engine: sa.Engine, creditor: str, debtor: str
) -> CollectionRow | None:
    with Session(engine) as session:
        return session.get(CollectionRow, (creditor, debtor))


def open_every_day(engine: sa.Engine, creditor: str) -> bool:
    with Session(engine) as session:
        row = session.get(CreditorRow, creditor)
        policy = row.policy if row is not None else None
        return policy is not None and len(policy["send_window"]["days"]) == 7


def caught_up_everywhere(engine: sa.Engine) -> bool:
    with Session(engine) as session:
        rows = session.exec(select(LedgerWatermark)).all()
        return bool(rows) and all(row.caught_up_at is not None for row in rows)


async def test_a_payment_still_unread_when_its_contact_falls_due_prevents_it(
    processes: Processes,
    producer: AIOKafkaProducer,
    published: Published,
    engine: sa.Engine,
    creditor: str,
    timezone: str,
    today: date,
) -> None:
    other = f"{creditor}-other"
    in_three_days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"][
        (today.weekday() + 3) % 7
    ]
    closed_today = open_all_day(creditor, timezone)
    policy = dict(closed_today.data["policy"])
    policy["send_window"] = {"start": "00:00", "end": "23:59", "days": [in_three_days]}
    closed_today = creditor_updated(
        datetime.now(UTC), creditor=creditor, timezone=timezone, policy=policy
    )
    await processes.start()
    await produce(producer, [closed_today, open_all_day(other, timezone)])
    await produce(producer, overdue_debtor(creditor, "d", today))
    await produce(producer, overdue_debtor(other, "e", today)[:1])
    await eventually(
        lambda: (
            collection_of(engine, other, "e") is not None
            and [e.type for e in outbox(engine) if e.debtor == "d"] == ["case.opened"]
            and caught_up_everywhere(engine)
        ),
        "both debtors applied, the case opened, and the consumer caught up",
    )

    # The consumer stops at a fact of another creditor's debtor, whose row
    # the test holds; the payment behind it stays unread.
    with engine.connect() as holder, holder.begin():
        holder.execute(
            sa.select(CollectionRow.__table__)
            .where(CollectionRow.__table__.c.debtor_id == "e")
            .with_for_update()
        )
        await produce(producer, overdue_debtor(other, "e", today)[:1])
        await eventually(lambda: waiting_on_a_lock(engine), "the consumer to wait")
        payment = payment_received(
            datetime.now(UTC), creditor=creditor, debtor="d", number="INV-d"
        )
        await produce(producer, [payment])
        await asyncio.sleep(2.5)  # SPEC §6: recorded two seconds before the moment
        await produce(producer, [open_all_day(creditor, timezone)])
        await eventually(
            lambda: open_every_day(engine, creditor), "the new window to be applied"
        )
        await asyncio.sleep(2.0)  # four ticks of the timer loop
        held_back = outbox_contacts(engine)
    await eventually(lambda: applied(engine, payment), "the payment to be applied")
    await eventually(lambda: due_timers(engine) == 0, "the timer to fire")
    await published.everything_from(engine)

    of_d = [
        e.type for e in published.envelopes(COLLECTIONS_EVENTS.name) if e.debtor == "d"
    ]
    assert held_back == []
    assert outbox_contacts(engine) == []
    assert of_d == ["case.opened", "case.resolved"]
