import textwrap
from pathlib import Path

import pytest

from shared.policy import PolicyError, Problem, load_policy, policy_from_mapping

GOOD = textwrap.dedent(
    """\
    name: test
    send_window: {start: "09:00", end: "17:00", days: [mon, tue, wed, thu, fri]}
    min_balance: "5.00"
    ladder:
      - {stage: reminder, after_days: 1,  channels: [email]}
      - {stage: second,   after_days: 10, channels: [email]}
      - {stage: final,    after_days: 21, channels: [email, letter], late_fees: true}
      - {stage: agency,   after_days: 45, action: escalate}
    """
)


def problems_of(text: str) -> list[str]:
    with pytest.raises(PolicyError) as caught:
        load_policy(text)
    return [str(problem) for problem in caught.value.problems]


def replaced(old: str, new: str) -> str:
    assert old in GOOD
    return GOOD.replace(old, new)


def test_the_test_policy_itself_is_valid() -> None:
    policy = load_policy(GOOD)

    assert len(policy.ladder) == 4


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "after_days: 21",
            "after_days: 10",
            "ladder[2].after_days: must be after ladder[1] (10 days)",
        ),
        (
            "stage: final",
            "stage: second",
            "ladder[2].stage: second is already the name of ladder[1]",
        ),
        (
            "stage: second,   after_days: 10, channels: [email]",
            "stage: second,   after_days: 10, action: escalate",
            "ladder[1].action: only the last stage may escalate",
        ),
        (
            "after_days: 45, action: escalate",
            "after_days: 45, action: escalate, channels: [letter]",
            "ladder[3].channels: an escalating stage sends nothing",
        ),
        (
            "stage: reminder, after_days: 1,  channels: [email]",
            "stage: reminder, after_days: 1,  channels: []",
            "ladder[0].channels: must list at least one of email, letter",
        ),
        (
            "channels: [email, letter]",
            "channels: [email, fax]",
            "ladder[2].channels[1]: must be 'email' or 'letter', not 'fax'",
        ),
        (
            "channels: [email, letter]",
            "channels: [email, email]",
            "ladder[2].channels[1]: email is already listed as channels[0]",
        ),
        (
            "stage: reminder",
            "stage: thank_you",
            "ladder[0].stage: thank_you is the name of a template sent outside",
        ),
        (
            "stage: reminder",
            "stage: First Reminder",
            "ladder[0].stage: must be a lower-case name",
        ),
        (
            "after_days: 1,",
            "after_days: -1,",
            "ladder[0].after_days: must be 0 or more",
        ),
        (
            "after_days: 1,",
            "after_days: 1.5,",
            "ladder[0].after_days: must be a whole number, not 1.5",
        ),
        (
            "late_fees: true",
            'late_fees: "sometimes"',
            "ladder[2].late_fees: must be true or false, not 'sometimes'",
        ),
        (
            'end: "17:00"',
            'end: "08:00"',
            "send_window.end: must be after start (09:00)",
        ),
        (
            'start: "09:00"',
            'start: "9am"',
            'send_window.start: must be a time of day written "HH:MM"',
        ),
        (
            "days: [mon, tue, wed, thu, fri]",
            "days: [mon, tue, mon]",
            "send_window.days[2]: mon is already listed as days[0]",
        ),
        (
            "days: [mon, tue, wed, thu, fri]",
            "days: [mon, tuesday]",
            "send_window.days[1]: must be 'mon', 'tue', 'wed', 'thu', 'fri', "
            "'sat' or 'sun', not 'tuesday'",
        ),
        (
            "days: [mon, tue, wed, thu, fri]",
            "days: []",
            "send_window.days: must not be empty",
        ),
        ('min_balance: "5.00"', 'min_balance: "-1"', "min_balance: must be zero"),
        ('min_balance: "5.00"', "min_balance: five", "min_balance: must be an amount"),
        ("name: test\n", "", "name: is required"),
        ("name: test\n", "name: test\nmin_gap_days: -2\n", "min_gap_days: must be 0"),
        (
            "name: test\n",
            "name: test\npre_due: {days_before: 0}\n",
            "pre_due.days_before: must be 1 or more",
        ),
        (
            "name: test\n",
            "name: test\npromise: {grace_days: soon}\n",
            "promise.grace_days: must be a whole number, not 'soon'",
        ),
        (
            "name: test\n",
            "name: test\nplan: 3\n",
            "plan: must be a mapping of keys, not 3",
        ),
    ],
)
def test_each_broken_rule_is_reported_at_its_path(
    old: str, new: str, expected: str
) -> None:
    problems = problems_of(replaced(old, new))

    assert any(problem.startswith(expected) for problem in problems), problems


def test_every_problem_is_reported_at_once_in_file_order() -> None:
    text = textwrap.dedent(
        """\
        name: several
        send_window: {start: "09:00", end: "17:00", days: [mon, mon]}
        min_gap_days: -1
        ladder:
          - {stage: reminder, after_days: 10, chanels: [email]}
          - {stage: second,   after_days: 5,  channels: [email]}
        promise: {grace_days: x}
        """
    )

    with pytest.raises(PolicyError) as caught:
        load_policy(text)

    assert caught.value.problems == [
        Problem("send_window.days[1]", "mon is already listed as days[0]", 2),
        Problem("min_gap_days", "must be 0 or more", 3),
        Problem("ladder[0].chanels", "unknown key; did you mean `channels`?", 5),
        Problem("ladder[1].after_days", "must be after ladder[0] (10 days)", 6),
        Problem("promise.grace_days", "must be a whole number, not 'x'", 7),
    ]


def test_an_unknown_key_is_named_with_the_closest_known_one() -> None:
    problems = problems_of(replaced("min_balance", "min_balanse"))

    assert "min_balanse: unknown key; did you mean `min_balance`?" in problems


def test_an_unknown_key_with_no_close_match_lists_the_known_keys() -> None:
    problems = problems_of(GOOD + "promise: {colour: blue}\n")

    assert problems == [
        "promise.colour: unknown key; known keys are grace_days, confirm"
    ]


def test_a_key_given_twice_is_a_problem_not_silently_the_last() -> None:
    with pytest.raises(PolicyError) as caught:
        load_policy(GOOD + "min_balance: '50.00'\n")

    assert caught.value.problems == [
        Problem("min_balance", "is given twice (first on line 3)", 9)
    ]


def test_a_yaml_syntax_error_names_its_line_and_column() -> None:
    text = "name: test\nmin_gap_days: 5\n  skip_holidays: true\n"

    with pytest.raises(PolicyError) as caught:
        load_policy(text)

    assert caught.value.problems == [
        Problem(
            "",
            "is not valid YAML at line 3, column 16: "
            "mapping values are not allowed here",
            3,
        )
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "is empty; a policy needs at least name and ladder"),
        ("- a list\n", "a policy is a mapping of keys, like `name: standard-b2b`"),
    ],
)
def test_a_document_that_is_not_a_policy_says_so(text: str, expected: str) -> None:
    assert problems_of(text) == [expected]


def test_a_file_name_given_as_text_is_not_mistaken_for_a_policy() -> None:
    problems = problems_of("policies/standard-b2b.yaml")

    assert problems == ["is a file name, not a policy; pass a Path to read a file"]


def test_unquoted_times_are_read_as_times_not_as_minutes() -> None:
    policy = load_policy(replaced('end: "17:00"', "end: 17:00"))

    assert policy.send_window.end.hour == 17


def test_an_unquoted_min_balance_is_read_as_the_number_written() -> None:
    policy = load_policy(replaced('min_balance: "5.00"', "min_balance: 5.25"))

    assert str(policy.min_balance) == "5.25"


def test_a_file_that_cannot_be_read_is_a_problem(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="cannot be read"):
        load_policy(tmp_path / "missing.yaml")


def test_a_mapping_from_json_is_checked_by_the_same_rules() -> None:
    data = {
        "name": "from-http",
        "min_balance": 5.5,
        "ladder": [
            {"stage": "reminder", "after_days": 3, "channels": ["email"]},
            {"stage": "again", "after_days": 3, "channel": ["email"]},
        ],
    }

    with pytest.raises(PolicyError) as caught:
        policy_from_mapping(data)

    assert [str(problem) for problem in caught.value.problems] == [
        "ladder[1].channel: unknown key; did you mean `channels`?",
        "ladder[1].after_days: must be after ladder[0] (3 days)",
    ]


def test_a_valid_mapping_gives_the_policy() -> None:
    policy = policy_from_mapping(load_policy(GOOD).to_data())

    assert policy == load_policy(GOOD)
