"""The scheduler's tables, in a registry of their own.

Nested things (a creditor's profile and policy, a debtor's details, a
collection's state) are kept as JSON: the scheduler reads them whole and
never queries inside them. What it does query is a column of its own:
`collections.next_moment` is the durable timer, `case_state` and `case_stage`
list the cases, `api_keys` finds a creditor by its key.
"""

from datetime import datetime
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from shared.db.inbox import INBOX_TABLE, InboxRecord
from shared.http.idempotency import IDEMPOTENCY_TABLE, IdempotencyRecord
from shared.outbox import OUTBOX_TABLE, OutboxRecord, unpublished_index

MOMENT = sa.DateTime(timezone=True)


class SchedulerTable(SQLModel, registry=registry()):
    """Base of every table in the scheduler's database."""


class ProcessedMessage(InboxRecord, SchedulerTable, table=True):
    """A message the scheduler has applied; its id is never applied twice."""

    __tablename__ = INBOX_TABLE


class OutboxMessage(OutboxRecord, SchedulerTable, table=True):
    """A contact or case event the scheduler decided, waiting for the relay."""

    __tablename__ = OUTBOX_TABLE
    __table_args__ = (unpublished_index(),)


class CreditorRow(SchedulerTable, table=True):
    """A creditor as `creditor.updated` last described it."""

    __tablename__ = "creditors"

    id: str = Field(primary_key=True, max_length=100)
    profile: dict[str, Any] = Field(sa_type=sa.JSON)
    """The payload's JSON without `policy`: timezone, country, language..."""
    policy: dict[str, Any] | None = Field(default=None, sa_type=sa.JSON)
    """SPEC §3's policy; none yet means nothing is applied or sent."""
    updated_at: datetime = Field(sa_type=MOMENT)


class ApiKeyRow(SchedulerTable, table=True):
    """The hash of one key a creditor's `creditor.updated` lists (SPEC §2)."""

    __tablename__ = "api_keys"
    __table_args__ = (sa.Index("ix_api_keys_creditor", "creditor_id"),)

    hash: str = Field(primary_key=True, max_length=100)
    """`sha256:<hex>`, as `shared.http.keys.hash_key` writes it."""
    creditor_id: str = Field(max_length=100)


class CollectionRow(SchedulerTable, table=True):
    """One debtor of one creditor: its details, its engine state, its timer."""

    __tablename__ = "collections"
    __table_args__ = (
        # fire_due's claim: the earliest due timers first.
        sa.Index("ix_collections_next_moment", "next_moment"),
        # GET /v1/cases?state= and ?stage=, a page at a time in debtor order.
        sa.Index("ix_collections_case_state", "creditor_id", "case_state", "debtor_id"),
        sa.Index("ix_collections_case_stage", "creditor_id", "case_stage", "debtor_id"),
    )

    creditor_id: str = Field(primary_key=True, max_length=100)
    debtor_id: str = Field(primary_key=True, max_length=200)
    debtor: dict[str, Any] | None = Field(default=None, sa_type=sa.JSON)
    """The latest `debtor.upserted` data; none until the ledger sends it."""
    state: dict[str, Any] = Field(sa_type=sa.JSON)
    """The `Collection`'s state, as `documents.dump` writes it."""
    contacts: list[dict[str, Any]] = Field(default_factory=list, sa_type=sa.JSON)
    """Every contact decided for the debtor, for the case file."""
    history: list[dict[str, Any]] = Field(default_factory=list, sa_type=sa.JSON)
    """What the engine's state does not keep, in order: payments, and what
    collectors recorded (promises, plans, disputes and their reasons, pauses,
    escalations) with their outcomes. The timeline reads it."""
    next_moment: datetime | None = Field(default=None, sa_type=MOMENT)
    """When the engine said something falls due next; none when nothing will."""
    case_state: str | None = Field(default=None, max_length=20)
    """The latest case's state, written with `state`; none before the first case."""
    case_stage: str | None = Field(default=None, max_length=100)
    """The ladder stage the latest case sends next; none when it sends no more."""
    ledger_partition: int | None = None
    """The partition of `ledger.events` the debtor's events come on: only its
    consumer's progress bounds this timer. None until an event says."""
    version: int = 0
    updated_at: datetime = Field(sa_type=MOMENT)


class HeldEvent(SchedulerTable, table=True):
    """An event of a creditor whose profile or policy is not known yet (SPEC §2)."""

    __tablename__ = "held_events"
    __table_args__ = (sa.Index("ix_held_events_creditor", "creditor_id", "position"),)

    position: int | None = Field(
        default=None,
        primary_key=True,
        sa_type=sa.BigInteger().with_variant(sa.Integer, "sqlite"),
    )
    event_id: UUID = Field(unique=True)
    creditor_id: str = Field(max_length=100)
    topic: str = Field(max_length=249)
    envelope: bytes = Field(sa_type=sa.LargeBinary)
    held_at: datetime = Field(sa_type=MOMENT)


class LedgerWatermark(SchedulerTable, table=True):
    """How far one partition of `ledger.events` is applied, as its consumer saw it."""

    __tablename__ = "ledger_watermarks"

    topic: str = Field(primary_key=True, max_length=249)
    partition: int = Field(primary_key=True)
    caught_up_at: datetime | None = Field(default=None, sa_type=MOMENT)
    """The moment of the consumer's last fetch after which it had applied all
    the broker held; none while it never has."""
    reported_at: datetime = Field(sa_type=MOMENT)
    """When the partition's owner last said how far it was: it is alive."""
    owner: str = Field(max_length=200)
    """The process that reported, for operators: host and process id."""


class IdempotencyKeyRow(IdempotencyRecord, SchedulerTable, table=True):
    """The first response to each `Idempotency-Key` a creditor sent."""

    __tablename__ = IDEMPOTENCY_TABLE


metadata = SchedulerTable.metadata
