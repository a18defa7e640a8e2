"""Bring the whole local stack up, down, or ask how it is: Kafka, PostgreSQL, SMTP.

Each part is either started by `up` (and then stopped by `down`) or, when the
user's environment names one, used as it is and never started or stopped.
"""

import asyncio
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from shared.devstack import kafka, postgres, smtp_sink
from shared.devstack.errors import InfraError
from shared.devstack.paths import Paths
from shared.devstack.process import (
    free_port,
    is_alive,
    port_is_free,
    read_pid,
    spawn,
    tail,
    terminate,
    write_pid,
)
from shared.devstack.settings import InfraSettings, external_database, external_kafka
from shared.devstack.state import (
    InfraState,
    KafkaState,
    PostgresState,
    SmtpState,
    endpoints,
    load,
    save,
)
from shared.devstack.topics import ensure_topics
from shared.settings import CommonSettings
from shared.topics import ALL_TOPICS

STARTED = "started"
ALREADY_RUNNING = "already running"
EXTERNAL = "external, not managed"
STOPPED = "stopped"
NOT_RUNNING = "was not running"


@dataclass(frozen=True)
class PartReport:
    """One row of the table `up`, `down` and `status` print."""

    part: str
    address: str
    answering: bool | None  # None: not asked
    note: str
    pid: int | None = None


def up(layout: Paths, settings: InfraSettings | None = None) -> list[PartReport]:
    """Start whatever is missing and wait until every part answers.

    The state file is saved after each part, so `down` can stop what did
    start even when a later part fails.
    """
    settings = settings or InfraSettings()
    layout.ensure()
    state = load(layout)

    reports = [_kafka_up(layout, settings, state)]
    save(state, layout)
    reports.append(_postgres_up(layout, settings, state))
    save(state, layout)
    reports.append(_smtp_up(layout, settings, state))
    save(state, layout)
    return reports


def _kafka_up(layout: Paths, settings: InfraSettings, state: InfraState) -> PartReport:
    partitions = CommonSettings().topic_partitions
    external = external_kafka()
    marker = kafka.process_marker(layout)
    pid: int | None = None

    if external:
        bootstrap, note = external, EXTERNAL
        state.kafka = KafkaState(bootstrap=bootstrap, running=True)
    else:
        pid = read_pid(layout.kafka_pid)
        running_at = kafka.configured_bootstrap(layout)
        if is_alive(pid, marker) and running_at is not None:
            bootstrap, note = running_at, ALREADY_RUNNING
        else:
            config = kafka.BrokerConfig(
                host=settings.host,
                port=settings.kafka_port,
                controller_port=settings.kafka_controller_port,
                data_dir=layout.kafka_data,
                partitions=partitions,
            )
            _require_free(settings.host, config.port, "OVERDUE_INFRA_KAFKA_PORT")
            _require_free(
                settings.host,
                config.controller_port,
                "OVERDUE_INFRA_KAFKA_CONTROLLER_PORT",
            )
            kafka.fetch(layout)
            pid = kafka.start(layout, config, heap=settings.kafka_heap)
            bootstrap, note = config.bootstrap, STARTED
        state.kafka = KafkaState(
            bootstrap=bootstrap, pid=pid, started_by_us=True, running=True
        )

    asyncio.run(
        _kafka_ready(
            bootstrap,
            partitions,
            within=settings.kafka_timeout,
            pid=pid,
            log=None if external else layout.kafka_log,
        )
    )
    return PartReport("kafka", bootstrap, True, note, pid)


async def _kafka_ready(
    bootstrap: str, partitions: int, within: float, pid: int | None, log: Path | None
) -> None:
    """Answering, holding every topic, and able to commit a group's offset."""
    await kafka.wait_ready(bootstrap, within=within, pid=pid, log=log)

    await ensure_topics(bootstrap, partitions)

    await kafka.wait_ready(
        bootstrap, within=within, commit_topic=ALL_TOPICS[0].name, pid=pid, log=log
    )


def _postgres_up(
    layout: Paths, settings: InfraSettings, state: InfraState
) -> PartReport:
    external = external_database()
    if external:
        postgres.wait_ready(external, timeout=30)
        recorded = state.postgres
        state.postgres = PostgresState(
            url=external,
            port=recorded.port if recorded else None,
            data_dir=recorded.data_dir if recorded else None,
            running=True,
        )
        return PartReport("postgres", external, True, EXTERNAL)

    recorded = state.postgres if state.postgres and state.postgres.data_dir else None
    cluster = postgres.locate(layout, recorded.data_dir if recorded else None)
    if cluster.is_running():
        port = _running_port(cluster) or (recorded.port if recorded else None)
        if port is None:
            raise InfraError(f"PostgreSQL runs from {cluster.data} on an unknown port")
        note = ALREADY_RUNNING
    else:
        postgres.initialise(cluster)
        port = recorded.port if recorded and recorded.port else None
        if port is None or not port_is_free(settings.host, port):
            port = free_port(settings.host, settings.postgres_port)
        postgres.start(cluster, port)
        note = STARTED

    pid = cluster.pid()
    url = postgres.url_for(settings.host, port)
    state.postgres = PostgresState(
        url=url,
        port=port,
        pid=pid,
        data_dir=str(cluster.root),
        started_by_us=True,
        running=True,
    )
    postgres.ensure_database(settings.host, port)
    postgres.wait_ready(url, timeout=30, log=cluster.log)
    return PartReport("postgres", url, True, note, pid)


def _running_port(cluster: postgres.Cluster) -> int | None:
    # postmaster.pid: pid, data dir, start time, port, ...
    try:
        return int(cluster.pid_file.read_text().splitlines()[3])
    except (OSError, ValueError, IndexError):
        return None


def _smtp_up(layout: Paths, settings: InfraSettings, state: InfraState) -> PartReport:
    marker = smtp_marker(layout)
    pid = read_pid(layout.smtp_pid)
    if is_alive(pid, marker) and state.smtp is not None:
        host, port, note = state.smtp.host, state.smtp.port, ALREADY_RUNNING
    else:
        host, port = settings.host, settings.smtp_port
        _require_free(host, port, "OVERDUE_INFRA_SMTP_PORT")
        process = spawn(
            [
                sys.executable,
                "-m",
                "shared.devstack.smtp_sink",
                "--host",
                host,
                "--port",
                str(port),
                "--outbox",
                str(layout.outbox),
            ],
            log=layout.smtp_log,
            cwd=layout.var,
        )
        pid = process.pid
        write_pid(layout.smtp_pid, pid)
        note = STARTED

    state.smtp = SmtpState(
        host=host,
        port=port,
        outbox=str(layout.outbox),
        pid=pid,
        started_by_us=True,
        running=True,
    )
    _wait_smtp(host, port, pid, layout.smtp_log)
    return PartReport("smtp", f"{host}:{port}", True, note, pid)


def smtp_marker(layout: Paths) -> str:
    return str(layout.outbox)


def _wait_smtp(host: str, port: int, pid: int | None, log: Path) -> None:
    deadline = time.monotonic() + 20
    while not smtp_sink.answers(host, port):
        if not is_alive(pid):
            raise InfraError(f"the SMTP sink exited, see {log}:\n{tail(log)}")
        if time.monotonic() > deadline:
            raise InfraError(f"the SMTP sink did not answer EHLO, see {log}")
        time.sleep(0.2)


def _require_free(host: str, port: int, variable: str) -> None:
    if not port_is_free(host, port):
        raise InfraError(
            f"{host}:{port} is already taken by another process; "
            f"set {variable} to another port"
            + (
                ", or KAFKA_BOOTSTRAP_SERVERS to use the broker already there"
                if "KAFKA" in variable
                else ""
            )
        )


def down(layout: Paths, timeout: float = 30.0) -> list[PartReport]:
    """Stop what `up` started, and nothing else.

    The PID files (and PostgreSQL's own postmaster.pid) decide what runs on our
    behalf, so a broker started before the user pointed KAFKA_BOOTSTRAP_SERVERS
    elsewhere is still stopped; an external service never is.
    """
    state = load(layout)

    kafka_stopped = _stop_pid_file(
        layout.kafka_pid, kafka.process_marker(layout), timeout
    )
    data_dir = state.postgres.data_dir if state.postgres else None
    postgres_stopped = postgres.stop(postgres.locate(layout, data_dir))
    smtp_stopped = _stop_pid_file(layout.smtp_pid, smtp_marker(layout), 10.0)

    reports = [
        _down_report("kafka", state.kafka, kafka_stopped),
        _down_report("postgres", state.postgres, postgres_stopped),
        _down_report("smtp", state.smtp, smtp_stopped),
    ]
    for part in (state.kafka, state.postgres, state.smtp):
        if part is not None:
            part.running, part.pid = False, None
    if layout.state_file.exists():
        save(state, layout)
    return reports


def _stop_pid_file(pid_file: Path, marker: str, timeout: float) -> bool:
    pid = read_pid(pid_file)
    stopped = pid is not None and terminate(pid, timeout=timeout, marker=marker)
    pid_file.unlink(missing_ok=True)
    return stopped


def _down_report(
    name: str, part: KafkaState | PostgresState | SmtpState | None, stopped: bool
) -> PartReport:
    if isinstance(part, KafkaState):
        address = part.bootstrap
    elif isinstance(part, PostgresState):
        address = part.url
    elif isinstance(part, SmtpState):
        address = f"{part.host}:{part.port}"
    else:
        address = "-"
    if stopped:
        note = STOPPED
    elif part is not None and part.running and not part.started_by_us:
        note = EXTERNAL
    else:
        note = NOT_RUNNING
    return PartReport(name, address, None, note)


def status(layout: Paths) -> tuple[list[PartReport], bool]:
    """Probe each part; healthy unless a part `up` left running does not answer."""
    state = load(layout)
    where = endpoints(layout)

    kafka_ok = asyncio.run(kafka.answers(where.kafka_bootstrap))
    postgres_ok = postgres.answers(where.database_url)
    smtp_ok = smtp_sink.answers(where.smtp_host, where.smtp_port)

    reports = [
        PartReport(
            "kafka",
            where.kafka_bootstrap,
            kafka_ok,
            _expectation(state.kafka),
            state.kafka.pid if state.kafka else None,
        ),
        PartReport(
            "postgres",
            where.database_url,
            postgres_ok,
            _expectation(state.postgres),
            state.postgres.pid if state.postgres else None,
        ),
        PartReport(
            "smtp",
            f"{where.smtp_host}:{where.smtp_port}",
            smtp_ok,
            _expectation(state.smtp),
            state.smtp.pid if state.smtp else None,
        ),
    ]
    expected = [
        part is not None and part.running
        for part in (state.kafka, state.postgres, state.smtp)
    ]
    healthy = all(
        report.answering or not wanted
        for report, wanted in zip(reports, expected, strict=True)
    )
    return reports, healthy


def _expectation(part: KafkaState | PostgresState | SmtpState | None) -> str:
    if part is None:
        return "not started by up"
    if not part.running:
        return "stopped by down"
    return "started by up" if part.started_by_us else EXTERNAL
