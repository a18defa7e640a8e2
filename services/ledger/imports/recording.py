"""An open-items file recorded whole or not at all: read, check, record in one batch."""

from dataclasses import dataclass, field
from datetime import datetime

from services.ledger.domain.errors import LedgerError
from services.ledger.imports.csv_reader import LineProblem, Progress, read_open_items
from services.ledger.service import Ledger

LEDGER_FIELD_COLUMNS = {
    "number": "invoice_number",
    "invoice": "invoice_number",
    "debtor": "debtor_id",
    "issued_on": "issue_date",
    "due_on": "due_date",
    "received_on": "received_date",
}
"""The file's column for a field the ledger names when it refuses a fact."""


@dataclass(frozen=True)
class ImportReport:
    """What an import did: how many facts it recorded, or why it recorded none."""

    recorded: int = 0
    duplicates: int = 0
    problems: list[LineProblem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def import_open_items(
    ledger: Ledger,
    creditor_id: str,
    data: bytes,
    *,
    imported_at: datetime | None = None,
    progress: Progress | None = None,
) -> ImportReport:
    """Record every fact of the file, or none; each problem names its line."""
    batch = read_open_items(
        data, creditor=creditor_id, imported_at=imported_at, progress=progress
    )
    if not batch.ok:
        return ImportReport(problems=batch.problems)

    try:
        results = ledger.record_many(creditor_id, batch.envelopes)
    except LedgerError as error:
        line = batch.lines[error.index] if error.index is not None else 1
        column = LEDGER_FIELD_COLUMNS.get(error.field or "", error.field)
        return ImportReport(problems=[LineProblem(line, column, error.message)])

    duplicates = sum(1 for result in results if result.duplicate)
    return ImportReport(recorded=len(results) - duplicates, duplicates=duplicates)
