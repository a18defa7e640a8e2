from pathlib import Path

import pytest

from shared.devstack.paths import Paths
from shared.devstack.state import (
    InfraState,
    KafkaState,
    PostgresState,
    SmtpState,
    endpoints,
    load,
    save,
)

ENVIRONMENT = (
    "KAFKA_BOOTSTRAP_SERVERS",
    "OVERDUE_KAFKA_BOOTSTRAP_SERVERS",
    "DATABASE_URL",
    "OVERDUE_INFRA_KAFKA_PORT",
    "OVERDUE_INFRA_SMTP_PORT",
    "OVERDUE_INFRA_POSTGRES_PORT",
)


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    for name in ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def layout(tmp_path) -> Paths:
    return Paths(tmp_path / "var")


def _recorded() -> InfraState:
    return InfraState(
        kafka=KafkaState("127.0.0.1:19092", pid=41, started_by_us=True, running=True),
        postgres=PostgresState(
            "postgresql+psycopg://overdue@127.0.0.1:54400/overdue",
            port=54400,
            pid=42,
            data_dir="/var/pg",
            started_by_us=True,
            running=True,
        ),
        smtp=SmtpState("127.0.0.1", 12525, "/srv/outbox", pid=43, running=True),
    )


def test_the_state_file_reads_back_what_was_written(layout):
    save(_recorded(), layout)

    assert load(layout) == _recorded()


def test_a_missing_state_file_reads_as_nothing_started(layout):
    assert load(layout) == InfraState()


def test_a_corrupt_state_file_reads_as_nothing_started(layout):
    layout.state_file.parent.mkdir(parents=True)
    layout.state_file.write_text("{not json")

    assert load(layout) == InfraState()


def test_keys_a_newer_version_adds_to_a_part_do_not_break_loading():
    text = '{"kafka": {"bootstrap": "h:1", "pid": 7, "rack": "a"}, "version": 2}'

    state = InfraState.from_json(text)

    assert state.kafka == KafkaState("h:1", pid=7)
    assert state.extra == {"version": 2}


def test_endpoints_are_where_up_recorded_each_part(layout):
    save(_recorded(), layout)

    where = endpoints(layout)

    assert where.kafka_bootstrap == "127.0.0.1:19092"
    assert where.database_url == "postgresql+psycopg://overdue@127.0.0.1:54400/overdue"
    assert (where.smtp_host, where.smtp_port) == ("127.0.0.1", 12525)
    assert where.outbox_dir == Path("/srv/outbox")


def test_the_users_own_kafka_and_database_win_over_the_recorded_ones(
    layout, monkeypatch
):
    save(_recorded(), layout)
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "kafka.internal:9092")
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://app@db/overdue")

    where = endpoints(layout)

    assert where.kafka_bootstrap == "kafka.internal:9092"
    assert where.database_url == "postgresql+psycopg://app@db/overdue"


def test_without_a_state_file_endpoints_are_the_defaults(layout):
    where = endpoints(layout)

    assert where.kafka_bootstrap == "127.0.0.1:9092"
    assert where.database_url == "postgresql+psycopg://overdue@127.0.0.1:54329/overdue"
    assert (where.smtp_host, where.smtp_port) == ("127.0.0.1", 2525)
    assert where.outbox_dir == layout.outbox


def test_without_a_state_file_the_configured_ports_make_the_defaults(
    layout, monkeypatch
):
    monkeypatch.setenv("OVERDUE_INFRA_KAFKA_PORT", "19092")
    monkeypatch.setenv("OVERDUE_INFRA_SMTP_PORT", "12525")

    where = endpoints(layout)

    assert where.kafka_bootstrap == "127.0.0.1:19092"
    assert where.smtp_port == 12525
