"""Every example of SPEC §3-§4 as a scenario, run by `overdue simulate` as a user would.

Each `scenarios/<name>.yaml` says in its opening comment which SPEC sentence it
checks and works its timeline out by hand; `scenarios/<name>.jsonl` is that
timeline. A test runs the scenario over the real Kafka (or the in-process
broker) and compares what the program wrote with it, line by line.

The runs over Kafka start together when the session does, a few at a time
(`OVERDUE_E2E_JOBS`, 4 unless set): each takes seconds of its own, most of it
the command starting up, so one after the other they would take minutes.
"""

import difflib
import json
import os
import subprocess
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from shared.devstack.state import endpoints

HERE = Path(__file__).parent
ROOT = HERE.parents[1]
SCENARIOS = HERE / "scenarios"
MISTAKES = HERE / "mistakes"
OVERDUE = ROOT / ".venv" / "bin" / "overdue"

JOBS = int(os.environ.get("OVERDUE_E2E_JOBS", "4"))
RUN_TIMEOUT = 600.0

ENGINE_BUGS: dict[str, str] = {}
"""Scenarios where the program, not the expectation, disagrees with the SPEC."""

ON_BOTH_BROKERS = (
    "spec-example",
    "thank-you",
    "channels-bounce",
    "plan-broken",
    "timezone-new-york",
)
"""The scenarios also run on the in-process broker: one of each kind of line."""


def scenarios(names: tuple[str, ...] | None = None) -> list[object]:
    """The scenario files with an expected timeline, as parameters by name."""
    found = sorted(
        p for p in SCENARIOS.glob("*.yaml") if p.with_suffix(".jsonl").exists()
    )
    return [
        pytest.param(
            path,
            id=path.stem,
            marks=[pytest.mark.xfail(strict=True, reason=ENGINE_BUGS[path.stem])]
            if path.stem in ENGINE_BUGS
            else [],
        )
        for path in found
        if names is None or path.stem in names
    ]


@dataclass(frozen=True)
class Run:
    """What one `overdue simulate` left: its exit code, its stderr, its timeline."""

    returncode: int
    stderr: str
    timeline: Path


def simulate(
    scenario: Path, out: Path, broker: str, env: dict[str, str] | None = None
) -> Run:
    """`overdue simulate SCENARIO --out OUT --broker BROKER`, from the repository."""
    command = [str(OVERDUE), "simulate", str(scenario), "--out", str(out)]
    command += ["--broker", broker, "--quiet"]
    if broker == "kafka":
        command += ["--kafka", endpoints().kafka_bootstrap]
    done = subprocess.run(
        command,
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
        check=False,
    )
    return Run(done.returncode, done.stderr, out)


SELECTING = {
    "kafka": "test_the_timeline_over_kafka_is_the_one_the_spec_gives",
    "memory": "test_the_timeline_in_memory_is_the_one_the_spec_gives",
}
"""Which test asks for the runs on each broker."""


class Runs:
    """Simulations started early on a few workers; a test waits for its own."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.pool = ThreadPoolExecutor(max_workers=JOBS)
        self.started: dict[tuple[str, Path], Future[Run]] = {}

    def start(self, broker: str, scenario: Path) -> None:
        if (broker, scenario) not in self.started:
            out = self.folder / f"{scenario.stem}.{broker}.jsonl"
            self.started[(broker, scenario)] = self.pool.submit(
                simulate, scenario, out, broker
            )

    def of(self, broker: str, scenario: Path) -> Run:
        self.start(broker, scenario)
        return self.started[(broker, scenario)].result()

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)


@pytest.fixture(scope="session")
def runs(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Runs]:
    """Every run the session's selected tests will ask for, started at once."""
    runs = Runs(tmp_path_factory.mktemp("timelines"))
    for item in request.session.items:
        callspec = getattr(item, "callspec", None)
        for broker, test in SELECTING.items():
            if getattr(item, "originalname", None) == test and callspec is not None:
                runs.start(broker, callspec.params["scenario"])
    yield runs
    runs.close()


def timeline_lines(path: Path) -> list[str]:
    """Each line as its fields in the order written, so key order counts too."""
    lines = []
    for number, text in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not text.strip():
            continue
        try:
            fields = json.loads(text, object_pairs_hook=list)
        except json.JSONDecodeError as error:
            pytest.fail(f"{path}:{number}: not JSON: {error}: {text}", pytrace=False)
        lines.append(json.dumps(dict(fields), ensure_ascii=False))
    return lines


def assert_timeline_is_expected(scenario: Path, run: Run) -> None:
    """The run succeeded and wrote the timeline worked out in the scenario."""
    if run.returncode != 0:
        pytest.fail(
            f"overdue simulate {scenario.name} exited {run.returncode}:\n"
            f"{run.stderr[-4000:]}",
            pytrace=False,
        )
    expected = scenario.with_suffix(".jsonl")
    want, got = timeline_lines(expected), timeline_lines(run.timeline)
    if want != got:
        diff = difflib.unified_diff(
            want,
            got,
            fromfile=f"{expected.name} (worked out from the SPEC)",
            tofile="written by overdue simulate",
            lineterm="",
        )
        pytest.fail(
            f"{scenario.name}: the timeline is not the one the SPEC gives\n"
            + "\n".join(diff),
            pytrace=False,
        )


@pytest.mark.integration
@pytest.mark.parametrize("scenario", scenarios())
def test_the_timeline_over_kafka_is_the_one_the_spec_gives(
    scenario: Path, runs: Runs
) -> None:
    run = runs.of("kafka", scenario)

    assert_timeline_is_expected(scenario, run)


@pytest.mark.parametrize("scenario", scenarios(ON_BOTH_BROKERS))
def test_the_timeline_in_memory_is_the_one_the_spec_gives(
    scenario: Path, runs: Runs
) -> None:
    run = runs.of("memory", scenario)

    assert_timeline_is_expected(scenario, run)


@pytest.mark.integration
def test_a_scenario_gives_the_same_bytes_twice_and_on_either_broker(
    tmp_path: Path,
) -> None:
    scenario = SCENARIOS / "spec-example.yaml"

    with ThreadPoolExecutor(max_workers=3) as pool:
        started = [
            pool.submit(simulate, scenario, tmp_path / name, broker)
            for name, broker in (
                ("kafka-1.jsonl", "kafka"),
                ("kafka-2.jsonl", "kafka"),
                ("memory.jsonl", "memory"),
            )
        ]
        runs = [future.result() for future in started]

    assert [run.returncode for run in runs] == [0, 0, 0], [r.stderr for r in runs]
    first = runs[0].timeline.read_bytes()
    assert first
    assert runs[1].timeline.read_bytes() == first
    assert runs[2].timeline.read_bytes() == first


MISTAKE = MISTAKES / "misspelt-amount.yaml"
MISTAKE_AT = f"{MISTAKE.relative_to(ROOT)}:17: events[1].amount: "
"""Where the mistake is: the file as given, line 17, the field's path."""


@pytest.fixture(scope="module")
def mistake_run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    """The scenario with a mistake, run once for the tests that read its stderr."""
    # Without COLUMNS, as when stderr goes to a file or a CI log.
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    out = tmp_path_factory.mktemp("mistake") / "t.jsonl"
    return simulate(MISTAKE.relative_to(ROOT), out, "memory", env)


def test_a_scenario_with_a_mistake_exits_2_naming_its_line_and_field(
    mistake_run: Run,
) -> None:
    assert mistake_run.returncode == 2, mistake_run.stderr
    assert any(
        line.startswith(MISTAKE_AT) for line in mistake_run.stderr.splitlines()
    ), mistake_run.stderr
    assert "200,00" in mistake_run.stderr
    assert not mistake_run.timeline.exists()


def test_each_mistake_is_one_line_of_stderr(mistake_run: Run) -> None:
    lines = mistake_run.stderr.strip().splitlines()
    assert len(lines) == 1, mistake_run.stderr
    assert lines[0].startswith(MISTAKE_AT)
