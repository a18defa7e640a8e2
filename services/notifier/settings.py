"""The notifier's settings: the shared ones, under its own name and port."""

from pathlib import Path
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

    letters_dir: Path = Field(
        default=Path("var/letters"),
        description="Where letters and each day's print batch and manifest go.",
    )
    template_overrides: Path | None = Field(
        default=None,
        description="A folder with one subfolder per creditor of templates and "
        "branding.yaml that replace the shipped ones for that creditor.",
    )
    letter_workers: int | None = Field(
        default=None,
        ge=1,
        description="Processes rendering PDFs (default: one per core).",
    )
    concurrency: int = Field(
        default=8, ge=1, description="Contacts tried side by side."
    )
    max_attempts: int = Field(
        default=12,
        ge=1,
        description="Tries of an email the SMTP server keeps deferring before the "
        "contact fails with retries_exhausted (about an hour with the backoff).",
    )
    bind_interval: float = Field(
        default=60.0,
        gt=0,
        description="Seconds between looks for a finished day's letters to bind.",
    )
