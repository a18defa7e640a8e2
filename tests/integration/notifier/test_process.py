"""`overdue notifier serve` as a real process: real Kafka, PostgreSQL and SMTP sink.

Each test has a creditor, a consumer group and a database of its own; the
group starts at the end of the notifier's input topics. Emails land in the
SMTP sink that `overdue infra up` started; letters in a folder of the test.
"""

import asyncio
import email
import email.policy
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from uuid import uuid4

import aiosmtplib
import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from pypdf import PdfReader
from sqlalchemy import Engine
from sqlmodel import Session, select

from services.notifier.adapters.tables import ContactRow, DeliveryRow
from shared.devstack.state import endpoints
from shared.devstack.topics import skip_to_end
from shared.events import Envelope
from shared.settings import CommonSettings
from shared.topics import (
    COLLECTIONS_CONTACTS,
    LEDGER_CREDITORS,
    LEDGER_EVENTS,
    NOTIFIER_EVENTS,
)
from tests.support.notifier import contact_due
from tests.support.scheduler import (
    creditor_updated,
    debtor_upserted,
    invoice_issued,
    payment_received,
)

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("kafka_topics")]

TIMEOUT = 60.0
ROOT = Path(__file__).resolve().parents[3]
OVERDUE = Path(sys.executable).parent / "overdue"
INPUTS = (COLLECTIONS_CONTACTS.name, LEDGER_CREDITORS.name, LEDGER_EVENTS.name)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Notifier:
    """One `overdue notifier serve` of the test, and where its work lands."""

    def __init__(
        self,
        folder: Path,
        database_url: str,
        bootstrap: str,
        group: str | None = None,
        name: str = "notifier",
    ) -> None:
        self.folder = folder
        self.letters = folder / "letters"
        self.database_url = database_url
        self.bootstrap = bootstrap
        self.group = group or f"overdue-notifier-it-{uuid4().hex[:10]}"
        self.port = _free_port()
        self.bounce_port = _free_port()
        self.log = folder / f"{name}.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def env(self) -> dict[str, str]:
        stack = endpoints()
        return {
            **os.environ,
            "OVERDUE_NOTIFIER_CONSUMER_GROUP": self.group,
            "OVERDUE_LETTERS_DIR": str(self.letters),
            "OVERDUE_SMTP_HOST": stack.smtp_host,
            "OVERDUE_SMTP_PORT": str(stack.smtp_port),
            "OVERDUE_BOUNCE_PORT": str(self.bounce_port),
            "OVERDUE_LETTER_WORKERS": "1",
            # A killed process's contacts are taken over this soon (the sink
            # answers at once, so a try lasts milliseconds).
            "OVERDUE_CONTACT_LEASE": "8",
            "OVERDUE_SMTP_TIMEOUT": "2",
            "OVERDUE_LOG_FORMAT": "text",
        }

    async def start(self, *, joining: bool = False) -> None:
        """Start the process; a first one commits its group at the inputs' ends,
        one `joining` a running group cannot and need not."""
        if not joining:
            for topic in INPUTS:
                await skip_to_end(self.bootstrap, self.group, topic)
        self._spawn()
        await self._healthy()

    def _spawn(self) -> None:
        with open(self.log, "ab") as out:
            self.process = subprocess.Popen(
                [
                    str(OVERDUE),
                    "notifier",
                    "serve",
                    "--database",
                    self.database_url,
                    "--kafka",
                    self.bootstrap,
                    "--port",
                    str(self.port),
                ],
                cwd=ROOT,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def kill(self) -> None:
        """SIGKILL: no shutdown, no commit, nothing flushed."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=TIMEOUT)

    def sent_again(self) -> set[str]:
        """The contacts it logged as sent again after an unconfirmed send."""
        return {
            found.group(1)
            for line in self.log.read_text().splitlines()
            if "sending again" in line
            and (found := re.search(r"contact_id=(\S+)", line))
        }

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    async def _healthy(self) -> None:
        deadline = time.monotonic() + TIMEOUT
        async with httpx.AsyncClient() as client:
            while True:
                assert self.process is not None
                if self.process.poll() is not None:
                    pytest.fail(f"the notifier exited: {self.tail()}")
                try:
                    answer = await client.get(f"http://127.0.0.1:{self.port}/healthz")
                    if answer.status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    pytest.fail(f"the notifier did not answer: {self.tail()}")
                await asyncio.sleep(0.2)

    def tail(self) -> str:
        return self.log.read_text()[-4000:]


@pytest.fixture
async def notifier(
    tmp_path: Path, database_url: str, kafka_bootstrap: str
) -> AsyncIterator[Notifier]:
    started = Notifier(tmp_path, database_url, kafka_bootstrap)
    await started.start()
    yield started
    started.stop()


@pytest.fixture
async def producer(kafka_bootstrap: str) -> AsyncIterator[AIOKafkaProducer]:
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")
    await producer.start()
    yield producer
    await producer.stop()


@pytest.fixture
def creditor() -> str:
    return f"it-{uuid4().hex[:8]}"


async def produce(producer: AIOKafkaProducer, envelopes: list[Envelope]) -> None:
    for envelope in envelopes:
        if envelope.type == "creditor.updated":
            topic = LEDGER_CREDITORS.name
        elif envelope.type == "contact.due":
            topic = COLLECTIONS_CONTACTS.name
        else:
            topic = LEDGER_EVENTS.name
        await producer.send_and_wait(
            topic, envelope.to_bytes(), key=envelope.key.encode()
        )


def the_world(creditor: str, now: datetime) -> list[Envelope]:
    """The creditor, three debtors each with one overdue invoice; d3 has paid."""
    past = now - timedelta(days=30)
    world = [creditor_updated(past, creditor=creditor)]
    for debtor in ("d1", "d2", "d3"):
        world += [
            debtor_upserted(past, creditor=creditor, debtor=debtor),
            invoice_issued(
                past,
                creditor=creditor,
                debtor=debtor,
                issued=(past.date()).isoformat(),
                due=(past.date() + timedelta(days=14)).isoformat(),
            ),
        ]
    world.append(payment_received(now, creditor=creditor, debtor="d3"))
    return world


async def eventually(
    condition: Callable[[], bool], what: str, notifier: Notifier
) -> None:
    deadline = time.monotonic() + TIMEOUT
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"{what} did not happen: {notifier.tail()}")
        await asyncio.sleep(0.25)


def many_debtors(creditor: str, count: int) -> tuple[list[Envelope], list[Envelope]]:
    """The creditor and `count` debtors with an invoice each; a reminder for each."""
    now = datetime.now(UTC)
    world = [creditor_updated(now - timedelta(days=30), creditor=creditor)]
    contacts = []
    for debtor in [f"d{n}" for n in range(1, count + 1)]:
        world += [
            debtor_upserted(now, creditor=creditor, debtor=debtor),
            invoice_issued(now, creditor=creditor, debtor=debtor),
        ]
        contacts.append(contact_due(now, creditor=creditor, debtor=debtor))
    return world, contacts


def every_email_sent(engine: Engine, ids: set[str]) -> Callable[[], bool]:
    def done() -> bool:
        sent = {key for key, state in states(engine).items() if state == "sent"}
        return sent == {(i, "email") for i in ids}

    return done


def states(engine: Engine) -> dict[tuple[str, str], str]:
    with Session(engine) as session:
        return {
            (d.contact_id, d.channel): d.state
            for d in session.exec(select(DeliveryRow))
        }


def emails_in_sink(message_id: str) -> list[EmailMessage]:
    found = []
    for path in sorted(endpoints().outbox_dir.glob("*.eml")):
        if message_id.strip("<>").split("@")[0] in path.name:
            found.append(
                email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            )
    return found  # type: ignore[return-value]


async def outcomes(bootstrap: str, creditor: str, count: int) -> list[Envelope]:
    """Read notifier.events from the start until `count` outcomes of `creditor`."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        count_of = CommonSettings().topic_partitions
        partitions = [TopicPartition(NOTIFIER_EVENTS.name, p) for p in range(count_of)]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        found: list[Envelope] = []
        deadline = time.monotonic() + TIMEOUT
        while len(found) < count and time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=500)
            for records in batch.values():
                for record in records:
                    envelope = Envelope.from_bytes(record.value or b"")
                    if envelope.creditor == creditor:
                        found.append(envelope)
        return found
    finally:
        await consumer.stop()


async def test_contacts_on_the_real_broker_become_one_email_one_letter_and_a_skip(
    notifier: Notifier,
    producer: AIOKafkaProducer,
    engine: Engine,
    creditor: str,
    kafka_bootstrap: str,
) -> None:
    now = datetime.now(UTC)
    reminder = contact_due(now, creditor=creditor, debtor="d1")
    final = contact_due(
        now,
        creditor=creditor,
        debtor="d2",
        step="ladder:3",
        template="final",
        channels=("letter",),
        late_fees=True,
    )
    paid = contact_due(now, creditor=creditor, debtor="d3")

    await produce(producer, [*the_world(creditor, now), reminder, final, paid])
    await produce(producer, [reminder])  # redelivered: sent once all the same
    ids = [c.data["contact_id"] for c in (reminder, final, paid)]
    expected = {
        (ids[0], "email"): "sent",
        (ids[1], "letter"): "sent",
        (ids[2], "email"): "skipped",
    }
    await eventually(lambda: states(engine) == expected, "three outcomes", notifier)

    message_id = f"<{ids[0]}@acme.example>"
    [sent] = emails_in_sink(message_id)
    assert sent["Message-ID"] == message_id
    assert sent["To"].addresses[0].addr_spec == "ap@beta.example"
    assert sent.get_content_type() == "multipart/mixed"
    text = sent.get_body(preferencelist=("plain",))
    assert text is not None and "INV-1" in text.get_content()

    published = await outcomes(kafka_bootstrap, creditor, 3)
    assert sorted((e.type, e.data["contact_id"]) for e in published) == sorted(
        [
            ("contact.sent", ids[0]),
            ("contact.sent", ids[1]),
            ("contact.skipped", ids[2]),
        ]
    )

    bound = await asyncio.to_thread(
        subprocess.run,
        [
            str(OVERDUE),
            "notifier",
            "bind",
            "--day",
            "2999-12-31",
            "--database",
            notifier.database_url,
        ],
        cwd=ROOT,
        env=notifier.env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert "1 letters" in bound.stdout
    [batch] = notifier.letters.glob("*/*/batch-*.pdf")
    [manifest] = notifier.letters.glob("*/*/manifest-*.csv")
    assert len(PdfReader(batch).pages) >= 1
    lines = manifest.read_text().splitlines()
    assert lines[0] == "contact_id,debtor,template,pages,first_page"
    assert lines[1].startswith(f"{ids[1]},d2,final,")


async def test_a_bounce_report_to_the_inbound_endpoint_sends_a_letter_instead(
    notifier: Notifier,
    producer: AIOKafkaProducer,
    engine: Engine,
    creditor: str,
) -> None:
    now = datetime.now(UTC)
    reminder = contact_due(now, creditor=creditor, debtor="d1")
    contact_id = reminder.data["contact_id"]
    await produce(producer, [*the_world(creditor, now), reminder])
    await eventually(
        lambda: states(engine).get((contact_id, "email")) == "sent",
        "the email",
        notifier,
    )

    report = dsn(f"<{contact_id}@acme.example>")
    await aiosmtplib.send(
        report,
        hostname="127.0.0.1",
        port=notifier.bounce_port,
        sender="mailer-daemon@mx.beta.example",
        recipients=["bounces@acme.example"],
    )

    await eventually(
        lambda: states(engine).get((contact_id, "letter")) == "sent",
        "the letter after the bounce",
        notifier,
    )
    assert states(engine)[(contact_id, "email")] == "bounced"
    with Session(engine) as session:
        assert session.get(ContactRow, contact_id).done_at is not None


def dsn(original_message_id: str) -> bytes:
    """A Postfix-like RFC 3464 report: user unknown, 5.1.1."""
    return (
        "From: MAILER-DAEMON@mx.beta.example\r\n"
        "To: bounces@acme.example\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\r\n'
        "\r\n--B\r\nContent-Type: text/plain\r\n\r\n"
        "The mail could not be delivered.\r\n"
        "--B\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.beta.example\r\n\r\n"
        "Final-Recipient: rfc822; ap@beta.example\r\n"
        "Action: failed\r\nStatus: 5.1.1\r\n"
        "Diagnostic-Code: smtp; 550 5.1.1 user unknown\r\n"
        "\r\n--B\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        f"Message-ID: {original_message_id}\r\n"
        "From: ACME <ar@acme.example>\r\nTo: ap@beta.example\r\n"
        "\r\n--B--\r\n"
    ).encode()


async def test_two_processes_on_one_database_and_group_send_each_email_once(
    tmp_path: Path,
    database_url: str,
    kafka_bootstrap: str,
    producer: AIOKafkaProducer,
    engine: Engine,
    creditor: str,
) -> None:
    first = Notifier(tmp_path, database_url, kafka_bootstrap, name="first")
    second = Notifier(
        tmp_path, database_url, kafka_bootstrap, group=first.group, name="second"
    )
    world, contacts = many_debtors(creditor, 20)
    try:
        await first.start()
        await second.start(joining=True)

        await produce(producer, world)
        await produce(producer, contacts + contacts[:5])  # five redelivered

        ids = {c.data["contact_id"] for c in contacts}
        await eventually(
            every_email_sent(engine, ids),
            "twenty emails",
            first,
        )
    finally:
        first.stop()
        second.stop()

    for contact_id in ids:
        assert len(emails_in_sink(f"<{contact_id}@acme.example>")) == 1
    with Session(engine) as session:
        rows = list(session.exec(select(ContactRow)))
    # A contact may take two tries: it can arrive before its debtor's details.
    assert len(rows) == 20
    assert all(row.done_at is not None and row.claimed_until is None for row in rows)


async def test_a_process_killed_while_sending_then_restarted_loses_no_email(
    tmp_path: Path,
    database_url: str,
    kafka_bootstrap: str,
    producer: AIOKafkaProducer,
    engine: Engine,
    creditor: str,
) -> None:
    """SPEC §6: nothing lost; a second copy only where the crash fell between the
    SMTP server's acceptance and the commit, and then logged (docs/notifier.md)."""
    first = Notifier(tmp_path, database_url, kafka_bootstrap, name="killed")
    again = Notifier(
        tmp_path, database_url, kafka_bootstrap, group=first.group, name="restarted"
    )
    world, contacts = many_debtors(creditor, 60)
    ids = {c.data["contact_id"] for c in contacts}
    try:
        await first.start()
        await produce(producer, world)
        await produce(producer, contacts)
        await eventually(
            lambda: sum(v == "sent" for v in states(engine).values()) >= 5,
            "the first emails",
            first,
        )
        first.kill()
        sent_before_the_kill = sum(v == "sent" for v in states(engine).values())
        await again.start(joining=True)
        await eventually(
            every_email_sent(engine, ids),
            "every email",
            again,
        )
    finally:
        first.stop()
        again.stop()

    assert sent_before_the_kill < len(ids)
    copies = {i: len(emails_in_sink(f"<{i}@acme.example>")) for i in ids}
    assert all(count >= 1 for count in copies.values())
    twice = {i for i, count in copies.items() if count > 1}
    assert twice <= again.sent_again()
    assert all(count <= 2 for count in copies.values())
