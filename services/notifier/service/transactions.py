"""One database transaction per step, and timestamps as the database returns them."""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from sqlalchemy import Engine
from sqlmodel import Session


@contextmanager
def transaction(engine: Engine) -> Iterator[Session]:
    """A session that commits when the block ends, or rolls back on an error."""
    with Session(engine, expire_on_commit=False) as session, session.begin():
        yield session


def utc(moment: datetime) -> datetime:
    """`moment` in UTC: SQLite keeps a timestamp's wall time and drops its offset."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)
