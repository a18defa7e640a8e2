"""The producer and consumer settings every service runs with."""

from faststream.middlewares import AckPolicy

from services.scheduler.app import create_app
from services.scheduler.settings import SchedulerSettings
from shared.messaging.config import CONSUMER, PRODUCER


def test_the_producer_waits_for_all_replicas_and_never_doubles_a_retry():
    assert PRODUCER.as_kwargs() == {
        "acks": "all",
        "enable_idempotence": True,
        "linger_ms": 5,
        "compression_type": "gzip",
        "request_timeout_ms": 30_000,
    }


def test_every_subscriber_commits_only_after_its_handler_returns():
    app = create_app(SchedulerSettings(consumer_group="overdue-scheduler-x"))

    subscribers = list(app.broker.subscribers)

    assert {s.topic_names[0] for s in subscribers} == {
        "ledger.events",
        "ledger.creditors",
        "notifier.events",
    }
    for subscriber in subscribers:
        assert subscriber.ack_policy is AckPolicy.NACK_ON_ERROR
        assert subscriber.group_id == "overdue-scheduler-x"
        options = subscriber._connection_args
        assert options["enable_auto_commit"] is False
        assert options["auto_offset_reset"] == "earliest"
        assert options["isolation_level"] == "read_committed"
        # A batch subscriber may fetch a whole batch a poll, never fewer.
        assert options["max_poll_records"] >= CONSUMER.max_poll_records


def test_service_settings_read_their_own_variables_before_the_shared_ones(
    monkeypatch,
):
    monkeypatch.setenv("OVERDUE_PORT", "9000")
    monkeypatch.setenv("OVERDUE_SCHEDULER_PORT", "9002")
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://db/scheduler")
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "kafka:9092")

    settings = SchedulerSettings()

    assert settings.port == 9002
    assert settings.database_url == "postgresql+psycopg://db/scheduler"
    assert settings.kafka_bootstrap_servers == "kafka:9092"
    assert settings.consumer_group == "overdue-scheduler"


def test_a_services_own_database_beats_the_shared_names(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://db/shared")
    monkeypatch.setenv("OVERDUE_DATABASE_URL", "postgresql+psycopg://db/overdue")
    monkeypatch.setenv("OVERDUE_SCHEDULER_DATABASE_URL", "postgresql+psycopg://db/own")

    settings = SchedulerSettings()

    assert settings.database_url == "postgresql+psycopg://db/own"


def test_command_line_values_win_over_the_environment(monkeypatch):
    monkeypatch.setenv("OVERDUE_SCHEDULER_HOST", "0.0.0.0")

    settings = SchedulerSettings(host="127.0.0.2", kafka_bootstrap_servers="k:1")

    assert (settings.host, settings.kafka_bootstrap_servers) == ("127.0.0.2", "k:1")
