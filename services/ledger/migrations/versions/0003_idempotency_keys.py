"""The first response to each Idempotency-Key.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03
"""

from shared.http.idempotency import create_idempotency_table, drop_idempotency_table

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    create_idempotency_table()


def downgrade() -> None:
    drop_idempotency_table()
