import pytest

from shared.devstack import stack
from shared.devstack.paths import Paths
from shared.devstack.state import (
    InfraState,
    KafkaState,
    PostgresState,
    SmtpState,
    save,
)


@pytest.fixture
def layout(tmp_path, monkeypatch) -> Paths:
    for name in ("KAFKA_BOOTSTRAP_SERVERS", "DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    return Paths(tmp_path / "var")


@pytest.fixture
def answering(monkeypatch):
    """Which parts answer their probe; all of them unless a test says otherwise."""
    parts = {"kafka": True, "postgres": True, "smtp": True}

    async def kafka_answers(bootstrap: str) -> bool:
        return parts["kafka"]

    monkeypatch.setattr(stack.kafka, "answers", kafka_answers)
    monkeypatch.setattr(stack.postgres, "answers", lambda url: parts["postgres"])
    monkeypatch.setattr(stack.smtp_sink, "answers", lambda h, p: parts["smtp"])
    return parts


def _started(running: bool = True, kafka_ours: bool = True) -> InfraState:
    return InfraState(
        kafka=KafkaState("127.0.0.1:19092", started_by_us=kafka_ours, running=running),
        postgres=PostgresState(
            "postgresql+psycopg://overdue@127.0.0.1:54329/overdue",
            started_by_us=True,
            running=running,
        ),
        smtp=SmtpState(
            "127.0.0.1", 12525, "/outbox", started_by_us=True, running=running
        ),
    )


def test_status_is_healthy_when_everything_up_started_answers(layout, answering):
    save(_started(), layout)

    reports, healthy = stack.status(layout)

    assert healthy
    assert [r.part for r in reports] == ["kafka", "postgres", "smtp"]
    assert all(r.answering for r in reports)


def test_status_is_unhealthy_when_a_part_up_started_stops_answering(layout, answering):
    save(_started(), layout)
    answering["postgres"] = False

    reports, healthy = stack.status(layout)

    assert not healthy
    assert {r.part: r.answering for r in reports}["postgres"] is False


def test_status_is_unhealthy_when_the_users_own_kafka_stops_answering(
    layout, answering
):
    save(_started(kafka_ours=False), layout)
    answering["kafka"] = False

    reports, healthy = stack.status(layout)

    assert not healthy
    assert reports[0].note == stack.EXTERNAL


def test_status_after_down_is_healthy_though_nothing_answers(layout, answering):
    save(_started(running=False), layout)
    answering.update(kafka=False, postgres=False, smtp=False)

    reports, healthy = stack.status(layout)

    assert healthy
    assert {r.note for r in reports} == {"stopped by down"}


def test_status_before_any_up_is_healthy_and_says_so(layout, answering):
    answering.update(kafka=False, postgres=False, smtp=False)

    reports, healthy = stack.status(layout)

    assert healthy
    assert {r.note for r in reports} == {"not started by up"}
