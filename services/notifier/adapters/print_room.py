"""Letter PDFs on disk, and each day's print batch: one PDF and its manifest.

Layout under the letters directory, one folder per creditor and day:

    <creditor>/<YYYY-MM-DD>/letters/<contact id>.pdf
    <creditor>/<YYYY-MM-DD>/batch-<creditor>-<YYYY-MM-DD>.pdf
    <creditor>/<YYYY-MM-DD>/manifest-<creditor>-<YYYY-MM-DD>.csv

Every file is written under a temporary name and renamed, so a print room
reading the folder never sees half a file.
"""

import csv
import io
import os
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from pypdf import PdfWriter

UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")

MANIFEST_COLUMNS = ("contact_id", "debtor", "template", "pages", "first_page")


@dataclass(frozen=True, slots=True)
class BatchEntry:
    """One letter of a batch, in print order."""

    contact_id: str
    debtor_id: str
    template: str
    pages: int
    path: str


@dataclass(frozen=True, slots=True)
class BoundBatch:
    """A day's batch as written: where its PDF and manifest are, and its size."""

    path: str
    manifest: str
    letters: int
    pages: int


def batch_name(creditor_id: str, day: date) -> str:
    """How a letter's `contact.sent` names its batch: `<creditor>/<day>`."""
    return f"{creditor_id}/{day.isoformat()}"


def safe(part: str) -> str:
    """A creditor, debtor or contact id made safe as one path segment."""
    cleaned = UNSAFE.sub("_", part).strip("._")
    return cleaned[:120] or "_"


class PrintRoom:
    """Where letters wait for their batch, and where batches are bound."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def letter_path(self, creditor_id: str, day: date, contact_id: str) -> str:
        """The letter's path relative to the root; the same contact, the same path."""
        folder = self._day_folder(creditor_id, day)
        return f"{folder}/letters/{safe(contact_id)}.pdf"

    def store(self, relative: str, data: bytes) -> Path:
        """Write a file atomically; a second write of one letter replaces the first."""
        target = self.root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
        with open(temporary, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, target)
        return target

    def bind(
        self, creditor_id: str, day: date, letters: Sequence[BatchEntry]
    ) -> BoundBatch:
        """Bind the day's letters, in order, into one PDF, and write its manifest."""
        folder = self._day_folder(creditor_id, day)
        stem = f"{safe(creditor_id)}-{day.isoformat()}"
        writer = PdfWriter()
        rows = []
        first_page = 1
        for letter in letters:
            writer.append(str(self.root / letter.path))
            entry = (letter.contact_id, letter.debtor_id, letter.template)
            rows.append((*entry, letter.pages, first_page))
            first_page += letter.pages
        pdf = io.BytesIO()
        writer.write(pdf)

        manifest = io.StringIO()
        table = csv.writer(manifest, lineterminator="\n")
        table.writerow(MANIFEST_COLUMNS)
        table.writerows(rows)

        batch_path = f"{folder}/batch-{stem}.pdf"
        manifest_path = f"{folder}/manifest-{stem}.csv"
        self.store(batch_path, pdf.getvalue())
        self.store(manifest_path, manifest.getvalue().encode())
        return BoundBatch(batch_path, manifest_path, len(letters), first_page - 1)

    def _day_folder(self, creditor_id: str, day: date) -> str:
        return f"{safe(creditor_id)}/{day.isoformat()}"
