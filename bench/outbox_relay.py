"""Events through outbox, relay, Kafka and a consumer, against plain aiokafka.

Baseline: send N records with aiokafka (house producer settings), await them,
then read them back. Measured: commit N events to the outbox in transactions of
`--per-commit`, let the relay publish them, then read them back. Both on the
real stack of `overdue infra up`; prints the median of `--runs` and the ratio.
"""

import argparse
import asyncio
import statistics
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import sqlalchemy as sa
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from sqlalchemy.orm import registry
from sqlmodel import Session, SQLModel

from shared.db.engine import make_engine, normalise_url
from shared.devstack.state import endpoints
from shared.events import Envelope
from shared.outbox import OutboxRecord, enqueue_many, start_relay
from shared.outbox.relay import producer_kwargs
from shared.topics import Topic

NOW = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)


class BenchTable(SQLModel, registry=registry()):
    """Tables of this benchmark alone."""


class BenchOutbox(OutboxRecord, BenchTable, table=True):
    __tablename__ = "bench_outbox"


def _envelopes(count: int) -> list[Envelope]:
    return [
        Envelope(
            type="invoice.issued",
            occurred_at=NOW,
            creditor="acme",
            debtor=f"d-{n % 200}",
            data={"invoice": f"INV-{n}", "amount": "120.00", "currency": "EUR"},
        )
        for n in range(count)
    ]


@contextmanager
def _database(kind: str) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///var/bench/outbox-{uuid.uuid4().hex[:8]}.db"
        return
    admin_url = normalise_url(endpoints().database_url)
    name = f"bench_{uuid.uuid4().hex[:12]}"
    admin = make_engine(admin_url.render_as_string(hide_password=False))
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
        c.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin_url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
            c.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


async def _consume(bootstrap: str, topic: str, count: int) -> None:
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    seen = 0
    try:
        while seen < count:
            batches = await consumer.getmany(timeout_ms=500, max_records=5000)
            seen += sum(len(batch) for batch in batches.values())
    finally:
        await consumer.stop()


async def _warm_topic(producer: AIOKafkaProducer, topic: str) -> None:
    await producer.send_and_wait(topic, b"{}", key=b"warm-up")


async def baseline(bootstrap: str, count: int) -> float:
    topic = f"bench.plain.{uuid.uuid4().hex[:10]}"
    payloads = [(e.key.encode(), e.to_bytes()) for e in _envelopes(count)]
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, **producer_kwargs())
    await producer.start()
    try:
        await _warm_topic(producer, topic)
        started = time.perf_counter()
        futures = [await producer.send(topic, v, key=k) for k, v in payloads]
        await asyncio.gather(*futures)
        await _consume(bootstrap, topic, count + 1)
        return time.perf_counter() - started
    finally:
        await producer.stop()


async def through_outbox(
    bootstrap: str, kind: str, count: int, per_commit: int, batch_size: int
) -> float:
    topic = Topic(f"bench.outbox.{uuid.uuid4().hex[:10]}", "benchmark events")
    envelopes = _envelopes(count)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, **producer_kwargs())
    await producer.start()
    try:
        await _warm_topic(producer, topic.name)
        with _database(kind) as url:
            engine = make_engine(url)
            BenchTable.metadata.create_all(engine)
            try:
                started = time.perf_counter()
                async with start_relay(
                    engine, BenchOutbox, producer=producer, batch_size=batch_size
                ) as relay:
                    for first in range(0, count, per_commit):
                        chunk = envelopes[first : first + per_commit]
                        await asyncio.to_thread(_commit, engine, chunk, topic)
                        relay.wake()
                    await _consume(bootstrap, topic.name, count + 1)
                return time.perf_counter() - started
            finally:
                engine.dispose()
    finally:
        await producer.stop()


def _commit(engine: sa.Engine, envelopes: list[Envelope], topic: Topic) -> None:
    with Session(engine) as session:
        enqueue_many(session, BenchOutbox, envelopes, topic)
        session.commit()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--per-commit", type=int, default=500)
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument(
        "--database", choices=["postgres", "sqlite"], default="postgres"
    )
    args = parser.parse_args()
    bootstrap = endpoints().kafka_bootstrap

    plain, outbox = [], []
    for _ in range(args.runs):
        plain.append(await baseline(bootstrap, args.events))
        outbox.append(
            await through_outbox(
                bootstrap, args.database, args.events, args.per_commit, args.batch_size
            )
        )

    plain_rate = args.events / statistics.median(plain)
    outbox_rate = args.events / statistics.median(outbox)
    print(f"events: {args.events}, runs: {args.runs}, database: {args.database}")
    print(f"plain aiokafka produce-then-consume: {plain_rate:,.0f} events/s")
    print(f"outbox commit + relay + consume:     {outbox_rate:,.0f} events/s")
    print(f"ratio: {outbox_rate / plain_rate:.2f}")


if __name__ == "__main__":
    asyncio.run(main())
