"""`overdue up`, `overdue ps` and `overdue down`: the three services, detached,
against the stack that `overdue infra up` runs."""

import os
from datetime import timedelta
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from shared.clock import SYSTEM, ClockError, read_offset, write_offset
from shared.clock_cli import default_clock_file
from shared.devstack import postgres, services
from shared.devstack.errors import InfraError
from shared.devstack.paths import Paths, paths
from shared.devstack.process import answers_tcp
from shared.devstack.state import Endpoints, endpoints

console = Console(highlight=False)


def _port(name: str) -> Any:
    return typer.Option(
        services.DEFAULT_PORTS[name],
        f"--{name}-port",
        envvar=f"OVERDUE_{name.upper()}_PORT",
        help=f"The {name}'s HTTP port.",
    )


def up(
    clock: str = typer.Option(
        SYSTEM,
        "--clock",
        envvar="OVERDUE_CLOCK",
        metavar="FILE|system",
        help="Run on the virtual clock kept in FILE (made at the real time when "
        "missing; move it with `overdue clock`), or on the system clock.",
    ),
    virtual_clock: bool = typer.Option(
        False, "--virtual-clock", help="Run on the virtual clock in var/clock."
    ),
    ledger_port: int = _port("ledger"),
    scheduler_port: int = _port("scheduler"),
    notifier_port: int = _port("notifier"),
    from_end: bool = typer.Option(
        False,
        "--from-end",
        help="Commit the services' consumer groups at the end of their topics "
        "first, so they skip what earlier runs and tests left there.",
    ),
    wait: float = typer.Option(
        services.WAIT_SECONDS, help="Seconds to wait for each /healthz."
    ),
) -> None:
    """Start the ledger, the scheduler and the notifier where they do not run.

    Each runs `overdue <service> serve` detached, against Kafka, PostgreSQL
    and the SMTP sink of `overdue infra up`, in a database of its own
    (`overdue_<service>` on that server, created when missing, migrated by the
    service; OVERDUE_<SERVICE>_DATABASE_URL names another). PID files and
    services.json go to var/run, logs to var/log/<service>.log. Returns once
    every /healthz answers. Services already running are left as they are, so a
    second `up` is harmless. Consumer groups are the services' own
    (OVERDUE_<SERVICE>_CONSUMER_GROUP, else overdue-<service>).
    """
    layout = paths()
    chosen = str(default_clock_file()) if virtual_clock else clock.strip()
    try:
        started = _up(
            layout,
            chosen,
            {
                "ledger": ledger_port,
                "scheduler": scheduler_port,
                "notifier": notifier_port,
            },
            from_end=from_end,
            wait=wait,
        )
    except InfraError as error:
        console.print(f"[red]error:[/red] {error}")
        raise typer.Exit(code=1) from None
    _show("overdue up", layout, started)


def _up(
    layout: Paths, clock: str, ports: dict[str, int], *, from_end: bool, wait: float
) -> set[str]:
    """Start what does not run; the names of the services started."""
    where = endpoints(layout)
    already = services.running(layout)
    clock = _prepared_clock(clock)
    for service in already.values():
        if service.clock != clock:
            raise InfraError(
                f"the {service.name} runs on the clock {service.clock}, not {clock}: "
                "`overdue down` first"
            )
    missing = [name for name in services.SERVICES if name not in already]
    if not missing:
        return set()

    _stack_answers(where)
    taken = services.taken({name: ports[name] for name in missing})
    if taken:
        held = ", ".join(f"{port} ({name})" for name, port in taken.items())
        raise InfraError(
            f"port {held} is taken: stop what holds it, or choose another with "
            "--<service>-port"
        )
    if from_end:
        services.start_at_the_end(
            where.kafka_bootstrap, {name: _group(name) for name in missing}
        )

    launched = {
        name: services.start(_launch(layout, where, name, ports[name], clock))
        for name in missing
    }
    services.record(layout, {**already, **launched})
    try:
        services.wait_healthy(list(launched.values()), timeout=wait)
    except InfraError:
        services.stop(layout, timeout=10, only=list(launched))
        raise
    return set(launched)


def _prepared_clock(clock: str) -> str:
    """`system`, or the clock file's absolute path, the file made when missing."""
    if clock in ("", SYSTEM):
        return SYSTEM
    path = Path(clock).expanduser().resolve()
    try:
        if read_offset(path) is None:
            write_offset(path, timedelta(0))
    except ClockError as error:
        raise InfraError(str(error)) from None
    return str(path)


def _stack_answers(where: Endpoints) -> None:
    host, _, port = where.kafka_bootstrap.split(",")[0].rpartition(":")
    if not answers_tcp(host, int(port)):
        raise InfraError(
            f"Kafka does not answer at {where.kafka_bootstrap}: `overdue infra up`"
        )
    if where.database_url.startswith("postgres") and not postgres.answers(
        where.database_url
    ):
        raise InfraError(
            f"PostgreSQL does not answer at {services.safe_url(where.database_url)}:"
            " `overdue infra up`"
        )


def _group(name: str) -> str:
    return os.environ.get(f"OVERDUE_{name.upper()}_CONSUMER_GROUP") or (
        os.environ.get("OVERDUE_CONSUMER_GROUP") or f"overdue-{name}"
    )


def _launch(
    layout: Paths, where: Endpoints, name: str, port: int, clock: str
) -> services.Launch:
    database = os.environ.get(
        f"OVERDUE_{name.upper()}_DATABASE_URL"
    ) or services.service_database(where.database_url, name, layout)
    env = {"OVERDUE_CLOCK": clock}
    if name == "notifier":
        env["OVERDUE_SMTP_HOST"] = os.environ.get("OVERDUE_SMTP_HOST", where.smtp_host)
        env["OVERDUE_SMTP_PORT"] = os.environ.get(
            "OVERDUE_SMTP_PORT", str(where.smtp_port)
        )
        env["OVERDUE_LETTERS_DIR"] = os.environ.get(
            "OVERDUE_LETTERS_DIR", str(layout.var / "letters")
        )
    return services.Launch(
        name=name,
        port=port,
        database=database,
        kafka=where.kafka_bootstrap,
        log=services.log_file(layout, name),
        env=env,
    )


def ps() -> None:
    """Show the services `overdue up` started: where they answer, their PID and log.

    Exits with 1 when one of them no longer runs or does not answer on /healthz.
    """
    layout = paths()
    known = services.recorded(layout)
    if not known:
        console.print("no services started by `overdue up`.")
        return
    alive = services.running(layout)
    table = _table("overdue ps")
    table.add_column("healthy")
    fine = True
    for name, service in known.items():
        healthy = name in alive and services.healthy(service.url)
        fine = fine and healthy
        table.add_row(
            name,
            service.url,
            str(service.pid) if name in alive else "-",
            service.log,
            "[green]yes[/green]" if healthy else "[red]no[/red]",
        )
    console.print(table)
    _show_clock(next(iter(known.values())).clock)
    if not fine:
        raise typer.Exit(code=1)


def down(
    timeout: float = typer.Option(
        15.0, help="Seconds to wait for a graceful stop before killing."
    ),
) -> None:
    """Stop the services `overdue up` started, and only those.

    Each gets SIGTERM, then SIGKILL after the timeout; nothing running is no
    error. Databases, logs and the clock file are kept.
    """
    stopped = services.stop(paths(), timeout=timeout)
    table = Table(title="overdue down")
    table.add_column("service")
    table.add_column("was running")
    for name, was in stopped.items():
        table.add_row(name, "yes" if was else "no")
    console.print(table)


def _table(title: str) -> Table:
    table = Table(title=title)
    for column in ("service", "url", "pid", "log"):
        table.add_column(column, overflow="fold")
    return table


def _show(title: str, layout: Paths, started: set[str]) -> None:
    table = _table(title)
    table.add_column("note")
    alive = services.running(layout)
    for name, service in alive.items():
        note = "started" if name in started else "already running"
        table.add_row(name, service.url, str(service.pid), service.log, note)
    console.print(table)
    for name, service in alive.items():
        console.print(f"  {name:<9} {service.url}/healthz  {service.url}/docs")
    _show_clock(next(iter(alive.values())).clock if alive else SYSTEM)


def _show_clock(clock: str) -> None:
    if clock == SYSTEM:
        console.print("clock: the system clock")
    else:
        console.print(f"clock: {clock} (move it with `overdue clock advance 1d`)")
        console.print(f"for commands on the same clock: export OVERDUE_CLOCK={clock}")
