"""Collections: creditors, each debtor's state and timer, held events, the outbox.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

from shared.outbox import create_outbox_table, drop_outbox_table

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None

UNPUBLISHED = sa.text("published_at IS NULL")


def upgrade() -> None:
    op.create_table(
        "creditors",
        sa.Column("id", sa.String(length=100), nullable=False),
        sa.Column("profile", sa.JSON(), nullable=False),
        sa.Column("policy", sa.JSON(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "collections",
        sa.Column("creditor_id", sa.String(length=100), nullable=False),
        sa.Column("debtor_id", sa.String(length=200), nullable=False),
        sa.Column("debtor", sa.JSON(), nullable=True),
        sa.Column("state", sa.JSON(), nullable=False),
        sa.Column("contacts", sa.JSON(), nullable=False),
        sa.Column("next_moment", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("creditor_id", "debtor_id"),
    )
    op.create_index("ix_collections_next_moment", "collections", ["next_moment"])
    op.create_table(
        "held_events",
        sa.Column(
            "position",
            sa.BigInteger().with_variant(sa.Integer, "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
        sa.Column("event_id", sa.Uuid(), nullable=False, unique=True),
        sa.Column("creditor_id", sa.String(length=100), nullable=False),
        sa.Column("topic", sa.String(length=249), nullable=False),
        sa.Column("envelope", sa.LargeBinary(), nullable=False),
        sa.Column("held_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index(
        "ix_held_events_creditor", "held_events", ["creditor_id", "position"]
    )
    create_outbox_table()
    op.create_index(
        "ix_outbox_unpublished",
        "outbox",
        ["position"],
        postgresql_where=UNPUBLISHED,
        sqlite_where=UNPUBLISHED,
    )


def downgrade() -> None:
    drop_outbox_table()
    op.drop_table("held_events")
    op.drop_table("collections")
    op.drop_table("creditors")
