"""Log records as JSON lines (or text for humans), carrying ids and nothing personal.

Only the ids listed in `ID_FIELDS` leave a record's `extra`: a name, an address,
an amount or a message body passed there by mistake is dropped, never written.
"""

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any, Literal, TextIO

ID_FIELDS: tuple[str, ...] = (
    "service",
    "event_id",
    "type",
    "topic",
    "partition",
    "offset",
    "key",
    "creditor",
    "debtor",
    "case_id",
    "contact_id",
    "invoice_id",
    "consumer_group",
    "group_id",
    "message_id",
    "error",
    "reason",
    "attempt",
    "retry_in",
    "smtp_code",
    "smtp_status",
    "dlq_topic",
    "positions",
    "partitions",
    "topics",
    "pid",
    "exit_code",
    "count",
    "fired",
    "released",
)
"""The `extra` keys a record may carry; all are ids, routing facts or counts."""

_HANDLER_NAME = "overdue"


def ids_of(record: logging.LogRecord) -> dict[str, Any]:
    """The allowed ids a record carries, in `ID_FIELDS` order."""
    ids: dict[str, Any] = {}
    for name in ID_FIELDS:
        value = record.__dict__.get(name)
        if value is None or value == "":
            continue
        ids[name] = value if isinstance(value, int | float | bool) else str(value)
    return ids


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, msg, then the ids."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
            **ids_of(record),
        }
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """`ts LEVEL logger: msg key=value ...`, for a human at a terminal."""

    def format(self, record: logging.LogRecord) -> str:
        ts = datetime.fromtimestamp(record.created, UTC).strftime("%H:%M:%S.%f")[:-3]
        ids = " ".join(f"{k}={v}" for k, v in ids_of(record).items())
        text = f"{ts} {record.levelname:<7} {record.name}: {record.getMessage()}"
        if ids:
            text = f"{text}  {ids}"
        if record.exc_info:
            text = f"{text}\n{self.formatException(record.exc_info)}"
        return text


def configure_logging(
    level: str | int = "INFO",
    fmt: Literal["json", "text"] | str = "json",
    stream: TextIO | None = None,
) -> None:
    """Send every logger's records through one handler on the root, in `fmt`."""
    if fmt not in ("json", "text"):
        raise ValueError(f"log format must be 'json' or 'text', not {fmt!r}")

    handler = logging.StreamHandler(stream or sys.stderr)
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())

    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == _HANDLER_NAME]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper() if isinstance(level, str) else level)

    # aiosmtpd writes every envelope address at INFO: personal data.
    logging.getLogger("mail.log").setLevel(logging.WARNING)

    # faststream and uvicorn bring handlers of their own; ours is the only one.
    for name in ("faststream", "faststream.access", "uvicorn", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
