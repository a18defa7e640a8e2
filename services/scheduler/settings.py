"""The scheduler's settings: the shared ones, under its own name and port."""

from typing import ClassVar

from shared.settings import ServiceSettings


class SchedulerSettings(ServiceSettings):
    """`OVERDUE_SCHEDULER_*` first, then the shared `OVERDUE_*` (and `DATABASE_URL`)."""

    service: ClassVar[str] = "scheduler"
    default_port: ClassVar[int] = 8002
