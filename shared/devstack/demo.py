"""`make demo`: the three services' jobs on the real stack.

Starts the three services, creates a creditor and its policy with the CLI,
imports an open-items CSV, records a payment over HTTP (twice, with one
idempotency key), sends a malformed and an invalid fact over Kafka, and shows
what a user would look at: the debtor's statement, the events the ledger
published, the reasons the bad facts were dead-lettered, the cases the
scheduler opened and what its ladder will send in the next 60 days. The
services are stopped afterwards; the stack keeps running.
"""

import asyncio
import subprocess
import sys
import time
import uuid
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from rich.console import Console
from rich.table import Table

from shared.devstack.errors import InfraError
from shared.devstack.paths import Paths, paths
from shared.devstack.process import free_port, terminate
from shared.devstack.services import (
    SERVICES,
    Launch,
    Running,
    start,
    start_at_the_end,
    wait_healthy,
)
from shared.devstack.state import endpoints
from shared.devstack.topics import end_offsets
from shared.events import Envelope
from shared.events.inbound import InboundPaymentReceived
from shared.topics import LEDGER_EVENTS, LEDGER_INBOUND

WAIT_SECONDS = 60.0
ROOT = Path(__file__).resolve().parents[2]
OPEN_ITEMS = ROOT / "docs" / "examples" / "open-items.csv"
POLICY = ROOT / "policies" / "standard-b2b.yaml"

console = Console()


def overdue(*args: str, database: str) -> str:
    """Run an `overdue ledger` command as a user would; its output, or stop."""
    command = [str(Path(sys.executable).with_name("overdue")), "ledger", *args]
    done = subprocess.run(
        [*command, "--database", database], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise SystemExit(
            f"`overdue ledger {args[0]}` failed:\n{done.stdout}{done.stderr}"
        )
    return done.stdout


def start_services(
    layout: Paths, bootstrap: str, databases: dict[str, str], run: str
) -> list[Running]:
    """The three services. They consume in groups of this run alone, which
    start at the end of their topics: whatever earlier runs and tests left
    there is not this demo's, and would only delay it."""
    groups = {name: f"overdue-{name}-demo-{run}" for name in SERVICES}
    start_at_the_end(bootstrap, groups)
    running = []
    for offset, name in enumerate(SERVICES):
        env = {
            f"OVERDUE_{name.upper()}_CONSUMER_GROUP": groups[name],
            "OVERDUE_LETTERS_DIR": str(layout.var / "demo" / "letters"),
            "OVERDUE_BOUNCE_PORT": "0",
        }
        launch = Launch(
            name=name,
            port=free_port("127.0.0.1", 8101 + offset),
            database=databases[name],
            kafka=bootstrap,
            log=layout.log / f"demo-{name}.log",
            env=env,
        )
        running.append(start(launch))
    return running


async def send_to_inbound(bootstrap: str, creditor: str) -> None:
    """A malformed record and a payment in a currency no invoice has."""
    wrong_currency = Envelope.wrap(
        InboundPaymentReceived(
            payment_id="PAY-USD-1",
            currency="USD",
            amount="50.00",
            received_on=date(2026, 1, 30),
        ),
        creditor=creditor,
        debtor="d-1001",
        occurred_at=datetime.now(UTC),
    )
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        key = f"{creditor}/d-1001".encode()
        await producer.send_and_wait(LEDGER_INBOUND.name, b"{not json", key=key)
        await producer.send_and_wait(
            LEDGER_INBOUND.name, wrong_currency.to_bytes(), key=key
        )
    finally:
        await producer.stop()


async def read_back(
    bootstrap: str, topic: str, since: dict[int, int], prefix: str, wanted: int
) -> list[Any]:
    """The records under keys starting with `prefix` that arrived after `since`."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    found: list[Any] = []
    try:
        partitions = [TopicPartition(topic, p) for p in since]
        consumer.assign(partitions)
        for tp in partitions:
            consumer.seek(tp, since[tp.partition])
        deadline = time.monotonic() + WAIT_SECONDS
        while len(found) < wanted and time.monotonic() < deadline:
            batches = await consumer.getmany(timeout_ms=500)
            for records in batches.values():
                found += [
                    r for r in records if (r.key or b"").decode().startswith(prefix)
                ]
    finally:
        await consumer.stop()
    return found


def main() -> None:
    layout, where = paths(), endpoints()
    creditor = f"acme-{uuid.uuid4().hex[:6]}"
    demo_dir = layout.var / "demo"
    demo_dir.mkdir(parents=True, exist_ok=True)
    databases = {
        name: f"sqlite:///{demo_dir / name}-{creditor}.db" for name in SERVICES
    }
    console.rule("overdue demo: the ledger, the scheduler and the notifier")

    events_since = asyncio.run(end_offsets(where.kafka_bootstrap, LEDGER_EVENTS.name))
    dlq_since = asyncio.run(end_offsets(where.kafka_bootstrap, LEDGER_INBOUND.dlq))
    services = start_services(layout, where.kafka_bootstrap, databases, creditor)
    try:
        with console.status("starting ledger, scheduler and notifier…"):
            try:
                wait_healthy(services)
            except InfraError as error:
                raise SystemExit(str(error)) from None
        ledger_url = services[0].url
        for service in services:
            console.print(f"  {service.name:<9} {service.url}/docs")

        key = (
            overdue(
                "add-creditor",
                creditor,
                "--name",
                "ACME Supplies GmbH",
                "--country",
                "DE",
                "--currency",
                "EUR",
                "--timezone",
                "Europe/Berlin",
                "--address",
                "ACME Supplies GmbH",
                "--address",
                "Industriestr. 5",
                "--postcode",
                "20095",
                "--city",
                "Hamburg",
                "--sender-email",
                "billing@acme.example",
                "--iban",
                "DE89370400440532013000",
                database=databases["ledger"],
            )
            .strip()
            .splitlines()[-1]
        )
        console.print(f"1. creditor [bold]{creditor}[/bold] added; API key {key[:8]}…")
        overdue("set-policy", creditor, str(POLICY), database=databases["ledger"])
        console.print(f"2. policy {POLICY.name} checked and set")
        imported = overdue(
            "import",
            str(OPEN_ITEMS),
            "--creditor",
            creditor,
            database=databases["ledger"],
        )
        console.print(f"3. {imported.strip()}")

        payment = {
            "debtor": "d-1001",
            "payment_id": "PAY-9002",
            "currency": "EUR",
            "amount": "1300.00",
            "received_on": "2026-01-28",
        }
        headers = {
            "Authorization": f"Bearer {key}",
            "Idempotency-Key": f"{creditor}-pay-9002",
        }
        first = httpx.post(f"{ledger_url}/v1/payments", json=payment, headers=headers)
        again = httpx.post(f"{ledger_url}/v1/payments", json=payment, headers=headers)
        replayed = again.headers.get("Idempotent-Replayed", "no")
        console.print(
            f"4. POST /v1/payments → {first.status_code}; with the same "
            f"Idempotency-Key again → {again.status_code}, replayed: {replayed}"
        )
        asyncio.run(send_to_inbound(where.kafka_bootstrap, creditor))
        console.print("5. a malformed record and a USD payment sent to ledger.inbound")

        with console.status("waiting for the ledger's events and dead letters…"):
            events = asyncio.run(
                read_back(
                    where.kafka_bootstrap,
                    LEDGER_EVENTS.name,
                    events_since,
                    f"{creditor}/",
                    7,
                )
            )
            dead = asyncio.run(
                read_back(
                    where.kafka_bootstrap,
                    LEDGER_INBOUND.dlq,
                    dlq_since,
                    f"{creditor}/",
                    2,
                )
            )
        statement = httpx.get(
            f"{ledger_url}/v1/debtors/d-1001/statement", headers=headers
        ).json()

        scheduler_url = services[1].url
        auth = {"Authorization": f"Bearer {key}"}
        with console.status("waiting for the scheduler to open the cases…"):
            # d-1001 still owes. d-1002's overdue invoice came with the payment
            # that settles it: when both are in one poll no case ever opens.
            cases = wait_for_cases(scheduler_url, auth, debtors={"d-1001"})
        forecast = httpx.get(
            f"{scheduler_url}/v1/forecast", params={"days": 60}, headers=auth
        ).json()
        with console.status("waiting for the notifier to know d-1001…"):
            sent = notifier_work(databases["notifier"], debtor="d-1001")
    finally:
        for service in services:
            terminate(service.pid, timeout=15)

    show_statement(statement)
    show_events(events)
    show_cases(cases)
    show_forecast(forecast)
    for record in dead:
        reason = dict(record.headers).get("x-dlq-reason", b"?").decode()
        console.print(f"[bold]{LEDGER_INBOUND.dlq}[/bold]: {reason}", highlight=False)
    show_notifier(sent, where.outbox_dir, layout.var / "demo" / "letters")
    show_previews(databases["notifier"], demo_dir, creditor)
    console.print(
        f"Logs: {layout.log}/demo-*.log. The stack keeps running;"
        " `overdue infra down` stops it."
    )


def notifier_work(database: str, debtor: str) -> dict[str, int]:
    """What the notifier did in this run, once it has the debtor's details.

    Whether the debtor's first reminder went out already depends on the hour:
    the send window of the policy is 09:00-17:00 on weekdays in Berlin.
    """
    engine = sa.create_engine(database)
    deadline = time.monotonic() + WAIT_SECONDS
    try:
        while time.monotonic() < deadline:
            with engine.connect() as connection:
                known = connection.execute(
                    sa.text("SELECT count(*) FROM debtors WHERE debtor_id = :d"),
                    {"d": debtor},
                ).scalar()
                if known:
                    rows = connection.execute(
                        sa.text(
                            "SELECT channel || ' ' || state, count(*) FROM deliveries "
                            "GROUP BY channel, state"
                        )
                    ).all()
                    return {str(kind): int(count) for kind, count in rows}
            time.sleep(0.5)
    finally:
        engine.dispose()
    raise SystemExit(f"the notifier never heard of {debtor}; see its log")


def show_notifier(sent: dict[str, int], outbox: Path, letters: Path) -> None:
    done = ", ".join(f"{count} {kind}" for kind, count in sorted(sent.items()))
    console.print(
        f"The notifier: {done or 'nothing due yet (outside the send window)'}. "
        f"Emails land in {outbox}, letters in {letters}."
    )


def show_previews(database: str, folder: Path, creditor: str) -> None:
    """What d-1001's next emails and letters look like, with `overdue preview`."""
    command = [str(Path(sys.executable).with_name("overdue")), "preview"]
    written = []
    for template, channel, suffix in (
        ("reminder", "email", "eml"),
        ("final", "letter", "pdf"),
        ("final", "letter", "png"),
    ):
        out = folder / f"{creditor}-d-1001-{template}-{channel}.{suffix}"
        options = ["-t", template, "-c", channel, "--debtor", "d-1001"]
        options += ["--creditor", creditor, "--database", database, "-o", str(out)]
        done = subprocess.run(
            [*command, *options],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise SystemExit(f"`overdue preview` failed:\n{done.stdout}{done.stderr}")
        written.append(str(out))
    console.print("Previews of d-1001's reminder and final demand (overdue preview):")
    for path in written:
        console.print(f"  {path}", highlight=False)


def wait_for_cases(url: str, auth: dict[str, str], debtors: set[str]) -> list[Any]:
    """The scheduler's cases, once it has opened one for each of `debtors`."""
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        answer = httpx.get(f"{url}/v1/cases", headers=auth, timeout=5)
        if answer.status_code == 200 and debtors <= {
            case["debtor"] for case in answer.json()
        }:
            return list(answer.json())
        if time.monotonic() > deadline:
            raise SystemExit(
                f"the scheduler opened no case for {', '.join(sorted(debtors))} in "
                f"{WAIT_SECONDS:.0f} s (last answer {answer.status_code}): "
                "see var/log/demo-scheduler.log"
            )
        time.sleep(0.5)


def show_cases(cases: list[dict[str, Any]]) -> None:
    table = Table(title="GET /v1/cases on the scheduler: the cases it opened")
    for column in ("debtor", "case", "state", "overdue", "next stage", "at"):
        table.add_column(column)
    for case in cases:
        overdue = case["currency"] and f"{case['currency']} {case['amount_overdue']}"
        table.add_row(
            case["debtor"],
            case["case_id"],
            case["state"],
            overdue or "-",
            case["next_stage"] or "-",
            _moment(case["next_moment"]),
        )
    console.print(table)


def show_forecast(forecast: dict[str, Any]) -> None:
    table = Table(
        title="GET /v1/forecast?days=60: what the ladder will do if nobody pays"
    )
    for column in ("when", "debtor", "what", "channels", "amount due"):
        table.add_column(column)
    for item in forecast["items"]:
        what = item["template"] if item["action"] == "contact" else "escalate"
        amount = (
            f"{item['currency']} {item['amount_due']}" if item["amount_due"] else ""
        )
        table.add_row(
            _moment(item["at"]),
            item["debtor"],
            what,
            ", ".join(item["channels"]),
            amount,
        )
    console.print(table)


def _moment(text: str | None) -> str:
    """An API's ISO moment as a reader scans it: `2026-12-04 08:00 UTC`."""
    if not text:
        return "-"
    moment = datetime.fromisoformat(text).astimezone(UTC)
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def show_statement(statement: dict[str, Any]) -> None:
    table = Table(title="GET /v1/debtors/d-1001/statement")
    for column in ("invoice", "due", "amount", "balance", "status"):
        table.add_column(column)
    for item in statement.get("open_items", []):
        table.add_row(
            item["number"],
            item["due_on"],
            item["amount"],
            item["balance"],
            item["status"],
        )
    console.print(table)
    for balance in statement.get("balances", []):
        console.print(
            f"  open {balance['currency']} {balance['open_balance']}, "
            f"credit {balance['unallocated_credit']}"
        )


def show_events(records: list[Any]) -> None:
    table = Table(title=f"{LEDGER_EVENTS.name}: what the ledger published")
    table.add_column("key")
    table.add_column("type")
    for record in records:
        envelope = Envelope.from_bytes(record.value)
        table.add_row(record.key.decode(), envelope.type)
    console.print(table)


if __name__ == "__main__":
    main()
