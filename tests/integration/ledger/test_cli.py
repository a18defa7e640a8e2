"""`overdue ledger add-creditor`, `set-policy` and `import` on a SQLite database."""

from pathlib import Path

import pytest
from typer.testing import CliRunner

from services.ledger.service import Ledger
from shared.cli import app
from shared.clock import SystemClock
from shared.db.engine import make_engine
from shared.topics import LEDGER_CREDITORS, LEDGER_EVENTS
from tests.support.ledger import outbox, outbox_types

DATA = Path(__file__).parents[2] / "data" / "csv"
POLICIES = Path(__file__).parents[3] / "policies"

CREDITOR = [
    "--name",
    "ACME Supplies GmbH",
    "--country",
    "DE",
    "--currency",
    "EUR",
    "--timezone",
    "Europe/Berlin",
    "--address",
    "Hauptstr. 1",
    "--city",
    "Berlin",
    "--postcode",
    "10115",
    "--sender-email",
    "ar@acme.example",
    "--iban",
    "DE89370400440532013000",
]


@pytest.fixture
def database(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'ledger.db'}"


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def unwrapped(output: str) -> str:
    """The output as one line: the console wraps long lines at its width."""
    return " ".join(output.split())


def ledger_on(database: str) -> Ledger:
    return Ledger(make_engine(database), SystemClock())


def add_acme(runner: CliRunner, database: str, *extra: str) -> tuple[int, str]:
    result = runner.invoke(
        app,
        ["ledger", "add-creditor", "acme", *CREDITOR, *extra, "--database", database],
    )
    return result.exit_code, result.output


def test_add_creditor_prints_a_key_alone_on_the_last_line_that_authenticates(
    runner: CliRunner, database: str
) -> None:
    exit_code, output = add_acme(runner, database)

    key = output.strip().splitlines()[-1]
    assert exit_code == 0
    assert key == key.strip() and " " not in key
    assert ledger_on(database).authenticate(key) == "acme"
    assert outbox_types(ledger_on(database)) == ["creditor.updated"]


@pytest.mark.parametrize(
    ("option", "value", "named"),
    [("--country", "Germany", "country"), ("--currency", "EURO", "currency")],
)
def test_add_creditor_refuses_a_bad_code_naming_it(
    runner: CliRunner, database: str, option: str, value: str, named: str
) -> None:
    exit_code, output = add_acme(runner, database, option, value)

    assert exit_code == 1
    assert "error:" in output
    assert named in output
    assert "Traceback" not in output


def test_add_creditor_twice_is_refused(runner: CliRunner, database: str) -> None:
    add_acme(runner, database)

    exit_code, output = add_acme(runner, database)

    assert exit_code == 1
    assert "exists already" in output


def test_set_policy_keeps_a_valid_policy_and_publishes_it(
    runner: CliRunner, database: str
) -> None:
    add_acme(runner, database)

    result = runner.invoke(
        app,
        [
            "ledger",
            "set-policy",
            "acme",
            str(POLICIES / "standard-b2b.yaml"),
            "--database",
            database,
        ],
    )

    assert result.exit_code == 0, result.output
    assert "standard-b2b" in result.output
    published = outbox(ledger_on(database), LEDGER_CREDITORS.name)
    assert published[-1]["data"]["policy"]["name"] == "standard-b2b"


def test_set_policy_prints_each_problem_of_a_broken_policy(
    runner: CliRunner, database: str, tmp_path: Path
) -> None:
    add_acme(runner, database)
    broken = tmp_path / "broken.yaml"
    broken.write_text(
        (POLICIES / "standard-b2b.yaml")
        .read_text()
        .replace("min_gap_days: 5", "min_gap_days: -5")
        .replace("channels: [email]}", "channels: [pigeon]}", 1)
    )

    result = runner.invoke(
        app, ["ledger", "set-policy", "acme", str(broken), "--database", database]
    )

    assert result.exit_code == 1
    text = unwrapped(result.output)
    assert text.count("broken.yaml: ") == 2
    assert "min_gap_days: must be 0 or more" in text
    assert "ladder[0].channels[0]: must be 'email' or 'letter'" in text
    assert len(outbox(ledger_on(database), LEDGER_CREDITORS.name)) == 1


@pytest.mark.parametrize("name", sorted(p.name for p in DATA.glob("good-*")))
def test_import_of_a_good_file_records_its_facts(
    runner: CliRunner, database: str, name: str
) -> None:
    add_acme(runner, database)

    result = runner.invoke(
        app,
        [
            "ledger",
            "import",
            str(DATA / name),
            "--creditor",
            "acme",
            "--database",
            database,
        ],
    )

    assert result.exit_code == 0, result.output
    assert "6 facts recorded" in unwrapped(result.output)
    facts = outbox_types(ledger_on(database), LEDGER_EVENTS.name)
    assert "invoice.issued" in facts


@pytest.mark.parametrize("name", sorted(p.name for p in DATA.glob("bad-*")))
def test_import_of_a_bad_file_prints_every_problem_and_records_nothing(
    runner: CliRunner, database: str, name: str
) -> None:
    add_acme(runner, database)

    result = runner.invoke(
        app,
        [
            "ledger",
            "import",
            str(DATA / name),
            "--creditor",
            "acme",
            "--database",
            database,
        ],
    )

    text = unwrapped(result.output)
    assert result.exit_code == 1
    assert f"{text.count(f'{name}: line ')} problem(s): nothing was recorded" in text
    assert outbox_types(ledger_on(database), LEDGER_EVENTS.name) == []
