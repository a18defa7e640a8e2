"""The service processes of `overdue up`: what is recorded, stopping, waiting."""

import sys
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from shared.cli import app
from shared.clock import read_offset, write_offset
from shared.devstack import services
from shared.devstack.errors import InfraError
from shared.devstack.paths import Paths
from shared.devstack.process import is_alive, spawn, terminate


@pytest.fixture
def layout(tmp_path: Path) -> Paths:
    return Paths(tmp_path / "var")


def pretend_service(layout: Paths, name: str) -> services.Running:
    """A process whose command line reads like `overdue <name> serve`, sleeping."""
    log = services.log_file(layout, name)
    sleeper = [sys.executable, "-c", "import time; time.sleep(60)", f"{name} serve"]
    process = spawn(sleeper, log=log)
    return services.Running(name, process.pid, 1, str(log), "sqlite://")


def test_down_with_nothing_started_stops_nothing_and_is_no_error(
    layout: Paths,
) -> None:
    assert services.stop(layout, timeout=1) == dict.fromkeys(services.SERVICES, False)


def test_what_up_records_is_found_again_and_stopped_by_down(layout: Paths) -> None:
    ledger = pretend_service(layout, "ledger")
    services.record(layout, {"ledger": ledger})

    found = services.running(layout)
    stopped = services.stop(layout, timeout=5)

    assert found == {"ledger": ledger}
    assert stopped == {"ledger": True, "scheduler": False, "notifier": False}
    assert not is_alive(ledger.pid)
    assert services.recorded(layout) == {}
    assert not services.pid_file(layout, "ledger").exists()


def test_a_recorded_pid_now_held_by_another_program_is_not_taken_for_a_service(
    layout: Paths,
) -> None:
    stranger = pretend_service(layout, "something-else")
    services.record(layout, {"ledger": replace(stranger, name="ledger")})

    assert services.running(layout) == {}
    assert services.stop(layout, timeout=1)["ledger"] is False
    assert is_alive(stranger.pid)
    terminate(stranger.pid, timeout=5)


def test_a_service_that_exits_at_start_is_named_with_its_log(layout: Paths) -> None:
    log = services.log_file(layout, "ledger")
    process = spawn([sys.executable, "-c", "print('no database'); exit(3)"], log=log)
    process.wait()
    exited = services.Running("ledger", process.pid, 1, str(log), "sqlite://")

    with pytest.raises(InfraError, match="ledger exited at start") as raised:
        services.wait_healthy([exited], timeout=5)

    assert str(log) in str(raised.value)
    assert "no database" in str(raised.value)


def test_a_service_that_never_answers_is_named_with_its_log(layout: Paths) -> None:
    silent = pretend_service(layout, "scheduler")

    try:
        with pytest.raises(InfraError, match="scheduler did not answer") as raised:
            services.wait_healthy([silent], timeout=0.5)
    finally:
        terminate(silent.pid, timeout=5)

    assert silent.log in str(raised.value)


def test_on_sqlite_each_service_gets_a_file_of_its_own(layout: Paths) -> None:
    url = services.service_database("sqlite:///var/any.db", "ledger", layout)

    assert url == f"sqlite:///{layout.var}/ledger.db"


# -- `overdue clock` ------------------------------------------------------------


def clock(*args: str) -> tuple[int, str]:
    done = CliRunner().invoke(app, ["clock", *args], env={"COLUMNS": "200"})
    return done.exit_code, done.output


def test_a_new_clock_file_may_start_in_the_past(tmp_path: Path) -> None:
    file = tmp_path / "clock"

    code, output = clock("set", "2026-01-05T08:00:00+01:00", "--file", str(file))

    assert code == 0, output
    assert "2026-01-05T07:00:00+00:00" in output
    assert read_offset(file) is not None


def test_the_clock_advances_by_a_duration(tmp_path: Path) -> None:
    file = tmp_path / "clock"
    write_offset(file, timedelta(days=1))

    code, output = clock("advance", "2d", "--file", str(file))

    assert code == 0, output
    assert read_offset(file) == timedelta(days=3)


def test_the_clock_is_not_set_back(tmp_path: Path) -> None:
    file = tmp_path / "clock"
    write_offset(file, timedelta(days=1))

    code, output = clock("set", datetime.now(UTC).isoformat(), "--file", str(file))

    assert code == 1
    assert "never goes back" in output
    assert read_offset(file) == timedelta(days=1)


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("set", "2027-03-01T08:00"), "no UTC offset"),
        (("set", "next monday"), "no ISO 8601 moment"),
        (("advance", "3 days"), "no duration"),
    ],
)
def test_a_moment_or_duration_it_cannot_read_is_refused(
    tmp_path: Path, args: tuple[str, str], says: str
) -> None:
    code, output = clock(*args, "--file", str(tmp_path / "clock"))

    assert code == 1
    assert says in output


def test_show_tells_the_moment_and_the_offset(tmp_path: Path) -> None:
    file = tmp_path / "clock"
    write_offset(file, timedelta(hours=2))

    code, output = clock("show", "--file", str(file))

    assert code == 0, output
    assert "offset: +2:00:00" in output


def test_stopping_some_services_keeps_the_record_of_the_others(layout: Paths) -> None:
    ledger = pretend_service(layout, "ledger")
    scheduler = pretend_service(layout, "scheduler")
    services.record(layout, {"ledger": ledger, "scheduler": scheduler})

    stopped = services.stop(layout, timeout=5, only=["scheduler"])

    try:
        assert stopped == {"scheduler": True}
        assert services.running(layout) == {"ledger": ledger}
    finally:
        services.stop(layout, timeout=5)


def test_up_without_the_stack_says_so_and_starts_nothing(layout: Paths) -> None:
    env = {"OVERDUE_VAR_DIR": str(layout.var), "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1"}

    done = CliRunner().invoke(app, ["up"], env=env)

    assert done.exit_code == 1
    assert "Kafka does not answer at 127.0.0.1:1" in done.output
    assert "overdue infra up" in done.output
    assert services.recorded(layout) == {}
