"""The outbox table, its migration step, and how a change enqueues an event."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlmodel import Field, Session, SQLModel

from shared.db.bulk import insert_rows
from shared.events import Envelope
from shared.topics import Topic

OUTBOX_TABLE = "outbox"
UNPUBLISHED_INDEX = "ix_outbox_unpublished"


class OutboxRecord(SQLModel):
    """Columns of a service's `outbox` table; each service makes it a table.

    `position` is the order of writing, which the relay keeps; `published_at`
    stays empty until the broker has acknowledged the record.
    """

    position: int | None = Field(
        default=None,
        primary_key=True,
        sa_type=sa.BigInteger().with_variant(sa.Integer, "sqlite"),
    )
    event_id: UUID = Field(unique=True)
    topic: str = Field(max_length=249)
    key: str = Field(max_length=500)
    type: str = Field(max_length=120)
    envelope: bytes = Field(sa_type=sa.LargeBinary)
    recorded_at: datetime = Field(sa_type=sa.DateTime(timezone=True))
    published_at: datetime | None = Field(
        default=None, sa_type=sa.DateTime(timezone=True), index=True
    )


def unpublished_index() -> sa.Index:
    """The relay's next batch, found without walking past published rows.

    Put it in an outbox table's `__table_args__`; a migration creates it with
    `create_unpublished_index`.
    """
    return sa.Index(
        UNPUBLISHED_INDEX,
        "position",
        postgresql_where=sa.text("published_at IS NULL"),
        sqlite_where=sa.text("published_at IS NULL"),
    )


def create_unpublished_index() -> None:
    """Create `unpublished_index` on the service's outbox, in a migration."""
    from alembic import op

    unpublished = sa.text("published_at IS NULL")
    op.create_index(
        UNPUBLISHED_INDEX,
        OUTBOX_TABLE,
        ["position"],
        postgresql_where=unpublished,
        sqlite_where=unpublished,
    )


def enqueue(
    session: Session, table: type[OutboxRecord], envelope: Envelope, topic: Topic
) -> OutboxRecord:
    """Add `envelope` to the outbox, inside the caller's transaction."""
    row = table(
        event_id=envelope.id,
        topic=topic.name,
        key=envelope.key,
        type=envelope.type,
        envelope=envelope.to_bytes(),
        recorded_at=envelope.occurred_at,
    )
    session.add(row)
    return row


@dataclass(frozen=True, slots=True)
class Sealed:
    """An event as the outbox stores it: its wire bytes and how to route them."""

    event_id: UUID
    key: str
    type: str
    envelope: bytes
    recorded_at: datetime

    @classmethod
    def of(cls, envelope: Envelope) -> "Sealed":
        return cls(
            event_id=envelope.id,
            key=envelope.key,
            type=envelope.type,
            envelope=envelope.to_bytes(),
            recorded_at=envelope.occurred_at,
        )

    def row(self, topic: Topic) -> dict[str, Any]:
        """The outbox row's columns. Not `dataclasses.asdict`, which deep-copies
        every value: for a batch's thousands of events it cost more than COPY."""
        return {
            "event_id": self.event_id,
            "key": self.key,
            "type": self.type,
            "envelope": self.envelope,
            "recorded_at": self.recorded_at,
            "topic": topic.name,
        }


def enqueue_many(
    session: Session,
    table: type[OutboxRecord],
    envelopes: Sequence[Envelope | Sealed],
    topic: Topic,
) -> None:
    """Add many events in one statement, inside the caller's transaction.

    For imports and batches: no objects are built and none enter the session,
    so positions are not read back; the rows keep the order of `envelopes`.
    """
    if not envelopes:
        return
    # Events added with `enqueue` wait in the session; flush them first, or
    # they would take later positions than these.
    session.flush()
    rows = [
        (e if isinstance(e, Sealed) else Sealed.of(e)).row(topic) for e in envelopes
    ]
    insert_rows(session.connection(), table.__table__, rows)  # type: ignore[attr-defined]


def create_outbox_table() -> None:
    """Create the outbox; a service's migration runs this once."""
    from alembic import op

    op.create_table(
        OUTBOX_TABLE,
        sa.Column(
            "position",
            sa.BigInteger().with_variant(sa.Integer, "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
        sa.Column("event_id", sa.Uuid(), nullable=False, unique=True),
        sa.Column("topic", sa.String(length=249), nullable=False),
        sa.Column("key", sa.String(length=500), nullable=False),
        sa.Column("type", sa.String(length=120), nullable=False),
        sa.Column("envelope", sa.LargeBinary(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index(f"ix_{OUTBOX_TABLE}_published_at", OUTBOX_TABLE, ["published_at"])


def drop_outbox_table() -> None:
    from alembic import op

    op.drop_table(OUTBOX_TABLE)
