from datetime import UTC, datetime

import pytest
from aiokafka import ConsumerRecord
from pydantic import BaseModel, ValidationError

from shared.events import Envelope
from shared.messaging import dlq
from shared.messaging.errors import UnknownEventType


class _Amount(BaseModel):
    amount: str


class _Payload(BaseModel):
    data: _Amount


def _record(value: bytes = b"{}", headers=()) -> ConsumerRecord:
    return ConsumerRecord(
        topic="ledger.events",
        partition=3,
        offset=42,
        timestamp=0,
        timestamp_type=0,
        key=b"acme/d-1001",
        value=value,
        checksum=None,
        serialized_key_size=11,
        serialized_value_size=len(value),
        headers=list(headers),
    )


def _validation_error(raw: bytes) -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        Envelope.from_bytes(raw)
    return caught.value


def test_the_reason_names_a_missing_top_level_field():
    error = _validation_error(b'{"type": "invoice.issued", "creditor": "acme"}')

    assert dlq.reason_for(error) == "occurred_at: Field required"


def test_the_reason_names_a_nested_field_by_its_dotted_path():
    with pytest.raises(ValidationError) as caught:
        _Payload.model_validate({"data": {"amount": 12.5}})

    assert dlq.reason_for(caught.value) == "data.amount: Input should be a valid string"


def test_the_reason_says_invalid_json_without_quoting_the_bytes():
    error = _validation_error(b'{"debtor": "Jane Roe", oops')

    reason = dlq.reason_for(error)

    assert reason.startswith("Invalid JSON")
    assert "Jane Roe" not in reason


def test_the_reason_never_repeats_an_offending_value():
    error = _validation_error(
        b'{"type": "invoice.issued", "creditor": "acme", '
        b'"occurred_at": "Jane Roe, Hauptstr. 1"}'
    )

    assert "Jane Roe" not in dlq.reason_for(error)
    assert dlq.reason_for(error).startswith("occurred_at: ")


def test_the_reason_for_an_unknown_type_names_the_type_and_topic():
    error = UnknownEventType("invoice.exploded", "ledger.events")

    assert dlq.reason_for(error) == (
        "type: 'invoice.exploded' is not carried on ledger.events"
    )


def test_dead_letter_headers_say_where_the_record_came_from_and_why():
    error = _validation_error(b'{"type": "invoice.issued", "creditor": "acme"}')
    failed_at = datetime(2026, 1, 5, 10, 12, tzinfo=UTC)

    headers = dlq.dead_letter_headers(
        _record(), error=error, consumer_group="overdue-scheduler", failed_at=failed_at
    )

    assert headers == {
        "x-dlq-reason": "occurred_at: Field required",
        "x-dlq-error": "ValidationError",
        "x-dlq-topic": "ledger.events",
        "x-dlq-partition": "3",
        "x-dlq-offset": "42",
        "x-dlq-consumer-group": "overdue-scheduler",
        "x-dlq-failed-at": "2026-01-05T10:12:00+00:00",
    }


def test_dead_letter_headers_keep_the_original_text_headers_for_a_replay():
    record = _record(headers=[("content-type", b"application/json"), ("bin", b"\xff")])

    headers = dlq.dead_letter_headers(
        record, error=ValueError("x"), consumer_group="overdue-ledger"
    )

    assert headers["content-type"] == "application/json"
    assert "bin" not in headers


class _RecordingBroker:
    def __init__(self) -> None:
        self.published: list[tuple] = []

    async def publish(self, message, topic="", *, key=None, headers=None):
        self.published.append((message, topic, key, headers))


async def test_a_dead_letter_keeps_the_bytes_and_key_and_goes_to_the_twin_topic():
    broker = _RecordingBroker()
    raw = b'{"broken": '

    await dlq.DeadLetters(broker, "overdue-notifier").send(
        _record(raw), ValueError("bad")
    )

    [(message, topic, key, headers)] = broker.published
    assert (message, topic, key) == (raw, "ledger.events.dlq", b"acme/d-1001")
    assert headers["x-dlq-reason"] == "bad"


async def test_dead_lettering_logs_a_warning_with_ids_and_no_payload(caplog):
    broker = _RecordingBroker()
    caplog.set_level("WARNING", logger="shared.messaging.dlq")

    await dlq.DeadLetters(broker, "overdue-ledger").send(
        _record(b'{"debtor_name": "Jane Roe"}'), ValueError("bad"), event_id="e-1"
    )

    [record] = caplog.records
    assert record.levelname == "WARNING"
    assert (record.event_id, record.topic, record.offset) == (
        "e-1",
        "ledger.events",
        42,
    )
    assert "Jane Roe" not in caplog.text
