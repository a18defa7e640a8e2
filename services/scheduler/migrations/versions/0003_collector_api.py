"""The collector API: each collection's history, and the Idempotency-Key table.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

from shared.http.idempotency import create_idempotency_table, drop_idempotency_table

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    # Rows written before this revision had no history: an empty list.
    op.add_column(
        "collections",
        sa.Column("history", sa.JSON(), nullable=False, server_default="[]"),
    )
    create_idempotency_table()


def downgrade() -> None:
    drop_idempotency_table()
    with op.batch_alter_table("collections") as batch:
        batch.drop_column("history")
