"""The partition of ledger.events each collection's events come on.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    # Unknown for collections stored before: the slowest partition bounds
    # their timers until their next ledger event says which is theirs.
    with op.batch_alter_table("collections") as table:
        table.add_column(sa.Column("ledger_partition", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("collections") as table:
        table.drop_column("ledger_partition")
