"""Importing a creditor's open items from a CSV export into inbound facts."""

from services.ledger.imports.csv_reader import (
    PROGRESS_EVERY,
    ImportBatch,
    LineProblem,
    Progress,
    read_open_items,
)
from services.ledger.imports.sniffing import Dialect

__all__ = [
    "PROGRESS_EVERY",
    "Dialect",
    "ImportBatch",
    "LineProblem",
    "Progress",
    "read_open_items",
]
