"""The notifier's settings: the shared ones, under its own name and port."""

from typing import ClassVar

from shared.settings import ServiceSettings


class NotifierSettings(ServiceSettings):
    """`OVERDUE_NOTIFIER_*` first, then the shared `OVERDUE_*` (and `DATABASE_URL`)."""

    service: ClassVar[str] = "notifier"
    default_port: ClassVar[int] = 8003
