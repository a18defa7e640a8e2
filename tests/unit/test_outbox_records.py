"""Enqueueing into the outbox: one event, or many in one statement."""

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import registry
from sqlalchemy.pool import StaticPool
from sqlmodel import Session, SQLModel, select

from shared.events import Envelope
from shared.outbox import OutboxRecord, enqueue, enqueue_many
from shared.topics import Topic

NOW = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)
TOPIC = Topic("records.unit", "events of the outbox's unit tests")


class RecordsTable(SQLModel, registry=registry()):
    """Tables of these tests alone."""


class RecordsOutbox(OutboxRecord, RecordsTable, table=True):
    __tablename__ = "records_outbox"


@pytest.fixture
def engine() -> Iterator[sa.Engine]:
    engine = sa.create_engine(
        "sqlite://", poolclass=StaticPool, connect_args={"check_same_thread": False}
    )
    RecordsTable.metadata.create_all(engine)
    yield engine
    engine.dispose()


def _envelope(debtor: str) -> Envelope:
    return Envelope(
        type="invoice.issued", occurred_at=NOW, creditor="acme", debtor=debtor
    )


def _rows(engine: sa.Engine) -> list[RecordsOutbox]:
    with Session(engine) as session:
        return list(
            session.exec(
                select(RecordsOutbox).order_by(RecordsOutbox.position)  # type: ignore[arg-type]
            ).all()
        )


def test_enqueue_many_writes_the_envelopes_in_their_order_like_enqueue(
    engine: sa.Engine,
) -> None:
    one = _envelope("d-0")
    many = [_envelope(f"d-{n}") for n in range(1, 4)]

    with Session(engine) as session:
        enqueue(session, RecordsOutbox, one, TOPIC)
        enqueue_many(session, RecordsOutbox, many, TOPIC)
        session.commit()

    rows = _rows(engine)
    assert [row.event_id for row in rows] == [e.id for e in [one, *many]]
    assert [row.key for row in rows] == ["acme/d-0", "acme/d-1", "acme/d-2", "acme/d-3"]
    assert all(row.topic == "records.unit" and row.published_at is None for row in rows)
    assert Envelope.from_bytes(rows[-1].envelope) == many[-1]


def test_enqueue_many_writes_nothing_when_the_transaction_rolls_back(
    engine: sa.Engine,
) -> None:
    with Session(engine) as session:
        enqueue_many(session, RecordsOutbox, [_envelope("d-1")], TOPIC)
        session.rollback()

    assert _rows(engine) == []
