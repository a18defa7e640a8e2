"""The inbox of applied messages.

Revision ID: 0001
Revises:
Create Date: 2026-12-03
"""

from shared.db.inbox import create_inbox_table, drop_inbox_table

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    create_inbox_table()


def downgrade() -> None:
    drop_inbox_table()
