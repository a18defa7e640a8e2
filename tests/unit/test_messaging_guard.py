"""How the envelope guard routes a handler's failure: retry, dead-letter, or go on."""

from decimal import Decimal
from uuid import uuid4

from aiokafka import ConsumerRecord
from faststream.kafka import KafkaBroker, KafkaRouter, TestKafkaBroker
from faststream.kafka.annotations import KafkaMessage
from pydantic import BaseModel

from shared.events import Envelope
from shared.messaging.broker import build_broker, envelope_router, subscribe
from shared.messaging.config import CONSUMER
from shared.messaging.dlq import DeadLetters
from shared.messaging.errors import PermanentError, RetryableError
from shared.messaging.guard import Backoff, EnvelopeGuard, tolerate_binary_headers
from shared.settings import CommonSettings
from shared.topics import Topic

TOPIC = Topic("guard.test", "envelopes for the guard's tests")


class _LedgerUnavailable(RetryableError):
    pass


class _InvoiceUnknown(PermanentError):
    pass


def _broker_around(handler) -> tuple[KafkaBroker, list]:
    broker = build_broker(CommonSettings(), service="test")
    router = envelope_router(broker, "overdue-test", backoff=Backoff(first=0))
    subscribe(router, TOPIC, handler, consumer_group="overdue-test")
    broker.include_router(router)
    dead: list = []

    @broker.subscriber(f"{TOPIC.name}.dlq")
    async def capture(message: KafkaMessage) -> None:
        dead.append(message)

    return broker, dead


def _envelope() -> bytes:
    return Envelope(
        id=uuid4(), type="t", occurred_at="2026-01-05T10:12:00+00:00", creditor="acme"
    ).to_bytes()


async def test_a_retryable_failure_is_not_dead_lettered_and_logs_a_retry(caplog):
    async def handler(envelope: Envelope) -> None:
        raise _LedgerUnavailable("database is down")

    broker, dead = _broker_around(handler)
    caplog.set_level("WARNING", logger="shared.messaging.guard")

    async with TestKafkaBroker(broker) as test_broker:
        await test_broker.publish(_envelope(), TOPIC.name, key=b"acme")

    assert dead == []
    [warning] = caplog.records
    assert warning.getMessage() == "retry scheduled"
    assert (warning.error, warning.attempt) == ("_LedgerUnavailable", 1)


async def test_a_permanent_failure_is_dead_lettered_with_its_class_and_message():
    async def handler(envelope: Envelope) -> None:
        raise _InvoiceUnknown("data.invoice: no such invoice")

    broker, dead = _broker_around(handler)

    async with TestKafkaBroker(broker) as test_broker:
        await test_broker.publish(_envelope(), TOPIC.name, key=b"acme")

    [letter] = dead
    assert letter.headers["x-dlq-error"] == "_InvoiceUnknown"
    assert letter.headers["x-dlq-reason"] == "data.invoice: no such invoice"


async def test_an_unexpected_error_is_logged_with_its_traceback_and_dead_lettered(
    caplog,
):
    async def handler(envelope: Envelope) -> None:
        raise KeyError("stage")

    broker, dead = _broker_around(handler)
    caplog.set_level("ERROR", logger="shared.messaging.guard")

    async with TestKafkaBroker(broker) as test_broker:
        await test_broker.publish(_envelope(), TOPIC.name, key=b"acme")

    [letter] = dead
    assert letter.headers["x-dlq-error"] == "KeyError"
    [error] = caplog.records
    assert error.levelname == "ERROR" and error.exc_info is not None


async def test_the_handler_receives_the_parsed_envelope():
    seen: list[Envelope] = []

    async def handler(envelope: Envelope) -> None:
        seen.append(envelope)

    broker, dead = _broker_around(handler)
    raw = _envelope()

    async with TestKafkaBroker(broker) as test_broker:
        await test_broker.publish(raw, TOPIC.name, key=b"acme")

    assert seen == [Envelope.from_bytes(raw)]
    assert dead == []


def test_the_backoff_doubles_per_attempt_up_to_its_ceiling():
    record = ConsumerRecord("t", 0, 5, 0, 0, None, b"", None, 0, 0, [])
    backoff = Backoff(first=1, ceiling=5)

    delays = [backoff.next_delay(record)[1] for _ in range(5)]
    backoff.forget(record)

    assert delays == [1, 2, 4, 5, 5]
    assert backoff.next_delay(record) == (1, 1)


class _UnreachableDlq:
    async def publish(self, message, topic="", *, key=None, headers=None):
        raise ConnectionError("no broker")


async def test_a_record_the_dlq_refuses_is_kept_for_a_retry_not_lost(caplog):
    broker = build_broker(CommonSettings(), service="test")
    guard = EnvelopeGuard(DeadLetters(_UnreachableDlq(), "g"), Backoff(first=0))
    router = KafkaRouter(middlewares=[guard], ack_policy=CONSUMER.ack_policy)

    async def handler(envelope: Envelope) -> None:
        raise _InvoiceUnknown("data.invoice: no such invoice")

    subscribe(router, TOPIC, handler, consumer_group="g")
    broker.include_router(router)
    caplog.set_level("WARNING", logger="shared.messaging.guard")

    async with TestKafkaBroker(broker) as test_broker:
        await test_broker.publish(_envelope(), TOPIC.name, key=b"acme")

    [warning] = caplog.records
    assert warning.getMessage() == "retry scheduled"
    assert warning.error == "ConnectionError"


async def test_a_header_that_is_not_text_is_dropped_and_the_record_kept():
    record = ConsumerRecord(
        "t",
        0,
        5,
        0,
        0,
        b"k",
        b"{}",
        None,
        1,
        2,
        [("traceparent", b"00-ab"), ("blob", b"\xff\xfe")],
    )
    parsed = []

    async def parse(given):
        parsed.append(given)
        return given

    await tolerate_binary_headers(record, parse)

    [given] = parsed
    assert given.headers == [("traceparent", b"00-ab")]
    assert (given.topic, given.offset, given.value) == ("t", 5, b"{}")


async def test_a_payload_the_handler_finds_invalid_is_dead_lettered_naming_the_field(
    caplog,
):
    class Issued(BaseModel):
        amount: Decimal

    async def handler(envelope: Envelope) -> None:
        Issued.model_validate(envelope.data)

    broker, dead = _broker_around(handler)
    raw = Envelope(
        type="invoice.issued",
        occurred_at="2026-01-05T10:12:00+00:00",
        creditor="acme",
        data={"amount": "Beta GmbH"},
    ).to_bytes()
    caplog.set_level("WARNING")

    async with TestKafkaBroker(broker) as test_broker:
        await test_broker.publish(raw, TOPIC.name, key=b"acme")

    [letter] = dead
    assert letter.headers["x-dlq-reason"] == "amount: Input should be a valid decimal"
    assert letter.body == raw
    assert "Beta GmbH" not in caplog.text
    assert not [r for r in caplog.records if r.levelname == "ERROR"]


async def test_a_batch_whose_handler_fails_retryably_is_retried_whole(caplog):
    seen: list[int] = []

    async def handler(message: KafkaMessage) -> None:
        seen.append(len(message.raw_message))
        raise _LedgerUnavailable("database is down")

    broker = build_broker(CommonSettings(), service="test")
    router = envelope_router(broker, "overdue-test", backoff=Backoff(first=0))
    subscribe(router, TOPIC, handler, consumer_group="overdue-test", batch_of=10)
    broker.include_router(router)
    caplog.set_level("WARNING", logger="shared.messaging.guard")

    async with TestKafkaBroker(broker) as test_broker:
        await test_broker.publish_batch(_envelope(), _envelope(), topic=TOPIC.name)

    assert seen == [2]
    [warning] = caplog.records
    assert warning.getMessage() == "retry scheduled"
    assert (warning.error, warning.records) == ("_LedgerUnavailable", 2)


async def test_a_header_that_is_not_text_is_dropped_from_each_record_of_a_batch():
    def record(offset: int, headers: list[tuple[str, bytes]]) -> ConsumerRecord:
        return ConsumerRecord("t", 0, offset, 0, 0, b"k", b"{}", None, 1, 2, headers)

    batch = (record(1, [("blob", b"\xff")]), record(2, [("traceparent", b"00")]))
    parsed = []

    async def parse(given):
        parsed.append(given)
        return given

    await tolerate_binary_headers(batch, parse)

    [given] = parsed
    assert [r.headers for r in given] == [[], [("traceparent", b"00")]]
    assert [r.offset for r in given] == [1, 2]
