"""The notifier's settings: the shared ones, under its own name and port."""

from typing import ClassVar

from pydantic import Field

from shared.settings import ServiceSettings


class NotifierSettings(ServiceSettings):
    """`OVERDUE_NOTIFIER_*` first, then the shared `OVERDUE_*` (and `DATABASE_URL`)."""

    service: ClassVar[str] = "notifier"
    default_port: ClassVar[int] = 8003

    smtp_host: str = Field(
        default="127.0.0.1", description="SMTP server the emails are handed to."
    )
    smtp_port: int = Field(
        default=2525, ge=1, le=65535, description="Its port (2525: the local sink)."
    )
