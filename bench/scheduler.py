"""How fast the scheduler follows the ledger and fires a morning's contacts.

    .venv/bin/python bench/scheduler.py [--debtors 100000] [--runs 3]

Needs the local stack (`overdue infra up`); the scheduler runs on its
PostgreSQL, as `overdue scheduler serve` in a process of its own. Each run:

1. baseline: the run's ledger events (a `debtor.upserted` and three
   `invoice.issued` per debtor) produced to a fresh topic, untimed, then read
   back by a plain aiokafka consumer, timed;
2. ingest: the same events produced to `ledger.events` while no scheduler
   runs, then `overdue scheduler serve` started on a fresh database and
   timed from its first committed offset to its last: events/s followed;
3. morning: a new policy for the creditor of `--due` debtors opens its send
   window, as a morning does; timed until their `--due` reminders are all on
   `collections.contacts`: timers fired/s;
4. the scheduler's peak memory (VmHWM), read before it is stopped.

With `--memory-check` a second, smaller run (a quarter of the debtors) is
made first, so the two peaks show whether memory grows with debtors.
"""

import argparse
import asyncio
import logging
import statistics
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from common import produce, start_service, stop, throwaway_topic
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from shared.devstack.state import endpoints
from shared.devstack.topics import end_offsets, skip_to_end
from shared.events import Envelope
from shared.events.examples import EXAMPLES
from shared.topics import (
    COLLECTIONS_CONTACTS,
    LEDGER_CREDITORS,
    LEDGER_EVENTS,
)
from tests.support.databases import fresh_postgres_database

console = Console()
INVOICES_PER_DEBTOR = 3
WAIT_SECONDS = 1800.0
WEEKDAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


@dataclass
class Figures:
    debtors: int
    events: int
    baseline: float
    ingest: float
    morning_seconds: float
    contacts: int
    peak_mib: float

    @property
    def ratio(self) -> float:
        return self.ingest / self.baseline

    @property
    def fired_per_second(self) -> float:
        return self.contacts / self.morning_seconds


# -- the run's events ---------------------------------------------------------


def closed_policy(today: date) -> dict[str, Any]:
    """The example policy, its window open only on a weekday three days away:
    while the events are followed, nothing falls due."""
    policy = dict(EXAMPLES["creditor.updated"]["policy"])
    policy.pop("pre_due", None)
    later = WEEKDAYS[(today.weekday() + 3) % 7]
    policy["send_window"] = {"start": "09:00", "end": "17:00", "days": [later]}
    policy["skip_holidays"] = False
    return policy


def open_policy() -> dict[str, Any]:
    """The same policy, its window open all day, every day: the morning."""
    policy = dict(EXAMPLES["creditor.updated"]["policy"])
    policy.pop("pre_due", None)
    policy["send_window"] = {"start": "00:00", "end": "23:59", "days": WEEKDAYS}
    policy["skip_holidays"] = False
    return policy


def creditor_updated(creditor: str, policy: dict[str, Any]) -> Envelope:
    data = dict(EXAMPLES["creditor.updated"]) | {"policy": policy}
    return Envelope(
        type="creditor.updated",
        occurred_at=datetime.now(UTC),
        creditor=creditor,
        data=data,
    )


def ledger_events(
    morning: str, quiet: str, debtors: int, due: int, today: date
) -> Iterator[Envelope]:
    """Per debtor a `debtor.upserted` and three invoices. The first `due`
    debtors belong to `morning` and owe one invoice overdue since ten days;
    every other invoice falls due in a month."""
    occurred = datetime.now(UTC)
    overdue_on = (today - timedelta(days=10)).isoformat()
    later_on = (today + timedelta(days=30)).isoformat()
    issued_on = (today - timedelta(days=24)).isoformat()
    for n in range(debtors):
        creditor = morning if n < due else quiet
        debtor = f"d-{n:06d}"
        yield Envelope(
            type="debtor.upserted",
            occurred_at=occurred,
            creditor=creditor,
            debtor=debtor,
            data={
                "name": f"Debtor {n}",
                "email": f"ap-{n}@debtor.example",
                "language": "de",
            },
        )
        for k in range(INVOICES_PER_DEBTOR):
            yield Envelope(
                type="invoice.issued",
                occurred_at=occurred,
                creditor=creditor,
                debtor=debtor,
                data={
                    "number": f"INV-{n:06d}-{k}",
                    "issued_on": issued_on,
                    "due_on": overdue_on if n < due and k == 0 else later_on,
                    "currency": "EUR",
                    "amount": "120.00",
                    "balance": "120.00",
                },
            )


# -- Kafka ----------------------------------------------------------------


async def baseline(bootstrap: str, records: list[tuple[bytes, bytes]]) -> float:
    """Plain aiokafka: the records on a fresh topic, consumed back and timed."""
    async with throwaway_topic(bootstrap, "bench.scheduler") as topic:
        await produce(bootstrap, topic, records)
        # No group: joining one takes seconds the scheduler's figure does not count.
        consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap,
            enable_auto_commit=False,
            max_poll_records=5_000,
        )
        await consumer.start()
        seen = 0
        try:
            partitions = [TopicPartition(topic, p) for p in range(6)]
            consumer.assign(partitions)
            await consumer.seek_to_beginning(*partitions)
            began = time.perf_counter()
            while seen < len(records):
                batches = await consumer.getmany(timeout_ms=500)
                seen += sum(len(batch) for batch in batches.values())
            elapsed = time.perf_counter() - began
        finally:
            await consumer.stop()
    return len(records) / elapsed


async def committed(bootstrap: str, group: str, topic: str) -> dict[int, int]:
    """The offsets `group` has committed on `topic`, by partition."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(group)
    finally:
        await admin.close()
    return {
        tp.partition: meta.offset for tp, meta in offsets.items() if tp.topic == topic
    }


async def caught_up(bootstrap: str, group: str, topic: str) -> None:
    """Wait until `group` has committed the end of `topic`."""
    end = await end_offsets(bootstrap, topic)
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        offsets = await committed(bootstrap, group, topic)
        if all(offsets.get(p, 0) >= o for p, o in end.items()):
            return
        if time.monotonic() > deadline:
            raise SystemExit(f"the scheduler did not read {topic} to its end")
        await asyncio.sleep(0.25)


async def follow_ingest(
    bootstrap: str, group: str, start: dict[int, int], end: dict[int, int]
) -> float:
    """Events/s from the group's first committed progress to its last."""
    wanted = sum(end[p] - start[p] for p in end)
    first: tuple[float, int] | None = None
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        offsets = await committed(bootstrap, group, LEDGER_EVENTS.name)
        done = sum(max(offsets.get(p, start[p]), start[p]) - start[p] for p in end)
        now = time.perf_counter()
        if first is None and done > 0:
            first = (now, done)
        if done >= wanted:
            assert first is not None
            moment, at_first = first
            return (done - at_first) / max(now - moment, 1e-9)
        if time.monotonic() > deadline:
            raise SystemExit(f"the scheduler followed only {done} of {wanted} events")
        await asyncio.sleep(0.25)


async def count_contacts(
    bootstrap: str, start: dict[int, int], wanted: int, key_prefix: bytes
) -> float:
    """Seconds until `wanted` contact.due records keyed `key_prefix…` arrived."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    began = time.perf_counter()
    try:
        partitions = [TopicPartition(COLLECTIONS_CONTACTS.name, p) for p in start]
        consumer.assign(partitions)
        for tp in partitions:
            consumer.seek(tp, start[tp.partition])
        ids: set[bytes] = set()
        deadline = time.monotonic() + WAIT_SECONDS
        while len(ids) < wanted:
            if time.monotonic() > deadline:
                raise SystemExit(f"only {len(ids)} of {wanted} contacts arrived")
            batches = await consumer.getmany(timeout_ms=500, max_records=5_000)
            for records in batches.values():
                for record in records:
                    if (record.key or b"").startswith(key_prefix):
                        ids.add(dict(record.headers).get("x-event-id", record.value))
        return time.perf_counter() - began
    finally:
        await consumer.stop()


# -- the scheduler process ---------------------------------------------------


def peak_mib(pid: int) -> float:
    """The process's peak resident memory (VmHWM), in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


# -- one run ----------------------------------------------------------------


def one_run(
    bootstrap: str, debtors: int, due: int, progress: Any, task: Any
) -> Figures:
    today = datetime.now(UTC).date()
    run = uuid.uuid4().hex[:8]
    morning, quiet = f"bench-{run}-m", f"bench-{run}-q"
    group = f"bench-scheduler-{run}"

    progress.update(task, description=f"{debtors:,} debtors: building events")
    records = [
        (e.key.encode(), e.to_bytes())
        for e in ledger_events(morning, quiet, debtors, due, today)
    ]
    progress.update(task, description=f"{debtors:,} debtors: baseline")
    plain = asyncio.run(baseline(bootstrap, records))

    with fresh_postgres_database() as database_url:
        progress.update(task, description=f"{debtors:,} debtors: producing")
        creditors = [
            creditor_updated(c, closed_policy(today)) for c in (morning, quiet)
        ]
        asyncio.run(
            produce(
                bootstrap,
                LEDGER_CREDITORS.name,
                [(c.key.encode(), c.to_bytes()) for c in creditors],
            )
        )
        asyncio.run(skip_to_end(bootstrap, group, LEDGER_EVENTS.name))
        # A first start reads ledger.creditors to its end, this run's creditors
        # among them: a scheduler that knew no creditor would hold the events
        # instead of applying them (SPEC §2), and the figure would be a lie.
        progress.update(task, description=f"{debtors:,} debtors: creditors")
        knowing = start_service("scheduler", bootstrap, database_url, group)
        try:
            asyncio.run(caught_up(bootstrap, group, LEDGER_CREDITORS.name))
        finally:
            stop(knowing)

        progress.update(task, description=f"{debtors:,} debtors: producing")
        start = asyncio.run(end_offsets(bootstrap, LEDGER_EVENTS.name))
        asyncio.run(produce(bootstrap, LEDGER_EVENTS.name, records))
        end = asyncio.run(end_offsets(bootstrap, LEDGER_EVENTS.name))
        del records

        progress.update(task, description=f"{debtors:,} debtors: ingest")
        scheduler = start_service("scheduler", bootstrap, database_url, group)
        try:
            ingest = asyncio.run(follow_ingest(bootstrap, group, start, end))

            progress.update(task, description=f"{debtors:,} debtors: morning")
            contacts_start = asyncio.run(
                end_offsets(bootstrap, COLLECTIONS_CONTACTS.name)
            )
            opened = creditor_updated(morning, open_policy())
            asyncio.run(
                produce(
                    bootstrap,
                    LEDGER_CREDITORS.name,
                    [(opened.key.encode(), opened.to_bytes())],
                )
            )
            seconds = asyncio.run(
                count_contacts(bootstrap, contacts_start, due, f"{morning}/".encode())
            )
            peak = peak_mib(scheduler.pid)
        finally:
            stop(scheduler)

    events = debtors * (1 + INVOICES_PER_DEBTOR)
    return Figures(debtors, events, plain, ingest, seconds, due, peak)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--debtors", type=int, default=100_000, help="debtors per run")
    parser.add_argument(
        "--due", type=int, default=20_000, help="reminders due on the morning"
    )
    parser.add_argument("--runs", type=int, default=3, help="runs; medians are quoted")
    parser.add_argument(
        "--memory-check",
        action="store_true",
        help="first a run with a quarter of the debtors, to compare peak memory",
    )
    args = parser.parse_args()
    if args.due > args.debtors:
        parser.error("--due cannot exceed --debtors")
    bootstrap = endpoints().kafka_bootstrap
    logging.basicConfig(level=logging.ERROR)  # aiokafka's retries are not news here

    sizes = [(args.debtors // 4, args.due // 4)] if args.memory_check else []
    sizes += [(args.debtors, args.due)] * args.runs
    figures: list[Figures] = []
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TimeElapsedColumn(),
        console=console,
    ) as progress:
        task = progress.add_task("runs", total=len(sizes))
        for debtors, due in sizes:
            figures.append(one_run(bootstrap, debtors, due, progress, task))
            progress.advance(task)

    print_figures(figures, args.debtors)


def print_figures(figures: list[Figures], debtors: int) -> None:
    table = Table(title="scheduler: following ledger.events, and a morning's timers")
    for name in (
        "debtors",
        "events",
        "plain aiokafka (events/s)",
        "scheduler (events/s)",
        "ratio",
        "morning (s)",
        "timers fired/s",
        "peak memory (MiB)",
    ):
        table.add_column(name, justify="right")
    for f in figures:
        table.add_row(
            f"{f.debtors:,}",
            f"{f.events:,}",
            f"{f.baseline:,.0f}",
            f"{f.ingest:,.0f}",
            f"{f.ratio:.2f}",
            f"{f.morning_seconds:.1f}",
            f"{f.fired_per_second:,.0f}",
            f"{f.peak_mib:,.0f}",
        )
    full = [f for f in figures if f.debtors == debtors]
    table.add_row(
        "median",
        "",
        f"{statistics.median(f.baseline for f in full):,.0f}",
        f"{statistics.median(f.ingest for f in full):,.0f}",
        f"{statistics.median(f.ratio for f in full):.2f}",
        f"{statistics.median(f.morning_seconds for f in full):.1f}",
        f"{statistics.median(f.fired_per_second for f in full):,.0f}",
        f"{statistics.median(f.peak_mib for f in full):,.0f}",
    )
    console.print(table)
    console.print(
        "targets: ingest at least 0.2 of the baseline; the morning in under 60 s; "
        "peak memory that does not grow with the number of debtors"
    )


if __name__ == "__main__":
    main()
