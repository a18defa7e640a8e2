"""What the benchmarks share: producing records, a throwaway topic, a service
process started on the local stack and waited for."""

import asyncio
import os
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from shared.devstack.process import free_port  # noqa: E402
from shared.messaging.config import PRODUCER  # noqa: E402

Records = Sequence[tuple[bytes, bytes]]
"""(key, value) pairs, serialised once before anything is timed."""


async def produce(bootstrap: str, topic: str, records: Records) -> None:
    """Send every record with the project's producer settings, then wait for all."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, **PRODUCER.as_kwargs())
    await producer.start()
    try:
        sends = [await producer.send(topic, value, key=key) for key, value in records]
        await asyncio.gather(*sends)
    finally:
        await producer.stop()


@asynccontextmanager
async def throwaway_topic(bootstrap: str, prefix: str) -> AsyncIterator[str]:
    """A fresh topic of six partitions for the block, deleted afterwards."""
    topic = f"{prefix}.{uuid.uuid4().hex[:8]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, 6, 1)])
        yield topic
    finally:
        await admin.delete_topics([topic])
        await admin.close()


def start_service(
    service: str, bootstrap: str, database_url: str, group: str
) -> subprocess.Popen[bytes]:
    """`overdue SERVICE serve` on `database_url` in consumer group `group`,
    returned once it answers /healthz; its output goes to var/log/bench-SERVICE.log."""
    port = free_port("127.0.0.1", 8400)
    env = {
        **os.environ,
        f"OVERDUE_{service.upper()}_CONSUMER_GROUP": group,
        "OVERDUE_LOG_LEVEL": "WARNING",
    }
    overdue = str(Path(sys.executable).with_name("overdue"))
    argv = [overdue, service, "serve", "--port", str(port)]
    argv += ["--database", database_url, "--kafka", bootstrap]
    log_path = ROOT / "var" / "log" / f"bench-{service}.log"
    log = open(log_path, "ab")  # noqa: SIM115 - the child keeps it
    process = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the {service} stopped: see {log_path}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).is_success:
                return process
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    process.kill()
    raise SystemExit(f"the {service} did not become healthy: see {log_path}")


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    process.wait(60)
