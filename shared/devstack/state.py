"""What `overdue infra up` started and where it listens, kept in `var/run/infra.json`.

Every other command and the tests ask `endpoints()` where to connect: the
user's environment first, then this file, then the defaults.
"""

import json
import os
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, TypeVar

from shared.devstack.paths import Paths, paths
from shared.devstack.settings import InfraSettings, external_database, external_kafka


@dataclass
class KafkaState:
    bootstrap: str
    pid: int | None = None
    started_by_us: bool = False
    running: bool = False


@dataclass
class PostgresState:
    url: str
    port: int | None = None
    pid: int | None = None
    data_dir: str | None = None
    started_by_us: bool = False
    running: bool = False


@dataclass
class SmtpState:
    host: str
    port: int
    outbox: str
    pid: int | None = None
    started_by_us: bool = False
    running: bool = False


@dataclass
class InfraState:
    """The whole file; a part is absent until `up` has dealt with it once."""

    kafka: KafkaState | None = None
    postgres: PostgresState | None = None
    smtp: SmtpState | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        document: dict[str, Any] = {
            name: asdict(part)
            for name, part in (
                ("kafka", self.kafka),
                ("postgres", self.postgres),
                ("smtp", self.smtp),
            )
            if part is not None
        }
        document.update(self.extra)
        return json.dumps(document, indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_json(cls, text: str) -> "InfraState":
        document = json.loads(text)
        if not isinstance(document, dict):
            raise ValueError("infra.json must hold an object")
        known = {"kafka", "postgres", "smtp"}
        return cls(
            kafka=_part(KafkaState, document.get("kafka")),
            postgres=_part(PostgresState, document.get("postgres")),
            smtp=_part(SmtpState, document.get("smtp")),
            extra={k: v for k, v in document.items() if k not in known},
        )


Part = TypeVar("Part", KafkaState, PostgresState, SmtpState)


def _part(kind: type[Part], raw: object) -> Part | None:
    # Unknown keys are dropped so an older or newer file still loads.
    if not isinstance(raw, dict):
        return None
    names = {f.name for f in fields(kind)}
    return kind(**{k: v for k, v in raw.items() if k in names})


def load(layout: Paths | None = None) -> InfraState:
    """The recorded state; an empty one when the file is missing or unreadable."""
    state_file = (layout or paths()).state_file
    try:
        return InfraState.from_json(state_file.read_text())
    except (OSError, ValueError, TypeError):
        return InfraState()


def save(state: InfraState, layout: Paths | None = None) -> Path:
    """Write the state atomically, so a reader never sees half a file."""
    state_file = (layout or paths()).state_file
    state_file.parent.mkdir(parents=True, exist_ok=True)
    temporary = state_file.with_suffix(f".{os.getpid()}.tmp")
    temporary.write_text(state.to_json())
    os.replace(temporary, state_file)
    return state_file


def postgres_url(host: str, port: int) -> str:
    return f"postgresql+psycopg://overdue@{host}:{port}/overdue"


@dataclass(frozen=True)
class Endpoints:
    """Where each part of the stack answers."""

    kafka_bootstrap: str
    database_url: str
    smtp_host: str
    smtp_port: int
    outbox_dir: Path


def endpoints(layout: Paths | None = None) -> Endpoints:
    """Environment overrides first, else what `up` recorded, else the defaults."""
    layout = layout or paths()
    recorded = load(layout)
    defaults = InfraSettings()

    kafka = external_kafka() or (
        recorded.kafka.bootstrap
        if recorded.kafka
        else f"{defaults.host}:{defaults.kafka_port}"
    )
    database = external_database() or (
        recorded.postgres.url
        if recorded.postgres
        else postgres_url(defaults.host, defaults.postgres_port)
    )
    if recorded.smtp:
        smtp_host, smtp_port = recorded.smtp.host, recorded.smtp.port
        outbox = Path(recorded.smtp.outbox)
    else:
        smtp_host, smtp_port, outbox = defaults.host, defaults.smtp_port, layout.outbox
    return Endpoints(
        kafka_bootstrap=kafka,
        database_url=database,
        smtp_host=smtp_host,
        smtp_port=smtp_port,
        outbox_dir=outbox,
    )
