"""The ledger's tables, in a registry of their own."""

from sqlalchemy.orm import registry
from sqlmodel import SQLModel

from shared.db.inbox import INBOX_TABLE, InboxRecord


class LedgerTable(SQLModel, registry=registry()):
    """Base of every table in the ledger's database."""


class ProcessedMessage(InboxRecord, LedgerTable, table=True):
    """A message the ledger has applied; its id is never applied twice."""

    __tablename__ = INBOX_TABLE


metadata = LedgerTable.metadata
