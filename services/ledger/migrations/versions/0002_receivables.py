"""Receivables: creditors, API keys, debtors, invoices, credit notes, payments,
allocations, write-offs, debtor credit, and the outbox.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from shared.outbox import create_outbox_table, drop_outbox_table

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "creditors",
        sa.Column("id", sa.String(length=100), nullable=False),
        sa.Column("legal_name", sa.String(length=200), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("paper", sa.String(length=8), nullable=False),
        sa.Column("address", sa.JSON(), nullable=False),
        sa.Column("branding", sa.JSON(), nullable=False),
        sa.Column("bank", sa.JSON(), nullable=True),
        sa.Column("payment_link", sa.String(length=2000), nullable=True),
        sa.Column("late_fees", sa.JSON(), nullable=True),
        sa.Column("policy", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    create_outbox_table()
    op.create_table(
        "api_keys",
        sa.Column("hash", sa.String(length=100), nullable=False),
        sa.Column("creditor_id", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["creditor_id"],
            ["creditors.id"],
        ),
        sa.PrimaryKeyConstraint("hash"),
    )
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_api_keys_creditor_id"), ["creditor_id"], unique=False
        )

    op.create_table(
        "debtors",
        sa.Column("creditor_id", sa.String(length=100), nullable=False),
        sa.Column("debtor_id", sa.String(length=200), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("email_opt_out", sa.Boolean(), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=True),
        sa.Column("timezone", sa.String(length=64), nullable=True),
        sa.Column("country", sa.String(length=2), nullable=True),
        sa.Column("address", sa.JSON(), nullable=True),
        sa.Column("reference", sa.String(length=200), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["creditor_id"],
            ["creditors.id"],
        ),
        sa.PrimaryKeyConstraint("creditor_id", "debtor_id"),
    )
    op.create_table(
        "credit_notes",
        sa.Column("creditor_id", sa.String(length=100), nullable=False),
        sa.Column("number", sa.String(length=200), nullable=False),
        sa.Column("debtor_id", sa.String(length=200), nullable=False),
        sa.Column("invoice", sa.String(length=200), nullable=True),
        sa.Column("issued_on", sa.Date(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("amount", sa.Numeric(precision=18, scale=4), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["creditor_id", "debtor_id"],
            ["debtors.creditor_id", "debtors.debtor_id"],
        ),
        sa.PrimaryKeyConstraint("creditor_id", "number"),
    )
    op.create_table(
        "debtor_credits",
        sa.Column("creditor_id", sa.String(length=100), nullable=False),
        sa.Column("debtor_id", sa.String(length=200), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("amount", sa.Numeric(precision=18, scale=4), nullable=False),
        sa.ForeignKeyConstraint(
            ["creditor_id", "debtor_id"],
            ["debtors.creditor_id", "debtors.debtor_id"],
        ),
        sa.PrimaryKeyConstraint("creditor_id", "debtor_id", "currency"),
    )
    op.create_table(
        "invoices",
        sa.Column("creditor_id", sa.String(length=100), nullable=False),
        sa.Column("number", sa.String(length=200), nullable=False),
        sa.Column("debtor_id", sa.String(length=200), nullable=False),
        sa.Column("issued_on", sa.Date(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("amount", sa.Numeric(precision=18, scale=4), nullable=False),
        sa.Column("credited", sa.Numeric(precision=18, scale=4), nullable=False),
        sa.Column("balance", sa.Numeric(precision=18, scale=4), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["creditor_id", "debtor_id"],
            ["debtors.creditor_id", "debtors.debtor_id"],
        ),
        sa.PrimaryKeyConstraint("creditor_id", "number"),
    )
    with op.batch_alter_table("invoices", schema=None) as batch_op:
        batch_op.create_index(
            "ix_invoices_debtor", ["creditor_id", "debtor_id"], unique=False
        )

    op.create_table(
        "payments",
        sa.Column("creditor_id", sa.String(length=100), nullable=False),
        sa.Column("payment_id", sa.String(length=200), nullable=False),
        sa.Column("debtor_id", sa.String(length=200), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("amount", sa.Numeric(precision=18, scale=4), nullable=False),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.Column("invoice", sa.String(length=200), nullable=True),
        sa.Column("reference", sa.String(length=200), nullable=True),
        sa.Column("unallocated", sa.Numeric(precision=18, scale=4), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["creditor_id", "debtor_id"],
            ["debtors.creditor_id", "debtors.debtor_id"],
        ),
        sa.PrimaryKeyConstraint("creditor_id", "payment_id"),
    )
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.create_index(
            "ix_payments_debtor", ["creditor_id", "debtor_id"], unique=False
        )

    op.create_table(
        "allocations",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("creditor_id", sa.String(length=100), nullable=False),
        sa.Column("invoice", sa.String(length=200), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("source_ref", sa.String(length=200), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("amount", sa.Numeric(precision=18, scale=4), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["creditor_id", "invoice"],
            ["invoices.creditor_id", "invoices.number"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("allocations", schema=None) as batch_op:
        batch_op.create_index(
            "ix_allocations_invoice", ["creditor_id", "invoice"], unique=False
        )

    op.create_table(
        "write_offs",
        sa.Column("creditor_id", sa.String(length=100), nullable=False),
        sa.Column("invoice", sa.String(length=200), nullable=False),
        sa.Column("written_off_on", sa.Date(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("amount", sa.Numeric(precision=18, scale=4), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["creditor_id", "invoice"],
            ["invoices.creditor_id", "invoices.number"],
        ),
        sa.PrimaryKeyConstraint("creditor_id", "invoice"),
    )


def downgrade() -> None:
    op.drop_table("write_offs")
    with op.batch_alter_table("allocations", schema=None) as batch_op:
        batch_op.drop_index("ix_allocations_invoice")

    op.drop_table("allocations")
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.drop_index("ix_payments_debtor")

    op.drop_table("payments")
    with op.batch_alter_table("invoices", schema=None) as batch_op:
        batch_op.drop_index("ix_invoices_debtor")

    op.drop_table("invoices")
    op.drop_table("debtor_credits")
    op.drop_table("credit_notes")
    op.drop_table("debtors")
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_keys_creditor_id"))

    op.drop_table("api_keys")
    drop_outbox_table()
    op.drop_table("creditors")
