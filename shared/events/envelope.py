"""The envelope around every message on every topic (SPEC §2)."""

from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

from pydantic import BaseModel, ConfigDict, Field
from pydantic_core import to_json

from shared.events.fields import Moment
from shared.events.payload import Payload, check_addressing

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
    occurred_at: Moment = Field(description="When the fact happened, with offset.")
    creditor: str = Field(
        min_length=1,
        pattern=r"^[^/\s]+$",
        description="Creditor id; never contains `/`, which ends it in the key.",
    )
    debtor: str | None = Field(
        default=None, min_length=1, description="Debtor id; absent for creditor events."
    )
    data: dict[str, Any] = Field(
        default_factory=dict, description="Type-specific payload."
    )

    @classmethod
    def wrap(
        cls,
        payload: Payload,
        *,
        creditor: str,
        debtor: str | None = None,
        occurred_at: datetime,
        id: UUID | None = None,
    ) -> "Envelope":
        """Address `payload`; its money becomes strings, its dates ISO text."""
        check_addressing(type(payload), debtor)
        return cls(
            id=id or uuid4(),
            type=payload.event_type,
            schema_version=payload.schema_version,
            occurred_at=occurred_at,
            creditor=creditor,
            debtor=debtor,
            data=payload.to_data(),
        )

    @property
    def key(self) -> str:
        """`{creditor}/{debtor}`, or the creditor alone for creditor-level events."""
        if self.debtor is None:
            return self.creditor
        return debtor_key(self.creditor, self.debtor)

    def to_bytes(self) -> bytes:
        """The JSON on the wire, with `schema` spelled as in SPEC §2."""
        return self.model_dump_json(by_alias=True).encode()

    @classmethod
    def from_bytes(cls, raw: bytes) -> "Envelope":
        """Read the wire JSON; raises a pydantic `ValidationError` if malformed."""
        return cls.model_validate_json(raw)


def sealed(
    payload: Payload,
    *,
    id: UUID,
    creditor: str,
    debtor: str | None,
    occurred_at: datetime,
) -> bytes:
    """The bytes of `Envelope.wrap(...).to_bytes()`, without building the envelope.

    For a producer that holds `payload` valid already and writes thousands of
    events a second (the ledger): the envelope is neither validated nor built,
    only written. `creditor` and `occurred_at` are taken as valid; a test
    compares the bytes with the validated envelope's.
    """
    check_addressing(type(payload), debtor)
    head = to_json(
        {
            "id": str(id),
            "type": payload.event_type,
            "schema": payload.schema_version,
            "occurred_at": occurred_at.isoformat(),
            "creditor": creditor,
            "debtor": debtor,
        }
    )
    data = payload.__pydantic_serializer__.to_json(
        payload, exclude_unset=payload.partial
    )
    return head[:-1] + b',"data":' + data + b"}"
