"""Reading an open-items CSV export into the inbound facts the ledger records.

Pure: bytes in, envelopes and problems out, nothing stored. Every bad line is
reported; a batch with any problem must be recorded not at all (SPEC §6).
"""

import csv
import hashlib
import io
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import cache
from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from services.ledger.imports.columns import (
    BY_NAME,
    BY_SPELLING,
    COLUMNS,
    MAX_ADDRESS_LINES,
    RECORD_ALIASES,
    Record,
    normalise_header,
)
from services.ledger.imports.sniffing import Dialect, SniffError, decode, delimiter_of
from services.ledger.imports.values import (
    CellError,
    parse_amount,
    parse_date,
    parse_flag,
    quoted,
)
from shared.clock import ensure_aware
from shared.events.envelope import Envelope
from shared.events.fields import ONE_LINE_PATTERN
from shared.events.ids import stable_id
from shared.events.inbound import (
    InboundDebtorUpserted,
    InboundInvoiceIssued,
    InboundPaymentReceived,
)
from shared.events.payload import Payload
from shared.money import MoneyError, check_currency, check_precision

PROGRESS_EVERY = 1000
"""Rows between two calls of the progress callback."""

Progress = Callable[[int, int], None]
"""Called with (rows done, rows in the file)."""

_CREDITOR = re.compile(r"^[^/\s]+$")
_ONE_LINE = re.compile(ONE_LINE_PATTERN)
_MAX_DEBTOR_ID = 200

_MODELS: dict[Record, type[Payload]] = {
    Record.DEBTOR: InboundDebtorUpserted,
    Record.INVOICE: InboundInvoiceIssued,
    Record.PAYMENT: InboundPaymentReceived,
}

# Payload field -> column, per record; the address is mapped in `_column_at`.
_FIELD_COLUMNS: dict[Record, dict[str, str]] = {
    Record.DEBTOR: {
        "name": "name",
        "email": "email",
        "email_opt_out": "email_opt_out",
        "language": "language",
        "timezone": "timezone",
        "country": "country",
        "reference": "debtor_reference",
    },
    Record.INVOICE: {
        "number": "invoice_number",
        "issued_on": "issue_date",
        "due_on": "due_date",
        "currency": "currency",
        "amount": "amount",
    },
    Record.PAYMENT: {
        "payment_id": "payment_id",
        "currency": "currency",
        "amount": "amount",
        "received_on": "received_date",
        "invoice": "invoice_number",
        "reference": "payment_reference",
    },
}

_REQUIRED: dict[Record, tuple[str, ...]] = {
    record: tuple(c.name for c in COLUMNS if record in c.required_by)
    for record in Record
}

_ADDRESS_COLUMNS = {
    "postcode": "postcode",
    "city": "city",
    "country": "address_country",
}

_PATTERN_HINTS = {
    "email": "is not an email address",
    "country": "is not a two-letter country code like DE",
    "address_country": "is not a two-letter country code like DE",
    "language": "is not a language code like de or de-AT",
}


@dataclass(frozen=True, slots=True)
class LineProblem:
    """Why one line (1 is the header) cannot be imported, and in which column."""

    line: int
    column: str | None
    message: str

    def __str__(self) -> str:
        if self.column is None:
            return f"line {self.line}: {self.message}"
        return f"line {self.line}, {self.column}: {self.message}"


@dataclass(frozen=True, slots=True)
class ImportBatch:
    """The facts read from one file, in file order, or the reasons it is refused.

    `lines[i]` is the line `envelopes[i]` was read from. When `problems` is
    not empty, nothing of the file may be recorded.
    """

    envelopes: list[Envelope] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)
    problems: list[LineProblem] = field(default_factory=list)
    dialect: Dialect | None = None
    rows: int = 0

    @property
    def ok(self) -> bool:
        """Whether the whole file may be recorded."""
        return not self.problems


def read_open_items(
    data: bytes,
    *,
    creditor: str,
    imported_at: datetime | None = None,
    progress: Progress | None = None,
) -> ImportBatch:
    """Read an open-items file; see docs/csv-import.md for its columns and rules.

    Each envelope's id is derived from the creditor, the file's SHA-256 and
    the line, so importing the same file again yields the same ids and the
    ledger recognises the facts as duplicates.
    """
    if not _CREDITOR.match(creditor):
        raise ValueError(f"{creditor!r} is not a creditor id")
    moment = ensure_aware(imported_at or datetime.now(UTC))

    text, encoding = decode(data)
    if not text.strip():
        return ImportBatch(problems=[LineProblem(1, None, "the file is empty")])
    try:
        delimiter = delimiter_of(text.splitlines()[0])
    except SniffError as error:
        return ImportBatch(problems=[LineProblem(1, None, str(error))])
    dialect = Dialect(encoding=encoding, delimiter=delimiter)

    rows, unreadable = _rows(text, delimiter)
    tail = [] if unreadable is None else [unreadable]
    header = _Header.read(rows[0][1] if rows else [])
    if header.fatal:
        return ImportBatch(problems=header.problems + tail, dialect=dialect)
    reader = _Reader(
        header=header,
        dialect=dialect,
        creditor=creditor,
        moment=moment,
        digest=hashlib.sha256(data).hexdigest(),
    )

    body = rows[1:]
    total = len(body)
    for done, (line, cells) in enumerate(body, start=1):
        reader.read_row(line, cells)
        if progress is not None and (done % PROGRESS_EVERY == 0 or done == total):
            progress(done, total)
    if progress is not None and total == 0:
        progress(0, 0)

    problems = header.problems + reader.missing_columns() + reader.problems + tail
    return ImportBatch(
        envelopes=[] if problems else reader.envelopes,
        lines=[] if problems else reader.lines,
        problems=problems,
        dialect=dialect,
        rows=total,
    )


def _rows(
    text: str, delimiter: str
) -> tuple[list[tuple[int, list[str]]], LineProblem | None]:
    """The rows by the line each starts on, as an editor numbers them.

    Reading stops at a row the csv module cannot split (a cell over its size
    limit); the rows after it cannot be trusted to start where they seem to.
    """
    rows: list[tuple[int, list[str]]] = []
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    while True:
        start = reader.line_num + 1
        try:
            rows.append((start, next(reader)))
        except StopIteration:
            return rows, None
        except csv.Error as error:
            return rows, LineProblem(start, None, f"cannot be read as CSV: {error}")


@dataclass
class _Header:
    """Where each documented column sits, as the file spells it."""

    positions: dict[str, int]
    spelled: dict[str, str]
    width: int
    problems: list[LineProblem]
    fatal: bool

    @classmethod
    def read(cls, cells: list[str]) -> "_Header":
        positions: dict[str, int] = {}
        spelled: dict[str, str] = {}
        problems: list[LineProblem] = []
        for position, raw in enumerate(cells):
            column = BY_SPELLING.get(normalise_header(raw))
            if column is None:
                problems.append(
                    LineProblem(
                        1, raw.strip() or None, _unknown_column(raw, position + 1)
                    )
                )
            elif column.name in positions:
                problems.append(
                    LineProblem(
                        1,
                        raw.strip(),
                        f"is the same column as {quoted(spelled[column.name])}",
                    )
                )
            else:
                positions[column.name] = position
                spelled[column.name] = raw.strip()
        fatal = False
        for name in ("record", "debtor_id"):
            if name not in positions:
                problems.append(
                    LineProblem(1, name, "column is missing; every row needs it")
                )
                fatal = True
        return cls(positions, spelled, len(cells), problems, fatal)

    def order(self, problem: LineProblem) -> int:
        """Where the problem's column sits, so a line's problems read left to right."""
        for name, spelled in self.spelled.items():
            if spelled == problem.column:
                return self.positions[name]
        return -1

    def shown(self, name: str) -> str:
        return self.spelled.get(name, name)


def _unknown_column(raw: str, number: int) -> str:
    if not raw.strip():
        return f"column {number} has no name"
    return "is not a known column (see docs/csv-import.md)"


@dataclass
class _Reader:
    """Turns rows into envelopes, collecting every problem on the way."""

    header: _Header
    dialect: Dialect
    creditor: str
    moment: datetime
    digest: str
    envelopes: list[Envelope] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)
    problems: list[LineProblem] = field(default_factory=list)
    _missing: dict[str, Record] = field(default_factory=dict)
    _seen: dict[tuple[Record, str], int] = field(default_factory=dict)

    def missing_columns(self) -> list[LineProblem]:
        """One problem per needed column the header lacks, not one per row."""
        return [
            LineProblem(1, name, f"column is missing; {_a(record)} row needs it")
            for name, record in self._missing.items()
        ]

    def read_row(self, line: int, cells: list[str]) -> None:
        if not any(cell.strip() for cell in cells):
            return
        if len(cells) != self.header.width:
            self.problems.append(
                LineProblem(
                    line,
                    None,
                    f"has {len(cells)} fields but the header has {self.header.width}",
                )
            )
            return

        row = _Row(line, self.header, cells)
        record = row.record()
        debtor = row.debtor_id()
        if record is None:
            self.problems.extend(sorted(row.problems, key=self.header.order))
            return
        for name in _REQUIRED[record]:
            if name not in self.header.positions:
                self._missing.setdefault(name, record)
        for name, value in row.values.items():
            if value and record not in BY_NAME[name].records:
                row.problem(name, f"is not read on {record} rows; leave it empty")

        payload = row.payload(record, self.dialect)
        self._check_repeats(row, record)
        if row.problems or payload is None or debtor is None:
            self.problems.extend(sorted(row.problems, key=self.header.order))
            return

        self.envelopes.append(
            Envelope.wrap(
                payload,
                creditor=self.creditor,
                debtor=debtor,
                occurred_at=self.moment,
                id=stable_id("csv-import", self.creditor, self.digest, str(line)),
            )
        )
        self.lines.append(line)

    def _check_repeats(self, row: "_Row", record: Record) -> None:
        name = {
            Record.DEBTOR: "debtor_id",
            Record.INVOICE: "invoice_number",
            Record.PAYMENT: "payment_id",
        }[record]
        value = row.value(name)
        if not value:
            return
        first = self._seen.setdefault((record, value), row.line)
        if first != row.line:
            row.problem(name, f"{value} is already on line {first}")


def _a(record: Record) -> str:
    return f"an {record}" if record == Record.INVOICE else f"a {record}"


class _Row:
    """One data row: its cells by column name and the problems found in it."""

    def __init__(self, line: int, header: _Header, cells: list[str]) -> None:
        self.line = line
        self.header = header
        self.values = {
            name: cells[position].strip() for name, position in header.positions.items()
        }
        self.problems: list[LineProblem] = []
        self._reported: set[str] = set()

    def value(self, name: str) -> str:
        return self.values.get(name, "")

    def problem(self, name: str | None, message: str) -> None:
        if name is not None:
            if name in self._reported:
                return
            self._reported.add(name)
        shown = None if name is None else self.header.shown(name)
        self.problems.append(LineProblem(self.line, shown, message))

    def record(self) -> Record | None:
        text = self.value("record")
        record = RECORD_ALIASES.get(text.casefold())
        if record is None:
            what = "is empty" if not text else f"{quoted(text)} is not a record type"
            self.problem("record", f"{what}; use debtor, invoice or payment")
        return record

    def debtor_id(self) -> str | None:
        text = self.value("debtor_id")
        if not text:
            self.problem("debtor_id", "is empty; every row names its debtor")
        elif len(text) > _MAX_DEBTOR_ID or not _ONE_LINE.match(text):
            self.problem("debtor_id", "is not a debtor id")
        else:
            return text
        return None

    def payload(self, record: Record, dialect: Dialect) -> Payload | None:
        for name in _REQUIRED[record]:
            if not self.value(name):
                if name in self.header.positions:
                    self.problem(name, f"is empty; {_a(record)} row needs it")
                else:
                    self._reported.add(name)

        if record == Record.DEBTOR:
            fields = self._debtor_fields()
        elif record == Record.INVOICE:
            fields = self._invoice_fields(dialect)
        else:
            fields = self._payment_fields(dialect)

        try:
            return _MODELS[record].model_validate(fields)
        except ValidationError as error:
            for item in error.errors():
                self._report(record, item)
            return None

    def _text(self, fields: dict[str, Any], key: str, name: str) -> None:
        if value := self.value(name):
            fields[key] = value

    def _debtor_fields(self) -> dict[str, Any]:
        fields: dict[str, Any] = {}
        for key, name in _FIELD_COLUMNS[Record.DEBTOR].items():
            if key != "email_opt_out":
                self._text(fields, key, name)
        if "country" in fields:
            fields["country"] = fields["country"].upper()
        try:
            fields["email_opt_out"] = parse_flag(self.value("email_opt_out"))
        except CellError as error:
            self.problem("email_opt_out", str(error))

        lines = [
            line
            for n in range(1, MAX_ADDRESS_LINES + 1)
            if (line := self.value(f"address_line_{n}"))
        ]
        address: dict[str, Any] = {"lines": lines}
        for key, name in _ADDRESS_COLUMNS.items():
            self._text(address, key, name)
        if len(address) > 1 or lines:
            if "country" in address:
                address["country"] = address["country"].upper()
            fields["address"] = address
        return fields

    def _invoice_fields(self, dialect: Dialect) -> dict[str, Any]:
        fields: dict[str, Any] = {}
        self._text(fields, "number", "invoice_number")
        issued = self._date(fields, "issued_on", "issue_date")
        due = self._date(fields, "due_on", "due_date")
        if issued is not None and due is not None and due < issued:
            self.problem(
                "due_date",
                f"{due.isoformat()} is before the issue date {issued.isoformat()}",
            )
        self._money(fields, dialect)
        return fields

    def _payment_fields(self, dialect: Dialect) -> dict[str, Any]:
        fields: dict[str, Any] = {}
        self._text(fields, "payment_id", "payment_id")
        self._text(fields, "invoice", "invoice_number")
        self._text(fields, "reference", "payment_reference")
        self._date(fields, "received_on", "received_date")
        amount = self._money(fields, dialect)
        if amount is not None and amount <= 0:
            self.problem(
                "amount", f"{quoted(self.value('amount'))} is not more than zero"
            )
        return fields

    def _date(self, fields: dict[str, Any], key: str, name: str) -> date | None:
        text = self.value(name)
        if not text:
            return None
        try:
            fields[key] = day = parse_date(text)
        except CellError as error:
            self.problem(name, str(error))
            return None
        return day

    def _money(self, fields: dict[str, Any], dialect: Dialect) -> Decimal | None:
        currency = self.value("currency").upper()
        if currency:
            fields["currency"] = currency
        text = self.value("amount")
        if not text:
            return None
        try:
            amount = parse_amount(text, decimal_comma=dialect.decimal_comma)
        except CellError as error:
            self.problem("amount", str(error))
            return None
        fields["amount"] = amount
        if amount < 0:
            self.problem(
                "amount", f"{quoted(text)} is negative; amounts are zero or more"
            )
        elif _is_currency(currency):
            try:
                check_precision(amount, currency)
            except MoneyError:
                self.problem(
                    "amount", f"{quoted(text)} has more decimals than {currency} allows"
                )
        return amount

    def _report(self, record: Record, item: ErrorDetails) -> None:
        location = item["loc"]
        if not location and self.problems:
            return  # a rule across fields, already told more precisely
        name = _column_at(record, location)
        self.problem(name, _message(name, item))


@cache
def _is_currency(code: str) -> bool:
    try:
        check_currency(code)
    except MoneyError:
        return False
    return True


def _column_at(record: Record, location: tuple[int | str, ...]) -> str | None:
    if not location:
        return None
    top = str(location[0])
    if record == Record.DEBTOR and top == "address":
        part = str(location[1]) if len(location) > 1 else "lines"
        if part == "lines":
            index = location[2] if len(location) > 2 else 0
            return f"address_line_{int(index) + 1}"
        return _ADDRESS_COLUMNS.get(part)
    return _FIELD_COLUMNS[record].get(top)


def _message(name: str | None, item: ErrorDetails) -> str:
    kind = item["type"]
    address = len(item["loc"]) > 1 and item["loc"][0] == "address"
    if kind == "missing":
        return "is needed when an address is given" if address else "is empty"
    if kind == "too_short" and address:
        return "is needed when an address is given"
    if kind == "value_error":
        return str(item["msg"]).removeprefix("Value error, ")
    if kind == "string_pattern_mismatch":
        hint = _PATTERN_HINTS.get(name or "", "contains a line break or a tab")
        return f"{quoted(str(item['input']))} {hint}"
    if kind == "string_too_long":
        limit = (item.get("ctx") or {}).get("max_length")
        return f"is longer than {limit} characters"
    message = str(item["msg"])
    return message[:1].lower() + message[1:]
