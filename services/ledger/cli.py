"""`overdue ledger` commands."""

import asyncio
from pathlib import Path
from typing import Any

import typer
from babel.languages import get_official_languages
from pydantic import ValidationError
from rich.console import Console
from rich.progress import Progress

from services.ledger.app import DESCRIPTION, SERVICE, create_app
from services.ledger.domain.errors import LedgerError
from services.ledger.http.app import create_http
from services.ledger.imports.recording import import_open_items
from services.ledger.relay import CHILD_POLL_INTERVAL, relay_until_stopped
from services.ledger.service import CreditorProfile, Ledger
from services.ledger.settings import LedgerSettings
from shared.clock import clock_from_settings
from shared.db.engine import make_engine
from shared.db.migrations import upgrade
from shared.events.creditors import BankDetails, Branding
from shared.events.parties import PostalAddress
from shared.heap import settle_heap
from shared.logging import configure_logging
from shared.messaging.commands import add_service_commands, database_option
from shared.messaging.dlq import reason_for
from shared.policy import PolicyError, load_policy

app = typer.Typer(help="The ledger service.", no_args_is_help=True)
console = Console()

LETTER_COUNTRIES = frozenset({"US", "CA", "MX", "PH", "CL", "CO", "VE"})
"""Where letters are printed on US Letter rather than A4."""

DATABASE_OPTION = database_option(SERVICE)

add_service_commands(
    app,
    service=SERVICE,
    settings_cls=LedgerSettings,
    create_app=create_app,
    description=DESCRIPTION,
    create_http=create_http,
)


def _ledger(database: str | None) -> Ledger:
    """The ledger on its migrated database, as `--database` or the settings name it."""
    settings = LedgerSettings()
    url = database or settings.database_url
    upgrade(SERVICE, url)
    return Ledger(make_engine(url), clock_from_settings(settings))


def _refuse(message: str) -> typer.Exit:
    console.print(f"[red]error:[/red] {message}", highlight=False)
    return typer.Exit(code=1)


@app.command("add-creditor")
def add_creditor(
    creditor_id: str = typer.Argument(..., metavar="ID", help="The creditor's id."),
    name: str = typer.Option(..., "--name", help="Legal name, as on letters."),
    country: str = typer.Option(..., help="ISO 3166 country code, e.g. DE."),
    currency: str = typer.Option(..., help="ISO 4217 currency code, e.g. EUR."),
    timezone: str = typer.Option(..., help="IANA time zone, e.g. Europe/Berlin."),
    address: list[str] = typer.Option(
        ..., "--address", help="A postal address line; repeat for each line."
    ),
    city: str = typer.Option(..., help="City of the postal address."),
    postcode: str | None = typer.Option(None, help="Postcode of the postal address."),
    sender_email: str = typer.Option(..., help="The From address of its emails."),
    language: str | None = typer.Option(
        None, help="Language of its messages [default: the country's]."
    ),
    iban: str | None = typer.Option(None, help="IBAN debtors transfer to."),
    bic: str | None = typer.Option(None, help="BIC of that account."),
    payment_link: str | None = typer.Option(None, help="A page where debtors pay."),
    database: str | None = DATABASE_OPTION,
) -> None:
    """Create a creditor and print its first API key, once, on the last line."""
    try:
        profile = CreditorProfile(
            legal_name=name,
            address=PostalAddress(
                lines=address, postcode=postcode, city=city, country=country
            ),
            country=country,
            timezone=timezone,
            currency=currency,
            language=language or _official_language(country),
            paper="Letter" if country.upper() in LETTER_COUNTRIES else "A4",
            branding=Branding(sender_name=name, sender_email=sender_email),
            bank=BankDetails(account_holder=name, iban=iban, bic=bic) if iban else None,
            payment_link=payment_link,
        )
    except ValidationError as error:
        raise _refuse(reason_for(error)) from None

    try:
        created, key = _ledger(database).add_creditor(profile, creditor_id=creditor_id)
    except LedgerError as error:
        raise _refuse(str(error)) from None

    console.print(f"creditor {created} added; its API key, shown only this once:")
    typer.echo(key)


@app.command("set-policy")
def set_policy(
    creditor_id: str = typer.Argument(..., metavar="ID", help="The creditor's id."),
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="Policy YAML."),
    database: str | None = DATABASE_OPTION,
) -> None:
    """Check a policy file as `overdue policy check` does; make it the creditor's."""
    try:
        policy = load_policy(file)
    except PolicyError as error:
        for problem in error.problems:
            console.print(f"{file}: {problem}", highlight=False)
        raise typer.Exit(code=1) from None

    try:
        _ledger(database).set_policy(creditor_id, policy)
    except LedgerError as error:
        raise _refuse(str(error)) from None
    console.print(f"creditor {creditor_id} now collects by policy {policy.name}")


@app.command("import")
def import_file(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="CSV file."),
    creditor_id: str = typer.Option(..., "--creditor", help="The creditor's id."),
    database: str | None = DATABASE_OPTION,
) -> None:
    """Record an open-items CSV export whole, or nothing of it if a line is bad.

    The columns and formats are described in docs/csv-import.md.
    """
    ledger = _ledger(database)
    data = file.read_bytes()

    with Progress(console=console, transient=True) as progress:
        reading = progress.add_task(f"reading {file.name}", total=None)

        def advance(done: int, total: int) -> None:
            progress.update(reading, completed=done, total=total)

        report = import_open_items(ledger, creditor_id, data, progress=advance)

    if not report.ok:
        for problem in report.problems:
            console.print(f"{file}: {problem}", highlight=False)
        console.print(f"{len(report.problems)} problem(s): nothing was recorded.")
        raise typer.Exit(code=1)
    console.print(
        f"{file}: {report.recorded} facts recorded"
        + (f", {report.duplicates} already known" if report.duplicates else "")
    )


def _official_language(country: str) -> str:
    languages = get_official_languages(country.upper())
    return languages[0] if languages else "en"


@app.command("relay")
def relay(
    database: str | None = DATABASE_OPTION,
    kafka: str | None = typer.Option(
        None,
        "--kafka",
        metavar="HOST:PORT[,...]",
        help="Kafka bootstrap servers "
        "(env: OVERDUE_KAFKA_BOOTSTRAP_SERVERS, KAFKA_BOOTSTRAP_SERVERS).",
    ),
    poll_interval: float = typer.Option(
        CHILD_POLL_INTERVAL,
        "--poll-interval",
        min=0.001,
        help="Seconds between looks at an empty outbox.",
    ),
    parent: int | None = typer.Option(
        None, "--parent", metavar="PID", help="Stop when process PID ends."
    ),
    ready_fd: int | None = typer.Option(
        None,
        "--ready-fd",
        metavar="FD",
        help="Write a line to file descriptor FD, and close it, once publishing.",
    ),
) -> None:
    """Publish the ledger's outbox to Kafka until stopped (SIGTERM or Ctrl-C).

    `overdue ledger serve` runs this beside itself; run it alone to publish
    from a separate host, or with `OVERDUE_LEDGER_RELAY=in-process` serving.
    """
    overrides: dict[str, Any] = {
        "database_url": database,
        "kafka_bootstrap_servers": kafka,
    }
    settings = LedgerSettings(**{k: v for k, v in overrides.items() if v is not None})
    configure_logging(settings.log_level, settings.log_format)
    engine = make_engine(settings.database_url)
    settle_heap()
    try:
        asyncio.run(
            relay_until_stopped(
                engine,
                settings.kafka_bootstrap_servers,
                poll_interval=poll_interval,
                parent=parent,
                ready_fd=ready_fd,
            )
        )
    finally:
        engine.dispose()
