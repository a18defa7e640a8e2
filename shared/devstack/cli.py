"""`overdue infra` commands: the local Kafka, PostgreSQL and SMTP sink."""

import asyncio

import typer
from rich.console import Console
from rich.table import Table

from shared.devstack import kafka, stack
from shared.devstack.errors import InfraError
from shared.devstack.paths import paths
from shared.devstack.state import endpoints
from shared.devstack.topics import ensure_topics
from shared.settings import CommonSettings

app = typer.Typer(help="Start, stop and inspect the local stack.", no_args_is_help=True)
console = Console()


def _table(title: str, reports: list[stack.PartReport]) -> Table:
    table = Table(title=title)
    table.add_column("part")
    table.add_column("listens on", overflow="fold")
    table.add_column("answering")
    table.add_column("pid", justify="right")
    table.add_column("note")
    for report in reports:
        table.add_row(
            report.part,
            report.address,
            _answering(report.answering),
            str(report.pid or "-"),
            report.note,
        )
    return table


def _answering(answering: bool | None) -> str:
    if answering is None:
        return "-"
    return "[green]yes[/green]" if answering else "[red]no[/red]"


def _fail(exc: InfraError) -> typer.Exit:
    console.print(f"[red]error:[/red] {exc}", markup=True, highlight=False)
    return typer.Exit(code=1)


@app.command()
def up() -> None:
    """Start Kafka, PostgreSQL and the SMTP sink where missing, and create topics.

    Waits until each part answers (Kafka: until a consumer group can commit).
    Already running parts are left as they are, so a second `up` is harmless.
    KAFKA_BOOTSTRAP_SERVERS or DATABASE_URL make it use that service instead
    of starting one. Ports: OVERDUE_INFRA_KAFKA_PORT (9092),
    OVERDUE_INFRA_KAFKA_CONTROLLER_PORT (9093), OVERDUE_INFRA_SMTP_PORT (2525).
    """
    layout = paths()
    try:
        with console.status("starting the local stack…"):
            reports = stack.up(layout)
    except InfraError as exc:
        raise _fail(exc) from None

    console.print(_table("overdue infra: up", reports))
    where = endpoints(layout)
    console.print(f"KAFKA_BOOTSTRAP_SERVERS={where.kafka_bootstrap}", highlight=False)
    console.print(f"DATABASE_URL={where.database_url}", highlight=False)
    console.print(f"SMTP: {where.smtp_host}:{where.smtp_port}", highlight=False)
    console.print(f"outbox: {where.outbox_dir}", highlight=False)
    console.print(f"state:  {layout.state_file}", highlight=False)
    console.print(f"logs:   {layout.log}", highlight=False)
    if all(report.note == stack.ALREADY_RUNNING for report in reports):
        console.print("everything was already running.")


@app.command()
def down(
    timeout: float = typer.Option(
        30.0, help="Seconds to wait for a graceful stop before killing."
    ),
) -> None:
    """Stop what `up` started, and nothing else.

    Kafka and the SMTP sink get SIGTERM, then SIGKILL after the timeout;
    PostgreSQL gets `pg_ctl stop -m fast`. Data under var/ is kept.
    """
    layout = paths()
    try:
        reports = stack.down(layout, timeout=timeout)
    except InfraError as exc:
        raise _fail(exc) from None
    console.print(_table("overdue infra: down", reports))


@app.command()
def status() -> None:
    """Show whether each part answers, and where.

    Exits with 1 when a part that `up` left running (or an external service it
    was told to use) does not answer; parts stopped by `down` are no failure.
    """
    reports, healthy = stack.status(paths())
    console.print(_table("overdue infra: status", reports))
    if not healthy:
        raise typer.Exit(code=1)


@app.command()
def fetch(
    force: bool = typer.Option(False, help="Copy the jars even if they are current."),
) -> None:
    """Copy Kafka's jars from Maven Central into var/kafka/libs.

    Skipped when the jars there came from the current pom; `up` fetches by
    itself, so run this alone only to warm the cache.
    """
    layout = paths()
    try:
        ran = kafka.fetch(layout, force=force)
    except InfraError as exc:
        raise _fail(exc) from None
    verdict = "fetched" if ran else "already current"
    console.print(f"Kafka jars {verdict} in {layout.kafka_libs}")


@app.command()
def topics(
    partitions: int = typer.Option(
        None,
        help="Partitions of each new topic [default: OVERDUE_TOPIC_PARTITIONS or 6].",
    ),
) -> None:
    """Create every topic and its `.dlq` twin on the configured cluster, and exit.

    Starts nothing: for a cluster someone else runs (KAFKA_BOOTSTRAP_SERVERS),
    such as the `init` step of docker-compose.yml. Existing topics are kept.
    """
    bootstrap = endpoints(paths()).kafka_bootstrap
    count = partitions or CommonSettings().topic_partitions
    try:
        created = asyncio.run(ensure_topics(bootstrap, count))
    except Exception as exc:  # any client error: say where, and stop
        console.print(f"[red]error:[/red] cannot create topics on {bootstrap}: {exc}")
        raise typer.Exit(code=1) from None
    console.print(
        f"{len(created)} topics created on {bootstrap}"
        + (f": {', '.join(created)}" if created else "; all already existed.")
    )
