"""`Idempotency-Key`: a POST sent twice records once and answers the same twice.

The first response to a key is stored with a fingerprint of the request. A
replay with the same fingerprint gets that response back and changes nothing;
the same key with another request is a conflict (409).

`IdempotencyStore` stores the response after the command's own transaction.
`claim` and `answer` do it inside that transaction instead, so two requests
with one key at the same instant cannot both record.
"""

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Engine
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, Session, SQLModel, col, select

IDEMPOTENCY_TABLE = "idempotency_keys"
HEADER = "Idempotency-Key"


class IdempotencyRecord(SQLModel):
    """Columns of a service's `idempotency_keys` table."""

    creditor: str = Field(primary_key=True, max_length=120)
    key: str = Field(primary_key=True, max_length=200)
    fingerprint: str = Field(max_length=64)
    status_code: int
    body: bytes = Field(sa_type=sa.LargeBinary)
    created_at: datetime = Field(sa_type=sa.DateTime(timezone=True))


class KeyReusedForAnotherRequest(Exception):
    """The same `Idempotency-Key` came with a different request."""

    status = 409
    field: str | None = HEADER
    message = "this Idempotency-Key was already used for a different request"


@dataclass(frozen=True)
class StoredResponse:
    status_code: int
    body: Any


def fingerprint(method: str, path: str, body: bytes) -> str:
    """What makes two requests the same request: method, path and body."""
    digest = hashlib.sha256()
    for part in (method.upper().encode(), path.encode(), body):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


class IdempotencyStore:
    """The first response per (creditor, key), in the service's own database."""

    def __init__(self, engine: Engine, table: type[IdempotencyRecord]) -> None:
        self.engine = engine
        self.table = table

    def replay(self, creditor: str, key: str, print_: str) -> StoredResponse | None:
        """The stored response for this key, if any; raises if the request differs."""
        with Session(self.engine) as session:
            record = session.exec(
                select(self.table).where(
                    self.table.creditor == creditor, self.table.key == key
                )
            ).first()
        if record is None:
            return None
        if record.fingerprint != print_:
            raise KeyReusedForAnotherRequest()
        return StoredResponse(record.status_code, json.loads(record.body))

    def remember(
        self,
        creditor: str,
        key: str,
        print_: str,
        response: StoredResponse,
        at: datetime,
    ) -> StoredResponse:
        """Store the first response; if a concurrent request won, answer with its."""
        record = self.table(
            creditor=creditor,
            key=key,
            fingerprint=print_,
            status_code=response.status_code,
            body=json.dumps(response.body, default=str).encode(),
            created_at=at,
        )
        try:
            with Session(self.engine) as session:
                session.add(record)
                session.commit()
        except IntegrityError:
            first = self.replay(creditor, key, print_)
            assert first is not None
            return first
        return response


def claim(
    session: Session,
    table: type[IdempotencyRecord],
    creditor: str,
    key: str,
    print_: str,
    at: datetime,
) -> StoredResponse | None:
    """Take the key in the caller's transaction, or give the answer it had.

    While another transaction holds the key, this one waits for it to end:
    PostgreSQL holds back an insert of the same primary key, SQLite lets one
    writer in at a time. The key's row is therefore never seen unanswered; a
    rolled-back holder leaves the key free. Raises if the key came with
    another request.
    """
    insert = postgresql.insert if _dialect(session) == "postgresql" else sqlite.insert
    taken = insert(table).values(
        creditor=creditor,
        key=key,
        fingerprint=print_,
        status_code=0,  # `answer` writes the response before the commit
        body=b"",
        created_at=at,
    )
    # RETURNING says whether the row went in; rowcount is not told on every driver.
    took = session.execute(
        taken.on_conflict_do_nothing(index_elements=["creditor", "key"]).returning(
            sa.literal_column("1")
        )
    ).first()
    if took is not None:
        return None
    record = session.exec(
        select(table)
        .where(table.creditor == creditor, table.key == key)
        .execution_options(populate_existing=True)
    ).one()
    if record.fingerprint != print_:
        raise KeyReusedForAnotherRequest()
    return StoredResponse(record.status_code, json.loads(record.body))


def answer(
    session: Session,
    table: type[IdempotencyRecord],
    creditor: str,
    key: str,
    response: StoredResponse,
) -> None:
    """Keep the response to a key `claim` took, in the same transaction."""
    session.execute(
        sa.update(table)
        .where(col(table.creditor) == creditor, col(table.key) == key)
        .values(
            status_code=response.status_code,
            body=json.dumps(response.body, default=str).encode(),
        )
    )


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def create_idempotency_table() -> None:
    """Create the table of idempotency keys; a service's migration runs this once."""
    from alembic import op

    op.create_table(
        IDEMPOTENCY_TABLE,
        sa.Column("creditor", sa.String(length=120), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("creditor", "key"),
    )


def drop_idempotency_table() -> None:
    from alembic import op

    op.drop_table(IDEMPOTENCY_TABLE)
