"""Where the local stack keeps its files: everything lives under one `var/` folder."""

import os
from dataclasses import dataclass
from pathlib import Path

VAR_DIR_ENV = "OVERDUE_VAR_DIR"


def repo_root(start: Path | None = None) -> Path:
    """The nearest folder holding `pyproject.toml`, upward from `start` (the cwd).

    Outside a checkout, the folder the `shared` package was installed from.
    """
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "pyproject.toml").is_file():
            return folder
    return Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Paths:
    """The layout of `var/`, one attribute per file or folder the stack touches."""

    var: Path

    @property
    def log(self) -> Path:
        return self.var / "log"

    @property
    def run(self) -> Path:
        return self.var / "run"

    @property
    def state_file(self) -> Path:
        return self.run / "infra.json"

    @property
    def kafka(self) -> Path:
        return self.var / "kafka"

    @property
    def kafka_libs(self) -> Path:
        return self.kafka / "libs"

    @property
    def kafka_data(self) -> Path:
        return self.kafka / "data"

    @property
    def kafka_properties(self) -> Path:
        return self.kafka / "server.properties"

    @property
    def kafka_pid(self) -> Path:
        return self.run / "kafka.pid"

    @property
    def kafka_log(self) -> Path:
        return self.log / "kafka.log"

    @property
    def postgres(self) -> Path:
        return self.var / "postgres"

    @property
    def postgres_log(self) -> Path:
        return self.log / "postgres.log"

    @property
    def outbox(self) -> Path:
        return self.var / "outbox"

    @property
    def smtp_pid(self) -> Path:
        return self.run / "smtp.pid"

    @property
    def smtp_log(self) -> Path:
        return self.log / "smtp.log"

    def ensure(self) -> None:
        """Create the folders every part writes into."""
        for folder in (self.log, self.run, self.kafka, self.outbox):
            folder.mkdir(parents=True, exist_ok=True)


def paths(start: Path | None = None) -> Paths:
    """The stack's layout: `$OVERDUE_VAR_DIR`, else `<repo root>/var`."""
    configured = os.environ.get(VAR_DIR_ENV)
    if configured:
        return Paths(Path(configured).expanduser().resolve())
    return Paths(repo_root(start) / "var")
