"""The notifier's settings: the shared ones, under its own name and port."""

from pathlib import Path
from typing import ClassVar

from pydantic import Field, SecretStr

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
    smtp_starttls: bool = Field(
        default=False,
        description="Upgrade each connection with STARTTLS, and fail if it can't.",
    )
    smtp_tls: bool = Field(
        default=False,
        description="Speak TLS from the first byte (implicit TLS, usually port 465).",
    )
    smtp_ca_file: str | None = Field(
        default=None,
        description="PEM file of the CAs the server's certificate is checked "
        "against; the system's when unset.",
    )
    smtp_username: str | None = Field(
        default=None, description="Login name; with the password, AUTH on connect."
    )
    smtp_password: SecretStr | None = Field(
        default=None, description="Login password; never logged."
    )
    smtp_helo_name: str | None = Field(
        default=None,
        description="Name given in EHLO; this host's FQDN when unset.",
    )
    smtp_timeout: float = Field(
        default=30.0, gt=0, description="Seconds to wait for a connection or a reply."
    )
    smtp_pool_size: int = Field(
        default=4, ge=1, description="SMTP connections kept open and reused."
    )
    smtp_idle_check: float = Field(
        default=30.0,
        ge=0,
        description="A connection idle longer than this many seconds is "
        "checked with NOOP before reuse.",
    )
    smtp_retries: int = Field(
        default=4,
        ge=0,
        description="Retries of an email after a 4xx reply or a connection error.",
    )
    smtp_backoff_base: float = Field(
        default=1.0, ge=0, description="Seconds before the first retry; doubling."
    )
    smtp_backoff_max: float = Field(
        default=60.0, ge=0, description="Longest wait between two retries, seconds."
    )
    smtp_backoff_jitter: float = Field(
        default=0.1,
        ge=0,
        le=1,
        description="Largest share by which a retry's wait is lengthened or "
        "shortened at random, so notifiers that failed together retry apart.",
    )
    envelope_sender: str | None = Field(
        default=None,
        description="Envelope sender (MAIL FROM) where bounces go; the "
        "creditor's From address when unset.",
    )
    bounce_host: str = Field(
        default="127.0.0.1", description="Address the inbound bounce endpoint binds."
    )
    bounce_port: int = Field(
        default=2526,
        ge=0,
        le=65535,
        description="Port of the inbound SMTP endpoint for bounce reports; 0: off.",
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
    contact_lease: float = Field(
        default=300.0,
        gt=0,
        description="Seconds a process holds a contact it is trying; after a "
        "crash another takes it over then. Keep it above the longest try: "
        "(smtp_retries + 1) x smtp_timeout plus the backoff.",
    )
    bind_interval: float = Field(
        default=60.0,
        gt=0,
        description="Seconds between looks for a finished day's letters to bind.",
    )
