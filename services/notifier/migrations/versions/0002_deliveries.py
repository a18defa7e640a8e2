"""Deliveries: creditors, debtors and balances, the contact work list, the
sent-log, letters and print batches, and the outbox.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

from shared.outbox import (
    create_outbox_table,
    create_unpublished_index,
    drop_outbox_table,
)

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None

MOMENT = sa.DateTime(timezone=True)
MONEY = sa.Numeric(20, 4)


def upgrade() -> None:
    op.create_table(
        "creditors",
        sa.Column("id", sa.String(length=100), primary_key=True),
        sa.Column("profile", sa.JSON(), nullable=False),
        sa.Column("updated_at", MOMENT, nullable=False),
    )
    op.create_table(
        "debtors",
        sa.Column("creditor_id", sa.String(length=100), primary_key=True),
        sa.Column("debtor_id", sa.String(length=200), primary_key=True),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("updated_at", MOMENT, nullable=False),
    )
    op.create_table(
        "invoices",
        sa.Column("creditor_id", sa.String(length=100), primary_key=True),
        sa.Column("debtor_id", sa.String(length=200), primary_key=True),
        sa.Column("number", sa.String(length=200), primary_key=True),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("issued_on", sa.Date(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("amount", MONEY, nullable=False),
        sa.Column("balance", MONEY, nullable=False),
        sa.Column("written_off", sa.Boolean(), nullable=False),
        sa.Column("updated_at", MOMENT, nullable=False),
    )
    op.create_table(
        "contacts",
        sa.Column("contact_id", sa.String(length=200), primary_key=True),
        sa.Column("creditor_id", sa.String(length=100), nullable=False),
        sa.Column("debtor_id", sa.String(length=200), nullable=False),
        sa.Column("envelope", sa.LargeBinary(), nullable=False),
        sa.Column("received_at", MOMENT, nullable=False),
        sa.Column("done_at", MOMENT, nullable=True),
        sa.Column("next_attempt_at", MOMENT, nullable=True),
        sa.Column("claimed_until", MOMENT, nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(length=200), nullable=True),
    )
    op.create_index("ix_contacts_next_attempt", "contacts", ["next_attempt_at"])
    open_only = sa.text("done_at IS NULL")
    op.create_index(
        "ix_contacts_open",
        "contacts",
        ["creditor_id", "debtor_id"],
        postgresql_where=open_only,
        sqlite_where=open_only,
    )
    op.create_table(
        "deliveries",
        sa.Column("contact_id", sa.String(length=200), primary_key=True),
        sa.Column("channel", sa.String(length=10), primary_key=True),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("message_id", sa.String(length=300), nullable=True),
        sa.Column("batch", sa.String(length=200), nullable=True),
        sa.Column("reason", sa.String(length=40), nullable=True),
        sa.Column("updated_at", MOMENT, nullable=False),
    )
    op.create_table(
        "letters",
        sa.Column("contact_id", sa.String(length=200), primary_key=True),
        sa.Column("creditor_id", sa.String(length=100), nullable=False),
        sa.Column("debtor_id", sa.String(length=200), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("template", sa.String(length=40), nullable=False),
        sa.Column("paper", sa.String(length=10), nullable=False),
        sa.Column("pages", sa.Integer(), nullable=False),
        sa.Column("path", sa.String(length=500), nullable=False),
        sa.Column("created_at", MOMENT, nullable=False),
    )
    op.create_index("ix_letters_batch", "letters", ["creditor_id", "day", "created_at"])
    op.create_table(
        "print_batches",
        sa.Column("creditor_id", sa.String(length=100), primary_key=True),
        sa.Column("day", sa.Date(), primary_key=True),
        sa.Column("letters", sa.Integer(), nullable=False),
        sa.Column("pages", sa.Integer(), nullable=False),
        sa.Column("path", sa.String(length=500), nullable=False),
        sa.Column("manifest", sa.String(length=500), nullable=False),
        sa.Column("built_at", MOMENT, nullable=False),
    )
    create_outbox_table()
    create_unpublished_index()


def downgrade() -> None:
    drop_outbox_table()
    for table in (
        "print_batches",
        "letters",
        "deliveries",
        "contacts",
        "invoices",
        "debtors",
        "creditors",
    ):
        op.drop_table(table)
