"""The ledger's settings: the shared ones, under its own name and port."""

from typing import ClassVar, Literal

from pydantic import AliasChoices, Field

from shared.settings import ServiceSettings


class LedgerSettings(ServiceSettings):
    """`OVERDUE_LEDGER_*` first, then the shared `OVERDUE_*` (and `DATABASE_URL`)."""

    service: ClassVar[str] = "ledger"
    default_port: ClassVar[int] = 8001

    relay: Literal["process", "in-process"] = Field(
        default="process",
        validation_alias=AliasChoices("OVERDUE_LEDGER_RELAY"),
        description="Where `serve` runs the outbox relay: a child process of its "
        "own (`overdue ledger relay`, a second core) or `in-process`.",
    )
