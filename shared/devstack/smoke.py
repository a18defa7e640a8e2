"""The demo for now: the three services on the real stack, one good and one bad event.

Starts `overdue ledger|scheduler|notifier serve` as processes, waits for their
health checks, publishes an `invoice.issued` envelope and a malformed message
to `ledger.events`, and shows what a user should see: both consumer groups
commit past the good event, and the bad one waits in `ledger.events.dlq` with
its reason. The services are stopped afterwards; the stack keeps running.
"""

import asyncio
import sys
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from rich.console import Console
from rich.table import Table

from shared.devstack.paths import Paths, paths
from shared.devstack.process import free_port, spawn, terminate
from shared.devstack.state import endpoints
from shared.devstack.topics import end_offsets
from shared.events import Envelope
from shared.events.examples import EXAMPLES
from shared.topics import LEDGER_EVENTS

SERVICES = ("ledger", "scheduler", "notifier")
CONSUMERS_OF_LEDGER_EVENTS = ("scheduler", "notifier")
WAIT_SECONDS = 60.0

console = Console()


@dataclass
class RunningService:
    name: str
    port: int
    pid: int
    log: Path


def start_services(layout: Paths, bootstrap: str) -> list[RunningService]:
    """Each service on a free port with a fresh SQLite database under var/demo/."""
    demo_dir = layout.var / "demo"
    demo_dir.mkdir(parents=True, exist_ok=True)
    overdue = str(Path(sys.executable).with_name("overdue"))
    running = []
    for offset, name in enumerate(SERVICES):
        port = free_port("127.0.0.1", 8101 + offset)
        log = layout.log / f"demo-{name}.log"
        argv = [overdue, name, "serve", "--port", str(port), "--kafka", bootstrap]
        argv += ["--database", f"sqlite:///{demo_dir / name}.db"]
        process = spawn(argv, log=log)
        running.append(RunningService(name, port, process.pid, log))
    return running


def wait_healthy(services: list[RunningService]) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    for service in services:
        url = f"http://127.0.0.1:{service.port}/healthz"
        while True:
            try:
                if httpx.get(url, timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit(
                    f"{service.name} did not become healthy: see {service.log}"
                )
            time.sleep(0.5)


async def publish(bootstrap: str) -> tuple[Envelope, int, dict[int, int]]:
    """Publish one good and one malformed record; return the good one and offsets."""
    creditor, debtor = "acme", f"demo-{uuid.uuid4().hex[:6]}"
    envelope = Envelope(
        type="invoice.issued",
        occurred_at=datetime.now(UTC),
        creditor=creditor,
        debtor=debtor,
        data=EXAMPLES["invoice.issued"],
    )
    malformed = b'{"type": "invoice.issued", "creditor": "acme"}'

    dlq_ends = await end_offsets(bootstrap, LEDGER_EVENTS.dlq)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        key = envelope.key.encode()
        record = await producer.send_and_wait(
            LEDGER_EVENTS.name, envelope.to_bytes(), key=key
        )
        await producer.send_and_wait(LEDGER_EVENTS.name, malformed, key=key)
    finally:
        await producer.stop()
    return envelope, record.partition, {p: o for p, o in dlq_ends.items()}


async def wait_committed(bootstrap: str, partition: int, after: int) -> dict[str, int]:
    """Wait until each consuming group has committed past offset `after`."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    committed: dict[str, int] = {}
    deadline = time.monotonic() + WAIT_SECONDS
    try:
        while len(committed) < len(CONSUMERS_OF_LEDGER_EVENTS):
            for service in CONSUMERS_OF_LEDGER_EVENTS:
                offsets = await admin.list_consumer_group_offsets(f"overdue-{service}")
                meta = offsets.get(TopicPartition(LEDGER_EVENTS.name, partition))
                if meta is not None and meta.offset > after:
                    committed[service] = meta.offset
            if time.monotonic() > deadline:
                raise SystemExit(
                    "the consumers did not commit in time: see var/log/demo-*.log"
                )
            await asyncio.sleep(0.5)
    finally:
        await admin.close()
    return committed


async def read_dead_letter(
    bootstrap: str, key: str, since: dict[int, int]
) -> dict[str, str]:
    """The headers of the dead letter published under `key` after `since`."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = [TopicPartition(LEDGER_EVENTS.dlq, p) for p in since]
        consumer.assign(partitions)
        for tp in partitions:
            consumer.seek(tp, since[tp.partition])
        deadline = time.monotonic() + WAIT_SECONDS
        while time.monotonic() < deadline:
            batches = await consumer.getmany(timeout_ms=1000)
            for records in batches.values():
                for record in records:
                    if record.key and record.key.decode() == key:
                        return {k: v.decode() for k, v in record.headers}
    finally:
        await consumer.stop()
    raise SystemExit("no dead letter arrived: see var/log/demo-*.log")


def main() -> None:
    layout, where = paths(), endpoints()
    console.rule("overdue demo: the services on the real stack")
    services = start_services(layout, where.kafka_bootstrap)
    try:
        with console.status("starting ledger, scheduler and notifier…"):
            wait_healthy(services)
        for service in services:
            console.print(
                f"  {service.name:<9} http://127.0.0.1:{service.port}/docs",
                f"(pid {service.pid})",
            )

        with console.status("publishing an invoice.issued event and a malformed one…"):
            envelope, partition, dlq_since = asyncio.run(publish(where.kafka_bootstrap))
        offset_hint = f"partition {partition}"
        with console.status("waiting for the scheduler and notifier to commit…"):
            committed = asyncio.run(
                _committed_after_publish(where.kafka_bootstrap, partition)
            )
        with console.status("reading the dead-letter topic…"):
            headers = asyncio.run(
                read_dead_letter(where.kafka_bootstrap, envelope.key, dlq_since)
            )
    finally:
        for service in services:
            terminate(service.pid, timeout=15)

    table = Table(
        title=f"{LEDGER_EVENTS.name}, {offset_hint}", caption=f"event {envelope.id}"
    )
    table.add_column("consumer group")
    table.add_column("committed offset", justify="right")
    for name, offset in committed.items():
        table.add_row(f"overdue-{name}", str(offset))
    console.print(table)
    console.print(
        f"[bold]{LEDGER_EVENTS.dlq}[/bold]: the malformed message, with its reason:"
    )
    console.print(
        f"  {headers.get('x-dlq-reason', '(no reason header)')}", highlight=False
    )
    console.print(
        f"Service logs: {layout.log}/demo-*.log. The stack keeps running;"
        " `overdue infra down` stops it."
    )


async def _committed_after_publish(bootstrap: str, partition: int) -> dict[str, int]:
    ends = await end_offsets(bootstrap, LEDGER_EVENTS.name)
    # The two records just published are the last two of their partition.
    return await wait_committed(bootstrap, partition, ends[partition] - 2)


if __name__ == "__main__":
    main()
