from pathlib import Path

import yaml
from typer.testing import CliRunner

from shared.cli import app
from shared.policy import load_policy

POLICIES = Path(__file__).resolve().parents[2] / "policies"
STANDARD = POLICIES / "standard-b2b.yaml"

runner = CliRunner()


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "policy.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_valid_policy_is_reported_ok_with_its_name_and_stages() -> None:
    result = runner.invoke(app, ["policy", "check", str(STANDARD)])

    assert result.exit_code == 0
    assert result.output == f"{STANDARD}: ok (standard-b2b, 4 stages)\n"


def test_each_problem_is_printed_with_file_path_and_line_and_exit_is_1(
    tmp_path: Path,
) -> None:
    path = write(
        tmp_path,
        "name: bad\n"
        "ladder:\n"
        "  - {stage: reminder, after_days: 10, chanels: [email]}\n"
        "  - {stage: second, after_days: 5, channels: [email]}\n",
    )

    result = runner.invoke(app, ["policy", "check", str(path)])

    assert result.exit_code == 1
    assert result.output.splitlines() == [
        f"{path}: ladder[0].chanels: unknown key; did you mean `channels`? (line 3)",
        f"{path}: ladder[1].after_days: must be after ladder[0] (10 days) (line 4)",
    ]


def test_every_file_is_checked_even_after_a_bad_one(tmp_path: Path) -> None:
    missing = tmp_path / "missing.yaml"

    result = runner.invoke(app, ["policy", "check", str(missing), str(STANDARD)])

    assert result.exit_code == 1
    assert result.output.splitlines() == [
        f"{missing}: cannot be read: No such file or directory",
        f"{STANDARD}: ok (standard-b2b, 4 stages)",
    ]


def test_a_yaml_syntax_error_is_printed_with_its_line(tmp_path: Path) -> None:
    path = write(tmp_path, "name: [unclosed\n")

    result = runner.invoke(app, ["policy", "check", str(path)])

    assert result.exit_code == 1
    assert result.output.startswith(f"{path}: is not valid YAML at line 2, column 1")


def test_check_without_a_file_is_a_usage_error() -> None:
    result = runner.invoke(app, ["policy", "check"])

    assert result.exit_code == 2


def test_check_help_says_what_it_prints() -> None:
    result = runner.invoke(app, ["policy", "check", "--help"])

    assert result.exit_code == 0
    assert "every problem with its path" in result.output


def test_show_prints_the_policy_with_every_default_and_it_reads_back(
    tmp_path: Path,
) -> None:
    path = write(
        tmp_path,
        "name: short\n"
        "ladder:\n"
        "  - {stage: reminder, after_days: 7, channels: [email]}\n",
    )

    result = runner.invoke(app, ["policy", "show", str(path)])

    assert result.exit_code == 0
    shown = yaml.safe_load(result.output)
    assert shown["send_window"] == {
        "start": "09:00",
        "end": "17:00",
        "days": ["mon", "tue", "wed", "thu", "fri"],
    }
    assert shown["min_balance"] == "0"
    assert shown["pre_due"] is None
    assert load_policy(result.output) == load_policy(path)


def test_show_of_a_bad_policy_prints_its_problems_and_exits_1(tmp_path: Path) -> None:
    path = write(tmp_path, "name: short\n")

    result = runner.invoke(app, ["policy", "show", str(path)])

    assert result.exit_code == 1
    assert "ladder: is required" in result.output
