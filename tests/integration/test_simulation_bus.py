"""The simulation's Kafka bus against the real broker: private topics, the same
partitions and polls as the in-process bus, nothing left behind."""

import asyncio

import pytest
from aiokafka.admin import AIOKafkaAdminClient

from shared.simulation.bus import InProcessBus, KafkaBus
from shared.topics import LEDGER_EVENTS, LEDGER_INBOUND

pytestmark = pytest.mark.integration

KEYS = [f"acme/d{n}".encode() for n in range(12)]


async def topics(bootstrap: str) -> set[str]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        return set(await admin.list_topics())
    finally:
        await admin.close()


async def publish_all(bus) -> None:
    for n, key in enumerate(KEYS):
        sent = await bus.send(LEDGER_EVENTS.name, value=b"%d" % n, key=key)
        await sent


def summary(records):
    return [(r.topic, r.partition, r.offset, r.key, r.value) for r in records]


async def test_a_run_has_topics_of_its_own_and_deletes_them(kafka_bootstrap):
    bus = KafkaBus(kafka_bootstrap)
    await bus.start()
    try:
        mine = {
            t for t in await topics(kafka_bootstrap) if t.startswith(f"sim-{bus.run}.")
        }
        assert f"sim-{bus.run}.ledger.events" in mine
        assert f"sim-{bus.run}.ledger.events.dlq" in mine
    finally:
        await bus.stop()

    # The broker deletes topics in the background: give it a few seconds.
    for _ in range(50):
        left = {
            t for t in await topics(kafka_bootstrap) if t.startswith(f"sim-{bus.run}.")
        }
        if not left:
            break
        await asyncio.sleep(0.2)
    assert left == set()


async def test_kafka_and_the_in_process_bus_hand_over_the_same_poll(kafka_bootstrap):
    kafka, memory = KafkaBus(kafka_bootstrap), InProcessBus()
    await kafka.start()
    try:
        await publish_all(kafka)
        await publish_all(memory)

        from_kafka = await kafka.fetch("group-a", LEDGER_EVENTS.name)
        from_memory = await memory.fetch("group-a", LEDGER_EVENTS.name)

        # The services' own topic names, Kafka's partitions, one order.
        assert summary(from_kafka) == summary(from_memory)
        assert {r.partition for r in from_kafka} == {0, 1, 2}
        assert kafka.published(LEDGER_EVENTS.name) == len(KEYS)
    finally:
        await kafka.stop()


async def test_a_group_gets_each_record_once_and_another_group_all_again(
    kafka_bootstrap,
):
    bus = KafkaBus(kafka_bootstrap)
    await bus.start()
    try:
        await publish_all(bus)
        first = await bus.fetch("group-a", LEDGER_EVENTS.name)
        again = await bus.fetch("group-a", LEDGER_EVENTS.name)
        other = await bus.fetch("group-b", LEDGER_EVENTS.name)
        await bus.publish(b"late", LEDGER_INBOUND.name + ".dlq", key=b"acme/d1")
        dead = await bus.fetch("operators", LEDGER_INBOUND.name + ".dlq")
    finally:
        await bus.stop()

    assert len(first) == len(KEYS) and again == []
    assert summary(other) == summary(first)
    assert [(r.topic, r.value) for r in dead] == [("ledger.inbound.dlq", b"late")]
