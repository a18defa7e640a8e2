"""A creditor's collection policy (SPEC §3): validated models and their loader."""

from shared.policy.loading import (
    PolicyError,
    Problem,
    format_path,
    load_policy,
    policy_from_mapping,
)
from shared.policy.model import (
    RESERVED_TEMPLATES,
    WEEKDAYS,
    Channel,
    DisputeRules,
    PlanRules,
    Policy,
    PreDue,
    PromiseRules,
    SendWindow,
    Stage,
    Weekday,
)

__all__ = [
    "RESERVED_TEMPLATES",
    "WEEKDAYS",
    "Channel",
    "DisputeRules",
    "PlanRules",
    "Policy",
    "PolicyError",
    "PreDue",
    "Problem",
    "PromiseRules",
    "SendWindow",
    "Stage",
    "Weekday",
    "format_path",
    "load_policy",
    "policy_from_mapping",
]
