"""Reading an open-items CSV export: good files give the facts in file order with
stable ids; a bad file is refused whole, with every bad line named."""

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from services.ledger.imports import (
    PROGRESS_EVERY,
    ImportBatch,
    LineProblem,
    read_open_items,
)

CORPUS = Path(__file__).resolve().parents[2] / "data" / "csv"
IMPORTED_AT = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
GOOD_FILES = [
    "good-utf8-comma.csv",
    "good-utf8-bom-semicolon-decimal-comma.csv",
    "good-cp1252-semicolon.csv",
    "good-tab.tsv",
]

MUELLER = {
    "name": "Müller & Söhne GmbH",
    "email": "ap@mueller.example",
    "email_opt_out": False,
    "language": "de",
    "timezone": "Europe/Berlin",
    "country": "DE",
    "address": {
        "lines": ["Müller & Söhne GmbH", "Hauptstraße 1"],
        "postcode": "10115",
        "city": "Berlin",
        "country": "DE",
    },
    "reference": "K-1001",
}
EXPECTED: list[tuple[int, str, str, dict[str, Any]]] = [
    (2, "debtor.upserted", "d-1001", MUELLER),
    (
        3,
        "debtor.upserted",
        "d-1002",
        {
            "name": "Beta Ltd",
            "email": None,
            "email_opt_out": True,
            "language": "en",
            "timezone": "Europe/London",
            "country": "GB",
            "address": {
                "lines": ["Beta Ltd", "1 High Street"],
                "postcode": "SW1A 1AA",
                "city": "London",
                "country": "GB",
            },
            "reference": "K-1002",
        },
    ),
    (
        4,
        "invoice.issued",
        "d-1001",
        {
            "number": "RE-2026-001",
            "issued_on": "2026-01-05",
            "due_on": "2026-01-19",
            "currency": "EUR",
            "amount": "1234.56",
        },
    ),
    (
        5,
        "invoice.issued",
        "d-1002",
        {
            "number": "RE-2026-002",
            "issued_on": "2026-01-10",
            "due_on": "2026-02-09",
            "currency": "GBP",
            "amount": "980.00",
        },
    ),
    (
        6,
        "payment.received",
        "d-1001",
        {
            "payment_id": "PAY-1",
            "currency": "EUR",
            "amount": "200.00",
            "received_on": "2026-01-20",
            "invoice": "RE-2026-001",
            "reference": "Überweisung RE-2026-001",
        },
    ),
    (
        7,
        "payment.received",
        "d-1002",
        {
            "payment_id": "PAY-2",
            "currency": "GBP",
            "amount": "980.00",
            "received_on": "2026-02-01",
            "invoice": None,
            "reference": None,
        },
    ),
]


def _read(data: bytes, creditor: str = "acme", **options: Any) -> ImportBatch:
    return read_open_items(data, creditor=creditor, imported_at=IMPORTED_AT, **options)


def _read_file(name: str) -> ImportBatch:
    return _read((CORPUS / name).read_bytes())


def _problems(batch: ImportBatch) -> list[tuple[int, str | None]]:
    return [(problem.line, problem.column) for problem in batch.problems]


def _assert_refused(
    batch: ImportBatch, expected: list[tuple[int, str | None, str]]
) -> None:
    assert _problems(batch) == [(line, column) for line, column, _ in expected]
    for problem, (_, _, fragment) in zip(batch.problems, expected, strict=True):
        assert fragment in problem.message, str(problem)
    assert not batch.ok
    assert batch.envelopes == []
    assert batch.lines == []


@pytest.mark.parametrize("name", GOOD_FILES)
def test_a_good_file_gives_every_fact_in_file_order(name: str) -> None:
    batch = _read_file(name)

    assert batch.problems == []
    assert batch.lines == [line for line, *_ in EXPECTED]
    assert [(e.type, e.debtor, e.data) for e in batch.envelopes] == [
        (kind, debtor, data) for _, kind, debtor, data in EXPECTED
    ]


@pytest.mark.parametrize("name", GOOD_FILES)
def test_every_envelope_is_addressed_to_the_creditor_at_the_import_moment(
    name: str,
) -> None:
    batch = _read_file(name)

    assert {e.creditor for e in batch.envelopes} == {"acme"}
    assert {e.occurred_at for e in batch.envelopes} == {IMPORTED_AT}


def test_reading_the_same_file_twice_gives_the_same_ids() -> None:
    data = (CORPUS / "good-utf8-comma.csv").read_bytes()

    first = _read(data)
    again = read_open_items(
        data, creditor="acme", imported_at=datetime(2027, 1, 1, tzinfo=UTC)
    )

    assert [e.id for e in first.envelopes] == [e.id for e in again.envelopes]
    assert len({e.id for e in first.envelopes}) == len(first.envelopes)


def test_another_creditor_or_another_file_gives_other_ids() -> None:
    data = (CORPUS / "good-utf8-comma.csv").read_bytes()
    ids = {e.id for e in _read(data).envelopes}

    other_creditor = {e.id for e in _read(data, creditor="beta").envelopes}
    other_file = {e.id for e in _read(data + b"\n").envelopes}

    assert ids.isdisjoint(other_creditor)
    assert ids.isdisjoint(other_file)


def test_the_same_facts_in_three_encodings_give_identical_payloads() -> None:
    names = GOOD_FILES[:3]

    batches = [_read_file(name) for name in names]

    payloads = [[(e.type, e.debtor, e.data) for e in b.envelopes] for b in batches]
    assert payloads[0] == payloads[1] == payloads[2]
    assert [b.dialect.encoding for b in batches if b.dialect] == [
        "utf-8",
        "utf-8-sig",
        "cp1252",
    ]
    assert [b.dialect.delimiter for b in batches if b.dialect] == [",", ";", ";"]


def test_bad_amounts_are_each_reported_and_the_file_refused() -> None:
    batch = _read_file("bad-amounts.csv")

    _assert_refused(
        batch,
        [
            (2, "amount", '"12,3,4" is not an amount'),
            (3, "amount", '"1,234" is ambiguous'),
            (4, "amount", '"12.345" has more decimals than EUR allows'),
            (5, "amount", '"abc" is not an amount'),
            (6, "amount", '"-5.00" is negative'),
            (8, "currency", "'XYZ' is not an ISO 4217 currency code"),
            (9, "amount", '"1 234.00" is not an amount'),
        ],
    )


def test_bad_dates_are_each_reported_and_the_file_refused() -> None:
    batch = _read_file("bad-dates.csv")

    _assert_refused(
        batch,
        [
            (2, "due_date", "2026-01-01 is before the issue date 2026-01-05"),
            (3, "issue_date", '"01/05/2026" is ambiguous'),
            (4, "due_date", '"2026-02-30" is not a day of the calendar'),
            (5, "issue_date", '"5 Jan 2026" is not a date'),
            (7, "issue_date", "is empty; an invoice row needs it"),
        ],
    )


def test_a_column_the_rows_need_is_reported_once_on_the_header() -> None:
    batch = _read_file("bad-missing-columns.csv")

    _assert_refused(
        batch, [(1, "due_date", "column is missing; an invoice row needs it")]
    )


def test_an_unknown_record_type_is_reported_on_its_line() -> None:
    batch = _read_file("bad-unknown-record.csv")

    _assert_refused(
        batch,
        [
            (3, "record", '"credit_note" is not a record type'),
            (4, "record", "is empty; use debtor, invoice or payment"),
        ],
    )


def test_several_bad_lines_in_one_file_are_all_reported() -> None:
    batch = _read_file("bad-mixed.csv")

    _assert_refused(
        batch,
        [
            (3, "email", '"ap(at)gamma" is not an email address'),
            (3, "email_opt_out", '"vielleicht" is neither yes nor no'),
            (4, "address_line_1", "is needed when an address is given"),
            (4, "address_country", "is needed when an address is given"),
            (5, "due_date", "is empty; an invoice row needs it"),
            (7, "invoice_number", "INV-2 is already on line 6"),
            (8, "amount", '"0,00" is not more than zero'),
            (9, "due_date", "is not read on payment rows"),
            (10, None, "has 15 fields but the header has 17"),
            (12, "debtor_id", "is empty"),
        ],
    )


def test_a_problem_reads_as_its_line_column_and_reason() -> None:
    problem = LineProblem(7, "due_date", "is empty")

    assert str(problem) == "line 7, due_date: is empty"
    assert str(LineProblem(1, None, "the file is empty")) == (
        "line 1: the file is empty"
    )


def test_headers_are_read_whatever_their_case_and_german_aliases_work() -> None:
    data = (
        "SATZART;Debitor;Rechnungsnummer;Rechnungsdatum;Fälligkeitsdatum;"
        "Währung;Betrag\nRechnung;d-1;R-1;05.01.2026;19.01.2026;EUR;1.200,00\n"
    ).encode("cp1252")

    batch = _read(data)

    assert batch.problems == []
    assert batch.envelopes[0].data["amount"] == "1200.00"


def test_an_unknown_column_is_refused_by_the_name_the_file_gives_it() -> None:
    data = b"record,debtor_id,name,Bemerkung\ndebtor,d-1,Beta GmbH,hello\n"

    batch = _read(data)

    _assert_refused(batch, [(1, "Bemerkung", "is not a known column")])


def test_a_header_without_record_or_debtor_is_refused_before_any_row() -> None:
    data = b"name,email\nBeta GmbH,ap@beta.example\n"

    batch = _read(data)

    _assert_refused(
        batch,
        [
            (1, "record", "column is missing; every row needs it"),
            (1, "debtor_id", "column is missing; every row needs it"),
        ],
    )


@pytest.mark.parametrize(
    "data",
    [b"", b"\xef\xbb\xbf\r\n", b"just one word\n"],
    ids=["empty", "bom-only", "no-delimiter"],
)
def test_a_file_that_is_not_a_table_is_refused_on_line_1(data: bytes) -> None:
    batch = _read(data)

    assert [problem.line for problem in batch.problems] == [1]
    assert batch.envelopes == []


@pytest.mark.parametrize(
    ("amount", "delimiter", "expected"),
    [
        ("1234", ",", "1234.00"),
        ("1234.5", ",", "1234.50"),
        ("1,234.56", ",", "1234.56"),
        ("1.234,56", ",", "1234.56"),
        ("1.234.567,89", ";", "1234567.89"),
        ("1234,56", ";", "1234.56"),
        ("1234.56", ";", "1234.56"),
        ("1234,56", "\t", "1234.56"),
    ],
)
def test_amounts_are_read_in_each_documented_form(
    amount: str, delimiter: str, expected: str
) -> None:
    header = delimiter.join(["record", "debtor_id", "invoice_number", "issue_date"])
    header += delimiter + delimiter.join(["due_date", "currency", "amount"])
    cell = f'"{amount}"' if delimiter in amount else amount
    row = delimiter.join(["invoice", "d-1", "R-1", "2026-01-05", "2026-01-19"])
    data = f"{header}\n{row}{delimiter}EUR{delimiter}{cell}\n".encode()

    batch = _read(data)

    assert batch.problems == []
    assert batch.envelopes[0].data["amount"] == expected


@pytest.mark.parametrize(
    ("amount", "delimiter"),
    [("1,234", ","), ("1234,56", ","), ("1.234", ";"), ("1.2.3", ";")],
)
def test_amounts_that_could_mean_two_things_are_refused(
    amount: str, delimiter: str
) -> None:
    header = delimiter.join(["record", "debtor_id", "invoice_number", "issue_date"])
    header += delimiter + delimiter.join(["due_date", "currency", "amount"])
    cell = f'"{amount}"' if delimiter in amount else amount
    row = delimiter.join(["invoice", "d-1", "R-1", "2026-01-05", "2026-01-19"])
    data = f"{header}\n{row}{delimiter}EUR{delimiter}{cell}\n".encode()

    batch = _read(data)

    assert _problems(batch) == [(2, "amount")]


def test_progress_is_reported_every_so_many_rows_and_at_the_end() -> None:
    rows = PROGRESS_EVERY * 2 + 5
    lines = ["record,debtor_id,name"]
    lines += [f"debtor,d-{n},Debtor {n}" for n in range(rows)]
    calls: list[tuple[int, int]] = []

    batch = _read("\n".join(lines).encode(), progress=lambda d, t: calls.append((d, t)))

    assert batch.ok
    assert calls == [
        (PROGRESS_EVERY, rows),
        (PROGRESS_EVERY * 2, rows),
        (rows, rows),
    ]


def test_a_naive_import_moment_is_refused() -> None:
    with pytest.raises(ValueError, match="no timezone"):
        read_open_items(b"", creditor="acme", imported_at=datetime(2026, 3, 1))


def test_a_utf16_file_with_its_byte_order_mark_is_read() -> None:
    text = (CORPUS / "good-tab.tsv").read_text(encoding="utf-8")

    batch = _read(text.encode("utf-16"))

    assert batch.dialect is not None
    assert batch.dialect.encoding == "utf-16"
    assert [e.data for e in batch.envelopes] == [data for *_, data in EXPECTED]


def test_bytes_that_are_neither_utf8_nor_cp1252_are_still_read() -> None:
    data = b"record,debtor_id,name\ndebtor,d-1,Beta \x81 GmbH\n"

    batch = _read(data)

    assert batch.dialect is not None
    assert batch.dialect.encoding == "latin-1"
    assert batch.envelopes[0].data["name"] == "Beta \x81 GmbH"


@pytest.mark.parametrize("index", [0, 1], ids=["english", "german"])
def test_the_example_files_in_the_documentation_are_read_as_shown(
    index: int,
) -> None:
    docs = Path(__file__).resolve().parents[3] / "docs" / "csv-import.md"
    examples = docs.read_text(encoding="utf-8").split("```csv\n")[1:]
    data = examples[index].split("```")[0].encode()

    batch = _read(data)

    assert batch.problems == []
    assert [e.type for e in batch.envelopes] == [
        "debtor.upserted",
        "invoice.issued",
        "payment.received",
    ]
    assert batch.envelopes[1].data["amount"] == "1234.56"


def test_a_row_the_csv_module_cannot_split_is_reported_and_reading_stops() -> None:
    huge = "x" * 200_000
    data = f"record,debtor_id,name\ndebtor,d-1,Beta\ndebtor,d-2,{huge}\n".encode()

    batch = _read(data)

    _assert_refused(batch, [(3, None, "cannot be read as CSV")])
