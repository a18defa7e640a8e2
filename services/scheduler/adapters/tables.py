"""The scheduler's tables, in a registry of their own."""

from sqlalchemy.orm import registry
from sqlmodel import SQLModel

from shared.db.inbox import INBOX_TABLE, InboxRecord


class SchedulerTable(SQLModel, registry=registry()):
    """Base of every table in the scheduler's database."""


class ProcessedMessage(InboxRecord, SchedulerTable, table=True):
    """A message the scheduler has applied; its id is never applied twice."""

    __tablename__ = INBOX_TABLE


metadata = SchedulerTable.metadata
