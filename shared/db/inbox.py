"""The inbox: the messages a service has applied, so a replay changes nothing."""

from datetime import datetime
from uuid import UUID

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

INBOX_TABLE = "processed_messages"


class InboxRecord(SQLModel):
    """Columns of a service's `processed_messages` table."""

    event_id: UUID = Field(primary_key=True)
    topic: str = Field(max_length=249)
    type: str = Field(max_length=120)
    processed_at: datetime = Field(sa_type=sa.DateTime(timezone=True))


def create_inbox_table() -> None:
    """Create the inbox; the first revision of every service runs this."""
    from alembic import op

    op.create_table(
        INBOX_TABLE,
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("topic", sa.String(length=249), nullable=False),
        sa.Column("type", sa.String(length=120), nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("event_id"),
    )


def drop_inbox_table() -> None:
    from alembic import op

    op.drop_table(INBOX_TABLE)
