"""The ledger's settings: the shared ones, under its own name and port."""

from typing import ClassVar

from shared.settings import ServiceSettings


class LedgerSettings(ServiceSettings):
    """`OVERDUE_LEDGER_*` first, then the shared `OVERDUE_*` (and `DATABASE_URL`)."""

    service: ClassVar[str] = "ledger"
    default_port: ClassVar[int] = 8001
