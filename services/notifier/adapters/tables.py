"""The notifier's tables, in a registry of their own."""

from sqlalchemy.orm import registry
from sqlmodel import SQLModel

from shared.db.inbox import INBOX_TABLE, InboxRecord


class NotifierTable(SQLModel, registry=registry()):
    """Base of every table in the notifier's database."""


class ProcessedMessage(InboxRecord, NotifierTable, table=True):
    """A message the notifier has applied; its id is never applied twice."""

    __tablename__ = INBOX_TABLE


metadata = NotifierTable.metadata
