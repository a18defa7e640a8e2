"""The notifier's tables, in a registry of their own.

What it keeps: creditors' profiles and debtors' details to render with, each
invoice's balance to skip a contact already paid, every contact received (the
work list, retried until done), the sent-log of each contact's channels, the
letters waiting in their day's print batch, and the outbox of its outcomes.
"""

from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from shared.db.inbox import INBOX_TABLE, InboxRecord
from shared.outbox import OUTBOX_TABLE, OutboxRecord, unpublished_index

MOMENT = sa.DateTime(timezone=True)
MONEY = sa.Numeric(20, 4)


class NotifierTable(SQLModel, registry=registry()):
    """Base of every table in the notifier's database."""


class ProcessedMessage(InboxRecord, NotifierTable, table=True):
    """A message the notifier has applied; its id is never applied twice."""

    __tablename__ = INBOX_TABLE


class OutboxMessage(OutboxRecord, NotifierTable, table=True):
    """An outcome of a contact, waiting for the relay to publish it."""

    __tablename__ = OUTBOX_TABLE
    __table_args__ = (unpublished_index(),)


class CreditorRow(NotifierTable, table=True):
    """A creditor's profile as `creditor.updated` last described it."""

    __tablename__ = "creditors"

    id: str = Field(primary_key=True, max_length=100)
    profile: dict[str, Any] = Field(sa_type=sa.JSON)
    """The payload's JSON without policy and key hashes: what a letter shows."""
    updated_at: datetime = Field(sa_type=MOMENT)


class DebtorRow(NotifierTable, table=True):
    """A debtor's details as the ledger last reported them."""

    __tablename__ = "debtors"

    creditor_id: str = Field(primary_key=True, max_length=100)
    debtor_id: str = Field(primary_key=True, max_length=200)
    details: dict[str, Any] = Field(sa_type=sa.JSON)
    updated_at: datetime = Field(sa_type=MOMENT)


class InvoiceRow(NotifierTable, table=True):
    """One invoice's balance, as the ledger's events left it."""

    __tablename__ = "invoices"

    creditor_id: str = Field(primary_key=True, max_length=100)
    debtor_id: str = Field(primary_key=True, max_length=200)
    number: str = Field(primary_key=True, max_length=200)
    currency: str = Field(max_length=3)
    issued_on: date
    due_on: date
    amount: Decimal = Field(sa_type=MONEY)
    balance: Decimal = Field(sa_type=MONEY)
    written_off: bool = False
    updated_at: datetime = Field(sa_type=MOMENT)


class ContactRow(NotifierTable, table=True):
    """A `contact.due` received: the work list, tried until it is done.

    `next_attempt_at` is when it is tried (again); `claimed_until` is the
    lease of the process trying it, so two processes never try one contact
    at once.
    """

    __tablename__ = "contacts"
    __table_args__ = (
        sa.Index("ix_contacts_next_attempt", "next_attempt_at"),
        # Contacts still open, by debtor: the ones a debtor's details may wake.
        sa.Index(
            "ix_contacts_open",
            "creditor_id",
            "debtor_id",
            postgresql_where=sa.text("done_at IS NULL"),
            sqlite_where=sa.text("done_at IS NULL"),
        ),
    )

    contact_id: str = Field(primary_key=True, max_length=200)
    creditor_id: str = Field(max_length=100)
    debtor_id: str = Field(max_length=200)
    envelope: bytes = Field(sa_type=sa.LargeBinary)
    received_at: datetime = Field(sa_type=MOMENT)
    done_at: datetime | None = Field(default=None, sa_type=MOMENT)
    next_attempt_at: datetime | None = Field(default=None, sa_type=MOMENT)
    """None once done; else when the next try is due."""
    claimed_until: datetime | None = Field(default=None, sa_type=MOMENT)
    attempts: int = 0
    last_error: str | None = Field(default=None, max_length=200)
    """The kind of the last failure (an exception's name), never its text."""


class DeliveryRow(NotifierTable, table=True):
    """The sent-log: one contact on one channel, and what became of it.

    `sending` is written and committed before an email is handed to SMTP, so
    a crash in between is noticed when the contact is tried again.
    """

    __tablename__ = "deliveries"

    contact_id: str = Field(primary_key=True, max_length=200)
    channel: str = Field(primary_key=True, max_length=10)
    state: str = Field(max_length=20)
    """`sending`, `sent`, `failed`, `bounced` or `skipped`."""
    message_id: str | None = Field(default=None, max_length=300)
    batch: str | None = Field(default=None, max_length=200)
    reason: str | None = Field(default=None, max_length=40)
    updated_at: datetime = Field(sa_type=MOMENT)


class LetterRow(NotifierTable, table=True):
    """A rendered letter, waiting in (or printed with) its day's batch."""

    __tablename__ = "letters"
    __table_args__ = (sa.Index("ix_letters_batch", "creditor_id", "day", "created_at"),)

    contact_id: str = Field(primary_key=True, max_length=200)
    creditor_id: str = Field(max_length=100)
    debtor_id: str = Field(max_length=200)
    day: date
    """The creditor's local date the letter was produced: its print batch."""
    template: str = Field(max_length=40)
    paper: str = Field(max_length=10)
    pages: int
    path: str = Field(max_length=500)
    """The PDF, relative to the letters directory."""
    created_at: datetime = Field(sa_type=MOMENT)


class PrintBatchRow(NotifierTable, table=True):
    """One creditor's letters of one day, bound into one PDF with a manifest."""

    __tablename__ = "print_batches"

    creditor_id: str = Field(primary_key=True, max_length=100)
    day: date = Field(primary_key=True)
    letters: int
    pages: int
    path: str = Field(max_length=500)
    manifest: str = Field(max_length=500)
    built_at: datetime = Field(sa_type=MOMENT)


metadata = NotifierTable.metadata
