"""A single-node KRaft broker run from Apache's own jars, fetched with Maven."""

import asyncio
import base64
import contextlib
import hashlib
import logging
import shutil
import subprocess
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from shared.devstack.errors import InfraError
from shared.devstack.paths import Paths
from shared.devstack.process import is_alive, spawn, tail, write_pid

ASSETS = Path(__file__).with_name("kafka")
POM = ASSETS / "pom.xml"
LOG4J_CONFIG = ASSETS / "log4j2.properties"
MARKER = ".pom-sha256"
READINESS_GROUP = "overdue-infra-readiness"


@dataclass(frozen=True)
class BrokerConfig:
    host: str
    port: int
    controller_port: int
    data_dir: Path
    partitions: int = 6

    @property
    def bootstrap(self) -> str:
        return f"{self.host}:{self.port}"


def render_properties(config: BrokerConfig) -> str:
    """The broker's server.properties: one combined broker and controller node.

    Replication factors are 1 because there is one node; the initial rebalance
    delay is 0 so a test's first consumer group forms at once. Topics created
    on first use (a test's own, say) get the same partition count as ours.
    """
    lines = {
        "process.roles": "broker,controller",
        "node.id": "1",
        "controller.quorum.voters": f"1@{config.host}:{config.controller_port}",
        "listeners": (
            f"PLAINTEXT://{config.host}:{config.port},"
            f"CONTROLLER://{config.host}:{config.controller_port}"
        ),
        "advertised.listeners": f"PLAINTEXT://{config.host}:{config.port}",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        "log.dirs": str(config.data_dir),
        "num.partitions": str(config.partitions),
        "offsets.topic.replication.factor": "1",
        "offsets.topic.num.partitions": "6",
        "transaction.state.log.replication.factor": "1",
        "transaction.state.log.min.isr": "1",
        "share.coordinator.state.topic.replication.factor": "1",
        "share.coordinator.state.topic.min.isr": "1",
        "group.initial.rebalance.delay.ms": "0",
    }
    header = "# Written by `overdue infra up`; edits are overwritten at the next up.\n"
    return header + "".join(f"{key}={value}\n" for key, value in lines.items())


def pom_digest() -> str:
    return hashlib.sha256(POM.read_bytes()).hexdigest()


def libs_are_current(libs: Path) -> bool:
    """Whether `libs` holds the jars of the pom as it reads today."""
    try:
        recorded = (libs / MARKER).read_text().strip()
    except OSError:
        return False
    return recorded == pom_digest() and any(libs.glob("kafka_2.13-*.jar"))


def fetch(layout: Paths, *, force: bool = False) -> bool:
    """Copy the broker's jars into var/kafka/libs unless they are current.

    Returns whether Maven ran. The marker is written last, so an interrupted
    copy is redone next time.
    """
    libs = layout.kafka_libs
    if not force and libs_are_current(libs):
        return False

    mvn = shutil.which("mvn")
    if mvn is None:
        raise InfraError("mvn is not installed: run scripts/install-system.sh")
    if libs.exists():
        shutil.rmtree(libs)
    libs.mkdir(parents=True)
    log = layout.log / "kafka-fetch.log"
    log.parent.mkdir(parents=True, exist_ok=True)

    with open(log, "wb") as out:
        completed = subprocess.run(
            [
                mvn,
                "-q",
                "-B",
                "-f",
                str(POM),
                "dependency:copy-dependencies",
                f"-DoutputDirectory={libs}",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            check=False,
        )
    if completed.returncode != 0:
        raise InfraError(f"fetching Kafka's jars failed, see {log}:\n{tail(log)}")

    (libs / MARKER).write_text(pom_digest() + "\n")
    return True


def new_cluster_id() -> str:
    """A cluster id in Kafka's own form: a random UUID, base64url, unpadded."""
    return base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()


def is_formatted(data_dir: Path) -> bool:
    return (data_dir / "meta.properties").is_file()


def java_command(layout: Paths, main: str, *args: str, heap: str = "256m") -> list[str]:
    java = shutil.which("java")
    if java is None:
        raise InfraError("java is not installed: run scripts/install-system.sh")
    return [
        java,
        f"-Xmx{heap}",
        "-Djava.awt.headless=true",
        f"-Dlog4j2.configurationFile={LOG4J_CONFIG}",
        "-cp",
        f"{layout.kafka_libs}/*",
        main,
        *args,
    ]


def format_storage(layout: Paths) -> bool:
    """Format the data dir once; returns whether it had to."""
    if is_formatted(layout.kafka_data):
        return False
    layout.kafka_data.mkdir(parents=True, exist_ok=True)
    command = java_command(
        layout,
        "kafka.tools.StorageTool",
        "format",
        "-t",
        new_cluster_id(),
        "-c",
        str(layout.kafka_properties),
    )
    completed = subprocess.run(command, capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        raise InfraError(
            "formatting Kafka's storage failed:\n"
            + (completed.stdout + completed.stderr).strip()
        )
    return True


def configured_bootstrap(layout: Paths) -> str | None:
    """Where the broker last started by `up` was told to listen."""
    try:
        text = layout.kafka_properties.read_text()
    except OSError:
        return None
    prefix = "advertised.listeners=PLAINTEXT://"
    for line in text.splitlines():
        if line.startswith(prefix):
            return line.removeprefix(prefix).split(",")[0]
    return None


def process_marker(layout: Paths) -> str:
    """What the broker's command line holds, so a recycled PID is not mistaken."""
    return str(layout.kafka_properties)


def start(layout: Paths, config: BrokerConfig, *, heap: str) -> int:
    """Write the config, format storage if new, launch the broker detached."""
    layout.kafka.mkdir(parents=True, exist_ok=True)
    layout.kafka_properties.write_text(render_properties(config))
    format_storage(layout)

    command = java_command(
        layout, "kafka.Kafka", str(layout.kafka_properties), heap=heap
    )
    process = spawn(command, log=layout.kafka_log, cwd=layout.kafka)
    write_pid(layout.kafka_pid, process.pid)
    return process.pid


async def can_list_topics(bootstrap: str, within: float = 5.0) -> bool:
    """Whether a broker at `bootstrap` answers an admin request."""
    admin = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap, request_timeout_ms=int(within * 1000)
    )
    try:
        await asyncio.wait_for(admin.start(), within)
        await asyncio.wait_for(admin.list_topics(), within)
        return True
    except (KafkaError, OSError, TimeoutError):
        return False
    finally:
        await _quietly_close(admin)


async def answers(bootstrap: str) -> bool:
    """`can_list_topics` without the client's connection errors in the log."""
    with _quiet_clients():
        return await can_list_topics(bootstrap)


async def can_commit(bootstrap: str, topic: str, within: float = 10.0) -> bool:
    """Whether a consumer group can commit an offset: the group coordinator is up.

    Right after a fresh start the broker still loads `__consumer_offsets`, and
    consumers meet GroupCoordinatorNotAvailable for a few seconds.
    """
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=READINESS_GROUP,
        enable_auto_commit=False,
        request_timeout_ms=int(within * 1000),
    )
    partition = TopicPartition(topic, 0)
    try:
        await asyncio.wait_for(consumer.start(), within)
        consumer.assign([partition])
        await asyncio.wait_for(consumer.commit({partition: 0}), within)
        return True
    except (KafkaError, OSError, TimeoutError):
        return False
    finally:
        await _quietly_close(consumer)


async def _quietly_close(client: AIOKafkaAdminClient | AIOKafkaConsumer) -> None:
    try:
        if isinstance(client, AIOKafkaAdminClient):
            await client.close()
        else:
            await client.stop()
    except Exception:  # closing a client that never connected
        pass


async def wait_ready(
    bootstrap: str,
    *,
    within: float,
    commit_topic: str | None = None,
    pid: int | None = None,
    log: Path | None = None,
) -> None:
    """Wait until the broker answers admin requests and, given a topic, commits.

    Gives up early when the broker's process has died, quoting its log.
    """
    with _quiet_clients():
        await _poll_ready(bootstrap, within, commit_topic, pid, log)


@contextlib.contextmanager
def _quiet_clients() -> Iterator[None]:
    # Refused connections and a missing coordinator are expected while we
    # poll; aiokafka would log each one as an error.
    client_logger = logging.getLogger("aiokafka")
    previous = client_logger.level
    client_logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        client_logger.setLevel(previous)


async def _poll_ready(
    bootstrap: str,
    within: float,
    commit_topic: str | None,
    pid: int | None,
    log: Path | None,
) -> None:
    deadline = time.monotonic() + within
    stages: list[tuple[str, Callable[[], Awaitable[bool]]]] = [
        ("answer admin requests", lambda: can_list_topics(bootstrap))
    ]
    if commit_topic is not None:
        topic = commit_topic
        stages.append(
            ("let a consumer group commit", lambda: can_commit(bootstrap, topic))
        )

    for stage, probe in stages:
        while not await probe():
            if pid is not None and not is_alive(pid):
                raise InfraError(
                    f"Kafka exited while starting, see {log}:\n"
                    + (tail(log) if log else "")
                )
            if time.monotonic() > deadline:
                where = f", see {log}:\n{tail(log)}" if log else ""
                raise InfraError(
                    f"Kafka at {bootstrap} did not {stage} within {within:.0f}s{where}"
                )
            await asyncio.sleep(1.0)
