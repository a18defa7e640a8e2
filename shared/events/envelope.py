"""The envelope around every message on every topic (SPEC §2)."""

from typing import Any
from uuid import UUID, uuid4

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

SCHEMA_VERSION = 1


def debtor_key(creditor: str, debtor: str) -> str:
    """The Kafka key that keeps all events of one debtor in order."""
    return f"{creditor}/{debtor}"


class Envelope(BaseModel):
    """One fact or command, addressed to one creditor's debtor."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    id: UUID = Field(
        default_factory=uuid4, description="Unique per event; replays keep it."
    )
    type: str = Field(min_length=1, description="Event type, e.g. `invoice.issued`.")
    schema_version: int = Field(
        default=SCHEMA_VERSION, ge=1, alias="schema", description="Version of `data`."
    )
    occurred_at: AwareDatetime = Field(
        description="When the fact happened, with offset."
    )
    creditor: str = Field(min_length=1, description="Creditor id.")
    debtor: str | None = Field(
        default=None, min_length=1, description="Debtor id; absent for creditor events."
    )
    data: dict[str, Any] = Field(
        default_factory=dict, description="Type-specific payload."
    )

    @property
    def key(self) -> str:
        """`{creditor}/{debtor}`, or the creditor alone for creditor-level events."""
        if self.debtor is None:
            return self.creditor
        return debtor_key(self.creditor, self.debtor)

    def to_bytes(self) -> bytes:
        return self.model_dump_json(by_alias=True).encode()

    @classmethod
    def from_bytes(cls, raw: bytes) -> "Envelope":
        return cls.model_validate_json(raw)
