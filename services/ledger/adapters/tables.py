"""The ledger's tables, in a registry of their own.

Money columns are `Numeric(18, 4)`, enough for every currency's minor unit;
the service quantizes to the currency before writing and after reading.
Every table but the creditors' carries `creditor_id` in its key, so no query
can reach another creditor's rows without naming them.
"""

from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from shared.db.inbox import INBOX_TABLE, InboxRecord
from shared.http.idempotency import IDEMPOTENCY_TABLE, IdempotencyRecord
from shared.outbox import OUTBOX_TABLE, OutboxRecord, unpublished_index

MONEY = sa.Numeric(18, 4)
MOMENT = sa.DateTime(timezone=True)


class LedgerTable(SQLModel, registry=registry()):
    """Base of every table in the ledger's database."""


class ProcessedMessage(InboxRecord, LedgerTable, table=True):
    """A message the ledger has applied; its id is never applied twice."""

    __tablename__ = INBOX_TABLE


class OutboxMessage(OutboxRecord, LedgerTable, table=True):
    """An event the ledger recorded, waiting for the relay to publish it."""

    __tablename__ = OUTBOX_TABLE
    __table_args__ = (unpublished_index(),)


class CreditorRow(LedgerTable, table=True):
    """A creditor's profile and policy; nested parts are kept as JSON."""

    __tablename__ = "creditors"

    id: str = Field(primary_key=True, max_length=100)
    legal_name: str = Field(max_length=200)
    country: str = Field(max_length=2)
    timezone: str = Field(max_length=64)
    currency: str = Field(max_length=3)
    language: str = Field(max_length=8)
    paper: str = Field(max_length=8)
    address: dict[str, Any] = Field(sa_type=sa.JSON)
    branding: dict[str, Any] = Field(sa_type=sa.JSON)
    bank: dict[str, Any] | None = Field(default=None, sa_type=sa.JSON)
    payment_link: str | None = Field(default=None, max_length=2000)
    late_fees: dict[str, Any] | None = Field(default=None, sa_type=sa.JSON)
    policy: dict[str, Any] | None = Field(default=None, sa_type=sa.JSON)
    created_at: datetime = Field(sa_type=MOMENT)
    updated_at: datetime = Field(sa_type=MOMENT)


class ApiKeyRow(LedgerTable, table=True):
    """The hash of one API key; the key itself is never stored."""

    __tablename__ = "api_keys"

    hash: str = Field(primary_key=True, max_length=100)
    creditor_id: str = Field(foreign_key="creditors.id", index=True, max_length=100)
    created_at: datetime = Field(sa_type=MOMENT)
    revoked_at: datetime | None = Field(default=None, sa_type=MOMENT)


class DebtorRow(LedgerTable, table=True):
    """What the ledger knows of a debtor (SPEC §7), per creditor."""

    __tablename__ = "debtors"

    creditor_id: str = Field(
        foreign_key="creditors.id", primary_key=True, max_length=100
    )
    debtor_id: str = Field(primary_key=True, max_length=200)
    name: str = Field(max_length=200)
    email: str | None = Field(default=None, max_length=254)
    email_opt_out: bool = False
    language: str | None = Field(default=None, max_length=8)
    timezone: str | None = Field(default=None, max_length=64)
    country: str | None = Field(default=None, max_length=2)
    address: dict[str, Any] | None = Field(default=None, sa_type=sa.JSON)
    reference: str | None = Field(default=None, max_length=200)
    updated_at: datetime = Field(sa_type=MOMENT)


class InvoiceRow(LedgerTable, table=True):
    """An invoice; its number is unique per creditor."""

    __tablename__ = "invoices"
    __table_args__ = (
        sa.ForeignKeyConstraint(
            ["creditor_id", "debtor_id"], ["debtors.creditor_id", "debtors.debtor_id"]
        ),
        sa.Index("ix_invoices_debtor", "creditor_id", "debtor_id"),
    )

    creditor_id: str = Field(primary_key=True, max_length=100)
    number: str = Field(primary_key=True, max_length=200)
    debtor_id: str = Field(max_length=200)
    issued_on: date
    due_on: date
    currency: str = Field(max_length=3)
    amount: Decimal = Field(sa_type=MONEY)
    credited: Decimal = Field(sa_type=MONEY, description="Reduced by credit notes.")
    balance: Decimal = Field(sa_type=MONEY)
    status: str = Field(max_length=16, description="open, paid or written_off.")
    recorded_at: datetime = Field(sa_type=MOMENT)


class CreditNoteRow(LedgerTable, table=True):
    """A credit note; its number is unique per creditor."""

    __tablename__ = "credit_notes"
    __table_args__ = (
        sa.ForeignKeyConstraint(
            ["creditor_id", "debtor_id"], ["debtors.creditor_id", "debtors.debtor_id"]
        ),
    )

    creditor_id: str = Field(primary_key=True, max_length=100)
    number: str = Field(primary_key=True, max_length=200)
    debtor_id: str = Field(max_length=200)
    invoice: str | None = Field(default=None, max_length=200)
    issued_on: date
    currency: str = Field(max_length=3)
    amount: Decimal = Field(sa_type=MONEY)
    reason: str | None = Field(default=None, max_length=200)
    recorded_at: datetime = Field(sa_type=MOMENT)


class PaymentRow(LedgerTable, table=True):
    """A payment received; its id is the platform's, unique per creditor."""

    __tablename__ = "payments"
    __table_args__ = (
        sa.ForeignKeyConstraint(
            ["creditor_id", "debtor_id"], ["debtors.creditor_id", "debtors.debtor_id"]
        ),
        sa.Index("ix_payments_debtor", "creditor_id", "debtor_id"),
    )

    creditor_id: str = Field(primary_key=True, max_length=100)
    payment_id: str = Field(primary_key=True, max_length=200)
    debtor_id: str = Field(max_length=200)
    currency: str = Field(max_length=3)
    amount: Decimal = Field(sa_type=MONEY)
    received_on: date
    invoice: str | None = Field(default=None, max_length=200)
    reference: str | None = Field(default=None, max_length=200)
    unallocated: Decimal = Field(sa_type=MONEY)
    recorded_at: datetime = Field(sa_type=MOMENT)


class AllocationRow(LedgerTable, table=True):
    """Money that settled an invoice: from a payment, a credit note or credit.

    No foreign key checks `invoice`: the batch that writes an allocation holds
    its invoice, and a per-row check cost more than the write (migration 0005).
    """

    __tablename__ = "allocations"
    __table_args__ = (sa.Index("ix_allocations_invoice", "creditor_id", "invoice"),)

    id: int | None = Field(
        default=None,
        primary_key=True,
        sa_type=sa.BigInteger().with_variant(sa.Integer, "sqlite"),
    )
    creditor_id: str = Field(max_length=100)
    invoice: str = Field(max_length=200)
    source: str = Field(max_length=16, description="payment, credit_note or credit.")
    source_ref: str = Field(max_length=200, description="Payment id or note number.")
    currency: str = Field(max_length=3)
    amount: Decimal = Field(sa_type=MONEY)
    recorded_at: datetime = Field(sa_type=MOMENT)


class WriteOffRow(LedgerTable, table=True):
    """What the creditor gave up of one invoice."""

    __tablename__ = "write_offs"
    __table_args__ = (
        sa.ForeignKeyConstraint(
            ["creditor_id", "invoice"], ["invoices.creditor_id", "invoices.number"]
        ),
    )

    creditor_id: str = Field(primary_key=True, max_length=100)
    invoice: str = Field(primary_key=True, max_length=200)
    written_off_on: date
    currency: str = Field(max_length=3)
    amount: Decimal = Field(sa_type=MONEY)
    reason: str | None = Field(default=None, max_length=200)
    recorded_at: datetime = Field(sa_type=MOMENT)


class DebtorCreditRow(LedgerTable, table=True):
    """A debtor's unallocated credit in one currency."""

    __tablename__ = "debtor_credits"
    __table_args__ = (
        sa.ForeignKeyConstraint(
            ["creditor_id", "debtor_id"], ["debtors.creditor_id", "debtors.debtor_id"]
        ),
    )

    creditor_id: str = Field(primary_key=True, max_length=100)
    debtor_id: str = Field(primary_key=True, max_length=200)
    currency: str = Field(primary_key=True, max_length=3)
    amount: Decimal = Field(sa_type=MONEY)


metadata = LedgerTable.metadata


class IdempotencyKeyRow(IdempotencyRecord, LedgerTable, table=True):
    """The first response to each `Idempotency-Key` a creditor sent."""

    __tablename__ = IDEMPOTENCY_TABLE
