"""The stack `overdue infra up` leaves running: Kafka, PostgreSQL, the SMTP sink.

Run `overdue infra up` first; these tests read where each part listens from
`endpoints()` and start nothing themselves.
"""

import asyncio
import uuid
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import default as default_policy
from email.utils import make_msgid
from pathlib import Path

import aiosmtplib
import pytest
import sqlalchemy
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from shared.devstack.state import Endpoints, endpoints
from shared.settings import CommonSettings
from shared.topics import ALL_TOPICS, LEDGER_CREDITORS

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def where() -> Endpoints:
    return endpoints()


@pytest.fixture
async def admin(where):
    client = AIOKafkaAdminClient(bootstrap_servers=where.kafka_bootstrap)
    try:
        await client.start()
    except Exception as exc:
        pytest.fail(
            f"no Kafka at {where.kafka_bootstrap}; run `overdue infra up`: {exc}"
        )
    yield client
    await client.close()


def _catalogue() -> set[str]:
    return {t.name for t in ALL_TOPICS} | {t.dlq for t in ALL_TOPICS}


async def test_kafka_holds_every_catalogue_topic_and_its_dead_letter_twin(admin):
    listed = set(await admin.list_topics())

    assert _catalogue() <= listed


async def test_every_topic_has_the_configured_partition_count(admin):
    described = await admin.describe_topics(sorted(_catalogue()))

    counts = {topic["topic"]: len(topic["partitions"]) for topic in described}
    expected = CommonSettings().topic_partitions
    assert counts == dict.fromkeys(_catalogue(), expected)


async def test_only_the_creditors_topic_is_compacted(admin):
    resources = [
        ConfigResource(ConfigResourceType.TOPIC, name, {"cleanup.policy": None})
        for name in sorted(_catalogue())
    ]

    responses = await admin.describe_configs(resources)

    policies = {
        resource["resource_name"]: resource["config_entries"][0]["config_value"]
        for response in responses
        for resource in response.to_object()["resources"]
    }
    assert policies.pop(LEDGER_CREDITORS.name) == "compact"
    assert set(policies.values()) == {"delete"}


async def test_an_idempotent_producer_and_a_consumer_group_work_against_the_broker(
    admin, where
):
    topic = f"overdue.infra-test.{uuid.uuid4().hex[:8]}"
    await admin.create_topics([NewTopic(topic, 1, 1)])
    producer = AIOKafkaProducer(
        bootstrap_servers=where.kafka_bootstrap, enable_idempotence=True
    )
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=where.kafka_bootstrap,
        group_id=f"{topic}.group",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    try:
        await producer.start()
        await producer.send_and_wait(topic, b"payment.received", key=b"acme/d-1001")
        await consumer.start()

        record = await asyncio.wait_for(consumer.getone(), timeout=60)
        await consumer.commit()

        partition = TopicPartition(topic, 0)
        assert (record.key, record.value) == (b"acme/d-1001", b"payment.received")
        assert await consumer.committed(partition) == record.offset + 1
    finally:
        await consumer.stop()
        await producer.stop()
        await admin.delete_topics([topic])


def test_postgresql_answers_a_query_through_sqlalchemy_and_psycopg(where):
    engine = sqlalchemy.create_engine(where.database_url)
    try:
        with engine.connect() as connection:
            answer = connection.execute(sqlalchemy.text("select 1")).scalar_one()
    finally:
        engine.dispose()

    assert answer == 1
    assert engine.dialect.driver == "psycopg"


def _eml_holding(outbox: Path, needle: bytes) -> Path | None:
    for path in outbox.glob("*.eml"):
        if needle in path.read_bytes():
            return path
    return None


async def _wait_for_eml(outbox: Path, message_id: str, within: float) -> Path:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while loop.time() < deadline:
        found = await asyncio.to_thread(_eml_holding, outbox, message_id.encode())
        if found is not None:
            return found
        await asyncio.sleep(0.1)
    raise AssertionError(f"no .eml with {message_id} in {outbox}")


async def test_an_email_sent_to_the_smtp_sink_lands_whole_in_the_outbox(where):
    message = EmailMessage()
    message["From"] = "collections@acme.test"
    message["To"] = "debtor@example.test"
    message["Subject"] = "Invoice INV-7 is overdue"
    message["Message-ID"] = make_msgid(domain="acme.test")
    message.set_content("Please pay invoice INV-7.\n")
    message.add_alternative("<p>Please pay invoice INV-7.</p>", subtype="html")

    await aiosmtplib.send(message, hostname=where.smtp_host, port=where.smtp_port)

    path = await _wait_for_eml(where.outbox_dir, message["Message-ID"], within=5)
    stored = BytesParser(policy=default_policy).parsebytes(path.read_bytes())
    assert stored["Message-ID"] == message["Message-ID"]
    assert stored["Subject"] == "Invoice INV-7 is overdue"
    assert stored["X-Envelope-To"] == "<debtor@example.test>"
    plain = stored.get_body(preferencelist=("plain",))
    html = stored.get_body(preferencelist=("html",))
    assert plain is not None and plain.get_content() == "Please pay invoice INV-7.\n"
    assert html is not None and "INV-7" in html.get_content()
