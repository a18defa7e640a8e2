"""`make demo`: 120 days of one creditor's collections, simulated on the real stack.

Runs `overdue simulate examples/demo/scenario.yaml` over the running Kafka,
sending every email through the local SMTP sink, then prints what the
timeline adds up to (contacts per template and channel, failures, cases
resolved and escalated, money recovered; see `shared.devstack.summary`) and
where to look: the sink's outbox, the letters and print batches, the agency's
case files and the timeline itself. It starts and stops nothing: the Makefile
brings the stack up before it and down after it, whatever it returns.
"""

import argparse
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path

from rich.console import Console
from rich.table import Table

from shared.devstack.paths import paths, repo_root
from shared.devstack.state import endpoints
from shared.devstack.summary import Payment, Summary, read_timeline, summarize
from shared.events.inbound import InboundPaymentReceived
from shared.simulation.scenario import load_scenario

DEMO = Path("examples") / "demo"
SCENARIO = DEMO / "scenario.yaml"
BRANDING = DEMO / "branding"
"""The notifier's template overrides: one folder per creditor id."""

console = Console()


def main(argv: Sequence[str] | None = None) -> int:
    options = parse(argv)
    root = repo_root()
    scenario = root / SCENARIO
    artifacts = (options.artifacts or paths().var / "demo").resolve()
    timeline = artifacts / "timeline.jsonl"
    where = endpoints()
    smtp = f"{where.smtp_host}:{where.smtp_port}"

    console.rule("overdue demo: Kranich & Voss, 40 debtors, 120 days")
    clear(artifacts)
    outbox_before = emails_in(where.outbox_dir)
    started = time.monotonic()
    command = [
        str(Path(sys.executable).with_name("overdue")),
        "simulate",
        str(scenario),
        "--broker",
        "kafka",
        "--smtp",
        smtp,
        "--artifacts",
        str(artifacts),
        "--out",
        str(timeline),
        "--templates",
        str(root / BRANDING),
    ]
    console.print(
        f"$ overdue simulate {SCENARIO} --broker kafka --smtp {smtp} "
        f"--artifacts {_shown(artifacts)} --out {_shown(timeline)} "
        f"--templates {BRANDING}",
        highlight=False,
        soft_wrap=True,
    )
    done = subprocess.run(command, cwd=root, check=False)
    if done.returncode != 0:
        console.print(f"[red]overdue simulate failed (exit {done.returncode})[/red]")
        return done.returncode
    seconds = time.monotonic() - started

    summary = summarize(read_timeline(timeline), scenario_payments(scenario))
    show_summary(summary, seconds)
    new_emails = emails_in(where.outbox_dir) - outbox_before
    show_files(artifacts, timeline, where.outbox_dir, len(new_emails))
    return 0


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--artifacts",
        type=Path,
        help="where letters, agency files and the timeline go (default: var/demo)",
    )
    return parser.parse_args(argv)


def clear(artifacts: Path) -> None:
    """Remove what an earlier demo left, so that every file shown is this run's."""
    for name in ("emails", "letters", "agency"):
        shutil.rmtree(artifacts / name, ignore_errors=True)
    (artifacts / "timeline.jsonl").unlink(missing_ok=True)
    artifacts.mkdir(parents=True, exist_ok=True)


def emails_in(outbox: Path) -> set[Path]:
    return set(outbox.glob("*.eml")) if outbox.is_dir() else set()


def scenario_payments(scenario: Path) -> list[Payment]:
    """The payments the scenario records, with their moments, as the simulation
    reads them."""
    return [
        Payment(event.debtor, event.at, event.fact.amount, event.fact.currency)
        for event in load_scenario(scenario).events
        if isinstance(event.fact, InboundPaymentReceived)
    ]


def show_summary(summary: Summary, seconds: float) -> None:
    contacts = Table(title="Contacts sent, by template and channel")
    contacts.add_column("template")
    for column in ("email", "letter", "total"):
        contacts.add_column(column, justify="right")
    for template in summary.templates():
        email = summary.contacts[(template, "email")]
        letter = summary.contacts[(template, "letter")]
        contacts.add_row(template, _count(email), _count(letter), str(email + letter))
    email_total = sum(n for (_, c), n in summary.contacts.items() if c == "email")
    letter_total = sum(n for (_, c), n in summary.contacts.items() if c == "letter")
    contacts.add_section()
    contacts.add_row(
        "all", str(email_total), str(letter_total), str(email_total + letter_total)
    )
    console.print(contacts)

    if summary.failed:
        failed = Table(title="Contacts that failed, by reason")
        for column in ("reason", "channel", "contacts"):
            failed.add_column(column)
        for (reason, channel), count in sorted(summary.failed.items()):
            failed.add_row(reason, channel, str(count))
        console.print(failed)

    cases = Table(title="Cases", show_header=False)
    cases.add_column("what")
    cases.add_column("how many", justify="right")
    cases.add_row("debtors contacted", str(summary.debtors_contacted))
    cases.add_row("cases resolved", str(summary.resolved))
    cases.add_row("cases escalated to the agency", str(summary.escalated))
    cases.add_row("still open at the end", str(summary.open_at_end))
    cases.add_row("with the agency at the end", str(summary.with_agency_at_end))
    cases.add_row("recovered while in collection", _money(summary.recovered))
    cases.add_row(
        "recovered after the hand-off", _money(summary.recovered_after_escalation)
    )
    console.print(cases)
    console.print(f"Simulated 120 days in {seconds:.0f} s.")


def show_files(artifacts: Path, timeline: Path, outbox: Path, emails: int) -> None:
    letters = sorted(artifacts.glob("letters/*/*/letters/*.pdf"))
    batches = sorted(artifacts.glob("letters/*/*/batch-*.pdf"))
    agency = sorted(artifacts.glob("agency/*/*.json"))
    rows = [
        ("timeline", timeline, ""),
        ("emails", outbox, f"{emails} received by the SMTP sink"),
        (
            "letters",
            artifacts / "letters",
            f"{len(letters)} letters, {len(batches)} daily print batches "
            "with their manifests",
        ),
        ("agency files", artifacts / "agency", f"{len(agency)} case files"),
    ]
    console.print("Where to look:")
    for name, path, what in rows:
        line = f"  {name:<13} {_shown(path)}" + (f"  ({what})" if what else "")
        console.print(line, highlight=False, soft_wrap=True)


def _shown(path: Path) -> Path:
    """A path under the working directory as a relative one, others whole."""
    try:
        return path.resolve().relative_to(Path.cwd().resolve())
    except ValueError:
        return path


def _count(n: int) -> str:
    return str(n) if n else ""


def _money(amounts: dict[str, Decimal]) -> str:
    """`EUR 12,345.00`, one currency after another."""
    if not amounts:
        return "0.00"
    return ", ".join(
        f"{code} {amount:,.2f}" for code, amount in sorted(amounts.items())
    )


if __name__ == "__main__":
    sys.exit(main())
