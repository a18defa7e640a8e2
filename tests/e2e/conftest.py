"""The three services as `overdue up` runs them, on a virtual clock of the tests.

One `overdue up` serves the module: its own `var/` folder, free ports, a
clock file, fresh databases and consumer groups that start at the end of
their topics, so nothing another test or run left on the shared stack
reaches it. `overdue down` stops it afterwards, whatever happened.

`overdue up` runs as the user runs it, a process of its own; the commands
after it (`clock`, `ledger add-creditor`, `down`) run in this process through
the same command-line code, sparing each the seconds of start-up.
"""

import email
import email.policy
import json
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from typer.testing import CliRunner

from shared.cli import app as overdue_app
from shared.devstack.services import SERVICES
from shared.devstack.state import endpoints
from tests.support.databases import fresh_postgres_database

OVERDUE = Path(sys.executable).with_name("overdue")
ROOT = Path(__file__).resolve().parents[2]
POLICY = ROOT / "policies" / "standard-b2b.yaml"
TIMEOUT = 45.0

Found = TypeVar("Found")


@dataclass
class Up:
    """What `overdue up` started for the tests, and how to reach it."""

    urls: dict[str, str]
    clock: Path
    env: dict[str, str]
    databases: dict[str, str]
    var: Path

    def overdue(self, *args: str) -> str:
        """Run an `overdue` command as a user of this `up` would; its output."""
        done = subprocess.run(
            [str(OVERDUE), *args],
            capture_output=True,
            text=True,
            env=self.env,
            check=False,
            timeout=120,
        )
        assert done.returncode == 0, (
            f"`overdue {' '.join(args)}` failed:\n{done.stdout}{done.stderr}"
        )
        return done.stdout

    def command(self, *args: str) -> str:
        """Run an `overdue` command in this process, in this `up`'s environment:
        the same code as the command line, without its seconds of start-up."""
        done = CliRunner().invoke(overdue_app, list(args), env=self.env)
        assert done.exit_code == 0, f"`overdue {' '.join(args)}` failed:\n{done.output}"
        return done.output

    def log(self, service: str) -> str:
        return (self.var / "log" / f"{service}.log").read_text(errors="replace")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def up(
    tmp_path_factory: pytest.TempPathFactory, kafka_bootstrap: str, kafka_topics: None
) -> Iterator[Up]:
    folder = tmp_path_factory.mktemp("up")
    stack = endpoints()
    run = uuid.uuid4().hex[:10]
    with ExitStack() as cleanup:
        databases = {
            name: cleanup.enter_context(fresh_postgres_database(migrated_for=name))
            for name in SERVICES
        }
        env = {
            **os.environ,
            "OVERDUE_VAR_DIR": str(folder / "var"),
            "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
            "DATABASE_URL": stack.database_url,
            "OVERDUE_SMTP_HOST": stack.smtp_host,
            "OVERDUE_SMTP_PORT": str(stack.smtp_port),
            "OVERDUE_BOUNCE_PORT": "0",
            "OVERDUE_LOG_FORMAT": "text",
            "OVERDUE_CLOCK": str(folder / "clock"),
        }
        for name in SERVICES:
            env[f"OVERDUE_{name.upper()}_DATABASE_URL"] = databases[name]
            env[f"OVERDUE_{name.upper()}_CONSUMER_GROUP"] = f"overdue-{name}-e2e-{run}"
        ports = {name: _free_port() for name in SERVICES}
        started = Up(
            urls={name: f"http://127.0.0.1:{port}" for name, port in ports.items()},
            clock=folder / "clock",
            env=env,
            databases=databases,
            var=folder / "var",
        )
        started.command("clock", "set", "2027-03-01T08:00:00+01:00")
        cleanup.callback(started.command, "down")
        started.overdue(
            "up",
            "--from-end",
            *(f"--{name}-port={port}" for name, port in ports.items()),
        )
        yield started


# -- a creditor of one test, and what the services show of it ----------------------


@dataclass
class Creditor:
    id: str
    key: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}


@pytest.fixture
def creditor(up: Up) -> Creditor:
    """A creditor with the standard policy, added with the ledger's commands."""
    creditor = f"e2e-{uuid.uuid4().hex[:8]}"
    database = up.databases["ledger"]
    added = up.command(
        *("ledger", "add-creditor", creditor, "--name", "ACME Supplies GmbH"),
        *("--country", "DE", "--currency", "EUR", "--timezone", "Europe/Berlin"),
        *("--address", "ACME Supplies GmbH", "--address", "Industriestr. 5"),
        *("--postcode", "20095", "--city", "Hamburg", "--language", "en"),
        *("--sender-email", "billing@acme.example", "--iban", "DE89370400440532013000"),
        *("--database", database),
    )
    up.command("ledger", "set-policy", creditor, str(POLICY), "--database", database)
    return Creditor(creditor, added.strip().splitlines()[-1])


def post(url: str, body: dict[str, Any], creditor: Creditor) -> dict[str, Any]:
    answer = httpx.post(url, json=body, headers=creditor.auth, timeout=10)
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


def eventually(look: Callable[[], Found | None], what: str) -> Found:
    """The first thing `look` finds (not None, not empty) within the timeout;
    else fail naming `what`."""
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        found = look()
        if found:
            return found
        time.sleep(0.3)
    raise AssertionError(f"no {what} within {TIMEOUT:.0f} s")


def emails_to(address: str) -> list[EmailMessage]:
    """The messages the SMTP sink holds for `address`, in the order they came."""
    found = []
    for path in sorted(endpoints().outbox_dir.glob("*.eml")):
        raw = path.read_bytes()
        if address.encode() not in raw:
            continue
        message = email.message_from_bytes(raw, policy=email.policy.default)
        if address in str(message["X-Envelope-To"]):
            found.append(message)
    return [m for m in found if isinstance(m, EmailMessage)]


def parts(message: EmailMessage) -> dict[str, str]:
    """The plain text and the HTML of a message, by content type."""
    return {
        part.get_content_type(): str(part.get_content())
        for part in message.walk()
        if part.get_content_type() in ("text/plain", "text/html")
    }


def dump(document: Any) -> str:
    return json.dumps(document, indent=2, default=str)
