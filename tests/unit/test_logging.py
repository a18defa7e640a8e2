import io
import json
import logging

import pytest

from shared.logging import configure_logging


@pytest.fixture
def stream():
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    buffer = io.StringIO()

    yield buffer

    root.handlers[:] = handlers
    root.setLevel(level)


def _lines(buffer: io.StringIO) -> list[str]:
    return buffer.getvalue().splitlines()


def test_a_json_line_carries_time_level_logger_message_and_ids(stream):
    configure_logging("INFO", "json", stream=stream)

    logging.getLogger("services.ledger.app").info(
        "fact received",
        extra={
            "event_id": "0b6c",
            "type": "invoice.issued",
            "topic": "ledger.inbound",
            "partition": 2,
            "offset": 7,
            "key": "acme/d-1",
            "creditor": "acme",
            "debtor": "d-1",
        },
    )

    [line] = _lines(stream)
    record = json.loads(line)
    assert record["level"] == "INFO"
    assert record["logger"] == "services.ledger.app"
    assert record["msg"] == "fact received"
    assert record["ts"].endswith("+00:00")
    assert record["partition"] == 2
    assert {
        k: record[k] for k in ("event_id", "type", "key", "creditor", "debtor")
    } == {
        "event_id": "0b6c",
        "type": "invoice.issued",
        "key": "acme/d-1",
        "creditor": "acme",
        "debtor": "d-1",
    }


def test_extra_fields_that_are_not_ids_are_never_written(stream):
    configure_logging("INFO", "json", stream=stream)

    logging.getLogger("test").info(
        "contact sent",
        extra={
            "contact_id": "c-1",
            "debtor_name": "Jane Roe",
            "data": {"amount": "12"},
        },
    )

    record = json.loads(_lines(stream)[0])
    assert record["contact_id"] == "c-1"
    assert "Jane Roe" not in stream.getvalue()
    assert "data" not in record


def test_records_below_the_level_are_dropped(stream):
    configure_logging("WARNING", "json", stream=stream)

    logging.getLogger("test").info("quiet")
    logging.getLogger("test").warning("loud")

    assert [json.loads(line)["msg"] for line in _lines(stream)] == ["loud"]


def test_the_text_format_is_one_readable_line_with_ids(stream):
    configure_logging("INFO", "text", stream=stream)

    logging.getLogger("svc").info("handled", extra={"event_id": "e-1", "offset": 3})

    [line] = _lines(stream)
    assert "INFO" in line and "svc: handled" in line
    assert line.endswith("event_id=e-1 offset=3")


def test_configuring_twice_keeps_one_handler(stream):
    configure_logging("INFO", "json", stream=stream)
    configure_logging("INFO", "json", stream=stream)

    logging.getLogger("test").info("once")

    assert len(_lines(stream)) == 1


def test_an_unknown_format_is_refused():
    with pytest.raises(ValueError, match="json"):
        configure_logging("INFO", "xml")
