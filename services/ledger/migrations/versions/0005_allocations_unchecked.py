"""Allocations no longer check their invoice with a foreign key.

An allocation is written only by the batch that loaded or created its
invoice, in the same transaction, and invoices are never deleted. The check
cost more than the rest of the write: PostgreSQL plans it once per
connection, and a plan made while `invoices` was small scans the whole table
for every allocation row from then on (175 ms for a batch of 250 allocations
at 5,000 invoices, growing with the table, until the next ANALYZE).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | None = None
depends_on: str | None = None

CHECK = "allocations_creditor_id_invoice_fkey"


def _allocations() -> sa.Table:
    """The table as 0002 made it, with its check named: SQLite left it unnamed,
    and batch mode rebuilds the table from this to drop it."""
    return sa.Table(
        "allocations",
        sa.MetaData(),
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
            name=CHECK,
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.Index("ix_allocations_invoice", "creditor_id", "invoice"),
    )


def upgrade() -> None:
    with op.batch_alter_table("allocations", copy_from=_allocations()) as batch_op:
        batch_op.drop_constraint(CHECK, type_="foreignkey")


def downgrade() -> None:
    with op.batch_alter_table("allocations") as batch_op:
        batch_op.create_foreign_key(
            CHECK, "invoices", ["creditor_id", "invoice"], ["creditor_id", "number"]
        )
