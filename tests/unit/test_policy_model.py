from datetime import time
from decimal import Decimal
from pathlib import Path

import pytest
from pydantic import ValidationError

from shared.policy import RESERVED_TEMPLATES, Policy, Stage, load_policy

POLICIES = Path(__file__).resolve().parents[2] / "policies"

MINIMAL = {
    "name": "minimal",
    "ladder": [{"stage": "reminder", "after_days": 7, "channels": ["email"]}],
}


def test_the_spec_example_loads_with_exactly_the_values_it_gives() -> None:
    policy = load_policy(POLICIES / "standard-b2b.yaml")

    assert policy.name == "standard-b2b"
    assert policy.send_window.start == time(9, 0)
    assert policy.send_window.end == time(17, 0)
    assert policy.send_window.days == ["mon", "tue", "wed", "thu", "fri"]
    assert policy.skip_holidays is True
    assert policy.min_gap_days == 5
    assert policy.min_balance == Decimal("5.00")
    assert policy.pre_due is not None
    assert policy.pre_due.days_before == 3
    assert [(s.stage, s.after_days) for s in policy.ladder] == [
        ("reminder", 1),
        ("second", 10),
        ("final", 21),
        ("agency", 45),
    ]
    assert [s.channels for s in policy.ladder] == [
        ["email"],
        ["email"],
        ["email", "letter"],
        [],
    ]
    assert [s.late_fees for s in policy.ladder] == [False, False, True, False]
    assert [s.escalates for s in policy.ladder] == [False, False, False, True]
    assert (policy.promise.grace_days, policy.promise.confirm) == (1, True)
    assert (policy.plan.reminder_days_before, policy.plan.grace_days) == (3, 2)
    assert policy.dispute.acknowledge is True
    assert policy.thank_you is True
    assert policy.attach_statement is False


@pytest.mark.parametrize("path", sorted(POLICIES.glob("*.yaml")), ids=lambda p: p.name)
def test_every_example_policy_is_valid(path: Path) -> None:
    policy = load_policy(path)

    assert policy.ladder


def test_a_policy_with_only_a_name_and_a_ladder_takes_the_documented_defaults() -> None:
    policy = Policy.model_validate(MINIMAL)

    assert policy.send_window.start == time(9, 0)
    assert policy.send_window.end == time(17, 0)
    assert policy.send_window.days == ["mon", "tue", "wed", "thu", "fri"]
    assert policy.skip_holidays is True
    assert policy.min_gap_days == 5
    assert policy.min_balance == Decimal("0")
    assert policy.pre_due is None
    assert (policy.promise.grace_days, policy.promise.confirm) == (1, True)
    assert (policy.plan.reminder_days_before, policy.plan.grace_days) == (3, 2)
    assert policy.dispute.acknowledge is True
    assert policy.thank_you is True
    assert policy.attach_statement is False
    assert policy.ladder[0].late_fees is False


def test_as_json_data_times_and_amounts_are_text_and_read_back_the_same() -> None:
    policy = load_policy(POLICIES / "standard-b2b.yaml")

    data = policy.to_data()

    assert data["send_window"]["start"] == "09:00"
    assert data["min_balance"] == "5.00"
    assert Policy.model_validate(data) == policy


def test_a_policy_cannot_be_changed_once_read() -> None:
    policy = Policy.model_validate(MINIMAL)

    with pytest.raises(ValidationError):
        policy.min_gap_days = 1  # type: ignore[misc]


def test_a_stage_is_found_by_its_name() -> None:
    policy = load_policy(POLICIES / "standard-b2b.yaml")

    assert policy.stage("final").late_fees is True
    assert policy.stages == ["reminder", "second", "final", "agency"]
    with pytest.raises(KeyError):
        policy.stage("nonexistent")


@pytest.mark.parametrize("name", sorted(RESERVED_TEMPLATES))
def test_no_stage_may_take_the_name_of_a_template_outside_the_ladder(
    name: str,
) -> None:
    with pytest.raises(ValidationError, match="sent outside the ladder"):
        Stage.model_validate({"stage": name, "after_days": 1, "channels": ["email"]})


def test_direct_construction_enforces_the_same_rules_as_the_loader() -> None:
    ladder = [
        {"stage": "a", "after_days": 5, "channels": ["email"]},
        {"stage": "b", "after_days": 5, "channels": ["email"]},
    ]

    with pytest.raises(ValidationError, match=r"\[1\]\.after_days: must be after"):
        Policy.model_validate({"name": "x", "ladder": ladder})
