"""`overdue simulate`: a scenario in, its timeline out (SPEC §7)."""

import asyncio
import enum
import logging
import sys
import tempfile
from datetime import datetime
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from sqlalchemy.engine import make_url

from shared.devstack.kafka import answers
from shared.devstack.settings import external_database, external_kafka
from shared.devstack.state import endpoints
from shared.simulation.bus import Bus, InProcessBus, KafkaBus
from shared.simulation.run import Outcome, Where, simulate
from shared.simulation.scenario import Scenario, ScenarioError, load_scenario
from shared.simulation.system import Mail
from shared.simulation.timeline import render

err = Console(stderr=True, soft_wrap=True)
"""Standard error, never wrapped: one problem, one line, whatever the width."""


class DatabaseChoice(enum.StrEnum):
    sqlite = "sqlite"
    postgres = "postgres"


class BrokerChoice(enum.StrEnum):
    auto = "auto"
    kafka = "kafka"
    memory = "memory"


def simulate_command(
    scenario_file: Path = typer.Argument(
        ..., metavar="SCENARIO.yaml", help="The scenario: creditor, debtors, events."
    ),
    out: Path | None = typer.Option(
        None,
        "--out",
        "-o",
        help="Where to write the timeline (JSON Lines); stdout if not given.",
    ),
    artifacts: Path | None = typer.Option(
        None,
        help="Keep every email (emails/), letter and print batch (letters/) and "
        "agency hand-off file (agency/) here; a temporary folder if not given.",
    ),
    days: int | None = typer.Option(None, min=1, help="Run this many days instead."),
    start: datetime | None = typer.Option(
        None,
        formats=["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M%z"],
        metavar="MOMENT",
        help="Start at this moment instead: ISO 8601 with its UTC offset, "
        "like 2026-03-02T08:00:00+01:00.",
    ),
    broker: BrokerChoice = typer.Option(
        BrokerChoice.auto,
        help="kafka: the real broker; memory: one inside this process; auto: "
        "Kafka when KAFKA_BOOTSTRAP_SERVERS is set or `overdue infra` is up.",
    ),
    kafka: str | None = typer.Option(
        None, help="Kafka's bootstrap servers, if not the configured ones."
    ),
    smtp: str | None = typer.Option(
        None,
        metavar="HOST:PORT",
        help="Send the emails to this SMTP server (e.g. the infra's sink) instead "
        "of one inside the simulation that stores them in artifacts/emails.",
    ),
    templates: Path | None = typer.Option(
        None,
        help="The creditor's template and branding overrides "
        "(a folder per creditor, as OVERDUE_TEMPLATE_OVERRIDES).",
    ),
    database: DatabaseChoice = typer.Option(
        DatabaseChoice.sqlite,
        help="sqlite: a file per service; postgres: a fresh database per service "
        "on the PostgreSQL of DATABASE_URL or `overdue infra`, dropped afterwards.",
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
) -> None:
    """Play a scenario through the three services on a virtual clock.

    The real ledger, scheduler and notifier run over a broker; every outward
    effect is written to the timeline, in time order. The same scenario
    always gives the same timeline, on either broker.
    """
    logging.basicConfig(level=logging.ERROR)
    try:
        scenario = load_scenario(scenario_file, start=start, days=days)
    except ScenarioError as error:
        err.print(str(error), markup=False, highlight=False)
        raise typer.Exit(2) from None

    bus = _bus(broker, kafka)
    mail = _mail(smtp) if smtp else None
    with tempfile.TemporaryDirectory(prefix="overdue-artifacts-") as scratch:
        where = Where(
            artifacts or Path(scratch),
            smtp=mail,
            templates=templates,
            postgres=_postgres() if database is DatabaseChoice.postgres else None,
        )
        outcome = asyncio.run(_run(scenario, bus, where, quiet=quiet))
        if out is None:
            sys.stdout.write(_text(outcome))
        else:
            outcome.timeline.write(out)
    for refusal in outcome.refusals:
        err.print(f"{scenario.source}: {refusal}", markup=False, highlight=False)
    _report(outcome, out, artifacts)


async def _run(scenario: Scenario, bus: Bus, where: Where, *, quiet: bool) -> Outcome:
    total = (scenario.end - scenario.start).total_seconds()
    with Progress(
        TextColumn("[bold]simulating[/] {task.description}"),
        BarColumn(),
        TextColumn("day {task.fields[day]} of {task.fields[days]}"),
        TimeElapsedColumn(),
        console=err,
        disable=quiet,
        transient=True,
    ) as bar:
        task = bar.add_task(scenario.source, total=total, day=0, days=scenario.days)

        def moved(moment: datetime) -> None:
            done = (moment - scenario.start).total_seconds()
            bar.update(task, completed=done, day=int(done // 86400))

        return await simulate(scenario, bus, where, progress=moved)


def _bus(choice: BrokerChoice, bootstrap: str | None) -> Bus:
    """The broker asked for, said on stderr: the timeline is the same on both."""
    if choice is BrokerChoice.memory:
        err.print("broker: in-process (no Kafka)")
        return InProcessBus()
    configured = bootstrap or external_kafka() or endpoints().kafka_bootstrap
    explicit = bool(bootstrap or external_kafka())
    if (
        choice is BrokerChoice.auto
        and not explicit
        and not asyncio.run(answers(configured))
    ):
        err.print(
            "broker: in-process (no Kafka answers; `overdue infra up` starts one)"
        )
        return InProcessBus()
    bus = KafkaBus(configured)
    err.print(f"broker: Kafka at {configured}, topics sim-{bus.run}.*")
    return bus


def _postgres() -> str:
    server = external_database() or endpoints().database_url
    err.print(f"databases: PostgreSQL at {make_url(server).render_as_string()}")
    return server


def _mail(address: str) -> Mail:
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        err.print(f"--smtp: expected HOST:PORT, got {address!r}")
        raise typer.Exit(2)
    return Mail(host, int(port))


def _text(outcome: Outcome) -> str:
    return render(outcome.timeline.lines())


def _report(outcome: Outcome, out: Path | None, artifacts: Path | None) -> None:
    lines = outcome.timeline.lines()
    kinds: dict[str, int] = {}
    for line in lines:
        kinds[line["kind"]] = kinds.get(line["kind"], 0) + 1
    counted = ", ".join(f"{n} {kind}" for kind, n in sorted(kinds.items())) or "nothing"
    err.print(
        f"timeline: {len(lines)} lines ({counted})" + (f" in {out}" if out else "")
    )
    if artifacts is not None:
        err.print(f"artifacts: {artifacts}")
