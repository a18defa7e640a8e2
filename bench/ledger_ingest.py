"""How fast the ledger turns inbound facts into published events, against plain Kafka.

    .venv/bin/python bench/ledger_ingest.py [-n 50000] [--runs 3]

Needs the local stack (`overdue infra up`); the ledger runs on its PostgreSQL.
Each run does, in this order:

- baseline: the same N messages produced to a fresh topic with the project's
  producer settings and consumed back by a plain aiokafka consumer;
- ledger: `overdue ledger serve` on a fresh PostgreSQL database, N inbound
  `invoice.issued` and `payment.received` facts published to `ledger.inbound`,
  timed until the N events they cause are all on `ledger.events`.

It prints events per second for both, their ratio, and the medians over runs.
"""

import argparse
import asyncio
import logging
import os
import statistics
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from aiokafka import AIOKafkaConsumer, TopicPartition
from common import produce, start_service, stop, throwaway_topic
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from shared.devstack.state import endpoints
from shared.devstack.topics import end_offsets, skip_to_end
from shared.events import Envelope
from shared.events.inbound import (
    InboundDebtorUpserted,
    InboundInvoiceIssued,
    InboundPaymentReceived,
)
from shared.topics import LEDGER_EVENTS, LEDGER_INBOUND
from tests.support.databases import fresh_postgres_database

console = Console()
DEBTORS = 1_000
WAIT_SECONDS = 900.0


@dataclass
class Figures:
    baseline: float
    ledger: float

    @property
    def ratio(self) -> float:
        return self.ledger / self.baseline


def inbound_facts(creditor: str, count: int) -> Iterator[Envelope]:
    """Alternately an invoice and a payment of it, spread over DEBTORS debtors."""
    issued = date(2026, 1, 5)
    occurred = datetime(2026, 1, 5, 10, tzinfo=UTC)
    for index in range(count):
        debtor = f"d-{index // 2 % DEBTORS:05d}"
        number = f"INV-{index // 2:06d}"
        payload: InboundInvoiceIssued | InboundPaymentReceived
        if index % 2 == 0:
            payload = InboundInvoiceIssued(
                number=number,
                issued_on=issued,
                due_on=issued + timedelta(days=14),
                currency="EUR",
                amount=Decimal("120.00"),
            )
        else:
            payload = InboundPaymentReceived(
                payment_id=f"PAY-{index // 2:06d}",
                currency="EUR",
                amount=Decimal("120.00"),
                received_on=issued + timedelta(days=10),
                invoice=number,
            )
        yield Envelope.wrap(
            payload, creditor=creditor, debtor=debtor, occurred_at=occurred
        )


async def count_until(
    bootstrap: str, topic: str, start: dict[int, int], wanted: int, key_prefix: bytes
) -> None:
    """Read `topic` from `start` until `wanted` records with `key_prefix` arrived."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, p) for p in start]
        consumer.assign(partitions)
        for tp in partitions:
            consumer.seek(tp, start[tp.partition])
        seen = 0
        deadline = time.monotonic() + WAIT_SECONDS
        while seen < wanted:
            if time.monotonic() > deadline:
                raise SystemExit(f"only {seen} of {wanted} records arrived on {topic}")
            batches = await consumer.getmany(timeout_ms=500, max_records=5_000)
            for records in batches.values():
                seen += sum(1 for r in records if (r.key or b"").startswith(key_prefix))
    finally:
        await consumer.stop()


async def baseline(bootstrap: str, records: list[tuple[bytes, bytes]]) -> float:
    """Plain aiokafka: produce the records to a fresh topic, consume them all back."""
    async with throwaway_topic(bootstrap, "bench.baseline") as topic:
        start = {p: 0 for p in range(6)}
        began = time.perf_counter()
        await produce(bootstrap, topic, records)
        await count_until(bootstrap, topic, start, len(records), b"")
        elapsed = time.perf_counter() - began
    return len(records) / elapsed


def prepare_ledger(database_url: str, creditor: str) -> None:
    """Migrate a fresh database, add the creditor and its debtors (not timed)."""
    from services.ledger.service import CreditorProfile, Ledger
    from shared.clock import SystemClock
    from shared.db.engine import make_engine
    from shared.db.migrations import upgrade

    upgrade("ledger", database_url)
    ledger = Ledger(make_engine(database_url), SystemClock())
    profile = CreditorProfile.model_validate(
        {
            "legal_name": "Bench Supplies GmbH",
            "address": {"lines": ["Bench"], "city": "Berlin", "country": "DE"},
            "country": "DE",
            "timezone": "Europe/Berlin",
            "currency": "EUR",
            "language": "de",
            "branding": {"sender_name": "Bench", "sender_email": "ar@bench.example"},
            "payment_link": "https://pay.bench.example/",
        }
    )
    ledger.add_creditor(profile, creditor_id=creditor)
    occurred = datetime(2026, 1, 5, 9, tzinfo=UTC)
    debtors = [
        Envelope.wrap(
            InboundDebtorUpserted(name=f"Debtor {n}"),
            creditor=creditor,
            debtor=f"d-{n:05d}",
            occurred_at=occurred,
        )
        for n in range(DEBTORS)
    ]
    ledger.record_many(creditor, debtors)


def ledger_run(bootstrap: str, envelopes: list[Envelope], creditor: str) -> float:
    group = f"bench-ledger-{uuid.uuid4().hex[:8]}"
    with fresh_postgres_database() as database_url:
        prepare_ledger(database_url, creditor)
        asyncio.run(skip_to_end(bootstrap, group, LEDGER_INBOUND.name))
        ledger = start_service("ledger", bootstrap, database_url, group)
        try:
            records = [(e.key.encode(), e.to_bytes()) for e in envelopes]
            start = asyncio.run(end_offsets(bootstrap, LEDGER_EVENTS.name))

            cpu_before = cpu_seconds()
            began = time.perf_counter()
            asyncio.run(produce(bootstrap, LEDGER_INBOUND.name, records))
            asyncio.run(
                count_until(
                    bootstrap,
                    LEDGER_EVENTS.name,
                    start,
                    len(envelopes),
                    f"{creditor}/".encode(),
                )
            )
            elapsed = time.perf_counter() - began
            CPU_SPENT.append(spent_since(cpu_before))
        finally:
            stop(ledger)
    return len(envelopes) / elapsed


CPU_SPENT: list[dict[str, float]] = []


def cpu_seconds() -> dict[tuple[int, str], float]:
    """CPU seconds used so far by every process of the stack, by pid and role."""
    tick = os.sysconf("SC_CLK_TCK")
    used: dict[tuple[int, str], float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        role = _role(argv)
        if role:
            used[(int(entry.name), role)] = (int(fields[11]) + int(fields[12])) / tick
    return used


def _role(argv: str) -> str | None:
    for needle, role in (
        ("ledger relay", "ledger relay"),
        ("ledger serve", "ledger serve"),
        ("kafka.Kafka", "kafka"),
        ("postgres", "postgresql"),
        ("ledger_ingest", "benchmark"),
    ):
        if needle in argv:
            return role
    return None


def spent_since(before: dict[tuple[int, str], float]) -> dict[str, float]:
    spent: dict[str, float] = {}
    for (pid, role), seconds in cpu_seconds().items():
        spent[role] = spent.get(role, 0.0) + seconds - before.get((pid, role), 0.0)
    return spent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "-n", "--events", type=int, default=50_000, help="facts per run"
    )
    parser.add_argument("--runs", type=int, default=3, help="runs; medians are quoted")
    parser.add_argument(
        "--where",
        action="store_true",
        help="also print the CPU time each process of the stack spent",
    )
    args = parser.parse_args()
    bootstrap = endpoints().kafka_bootstrap
    logging.basicConfig(level=logging.ERROR)  # aiokafka's retries are not news here

    figures: list[Figures] = []
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TimeElapsedColumn(),
        console=console,
    ) as progress:
        task = progress.add_task("runs", total=args.runs)
        for run in range(args.runs):
            creditor = f"bench-{uuid.uuid4().hex[:8]}"
            envelopes = list(inbound_facts(creditor, args.events))
            records = [(e.key.encode(), e.to_bytes()) for e in envelopes]
            progress.update(task, description=f"run {run + 1}: baseline")
            plain = asyncio.run(baseline(bootstrap, records))
            progress.update(task, description=f"run {run + 1}: ledger")
            ledger = ledger_run(bootstrap, envelopes, creditor)
            figures.append(Figures(plain, ledger))
            progress.advance(task)

    table = Table(title=f"ledger ingest, {args.events:,} events per run")
    table.add_column("run", justify="right")
    table.add_column("plain aiokafka (events/s)", justify="right")
    table.add_column("ledger (events/s)", justify="right")
    table.add_column("ratio", justify="right")
    for run, figure in enumerate(figures, 1):
        table.add_row(
            str(run),
            f"{figure.baseline:,.0f}",
            f"{figure.ledger:,.0f}",
            f"{figure.ratio:.2f}",
        )
    table.add_row(
        "median",
        f"{statistics.median(f.baseline for f in figures):,.0f}",
        f"{statistics.median(f.ledger for f in figures):,.0f}",
        f"{statistics.median(f.ratio for f in figures):.2f}",
    )
    console.print(table)
    if args.where:
        where = Table(title="CPU seconds spent while the ledger was timed")
        where.add_column("run", justify="right")
        roles = sorted({role for spent in CPU_SPENT for role in spent})
        for role in roles:
            where.add_column(role, justify="right")
        for run, spent in enumerate(CPU_SPENT, 1):
            where.add_row(str(run), *(f"{spent.get(r, 0.0):.1f}" for r in roles))
        console.print(where)
    console.print("target: a ratio of at least 0.25 with PostgreSQL")


if __name__ == "__main__":
    main()
