"""A creditor's collection policy (SPEC §3) as immutable, validated models.

Rules that involve more than one value (the ladder's order, unique stage
names, a window that closes after it opens) are raised as one `policy_rule`
error whose context lists every breach with its own path, so that a reader
of the error can report each of them where it lives.
"""

import re
from datetime import time
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Final, Literal, Self

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    StrictBool,
    StrictInt,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
"""A day of the week, as the send window names it."""

WEEKDAYS: Final[tuple[Weekday, ...]] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

Channel = Literal["email", "letter"]
"""How a stage reaches the debtor (SPEC §5)."""

RESERVED_TEMPLATES: Final = frozenset(
    {
        "pre_due",
        "promise_confirmation",
        "promise_broken",
        "dispute_ack",
        "installment_due",
        "plan_broken",
        "thank_you",
    }
)
"""Templates the scheduler sends outside the ladder; no stage may take their names."""

RULE_ERROR: Final = "policy_rule"
"""The pydantic error type of a breached rule; its context holds `problems`."""

RulePath = tuple[str | int, ...]
"""Where a breach lies, relative to the value the rule was checked on."""

_TIME = re.compile(r"^([01][0-9]|2[0-3]):([0-5][0-9])$")
_STAGE_NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
_ONE_LINE = re.compile(r"^[^\x00-\x1f\x7f]+$")


def rule_error(problems: list[tuple[RulePath, str]]) -> PydanticCustomError:
    """One error carrying every breach found, each with its relative path."""
    summary = "; ".join(
        f"{_relative(path)}: {message}" if path else message
        for path, message in problems
    )
    # The summary becomes a format template: braces must not be read as fields.
    template = summary.replace("{", "{{").replace("}", "}}")
    return PydanticCustomError(RULE_ERROR, template, {"problems": problems})


def _relative(path: RulePath) -> str:
    return "".join(
        f"[{part}]" if isinstance(part, int) else f".{part}" for part in path
    )


def _read_time(value: object) -> object:
    if isinstance(value, time):
        return value
    if not isinstance(value, str) or not _TIME.match(value):
        raise PydanticCustomError(
            "policy_time", 'must be a time of day written "HH:MM", like "09:00"'
        )
    hours, minutes = value.split(":")
    return time(int(hours), int(minutes))


def _show_time(value: time) -> str:
    return value.strftime("%H:%M")


ClockTime = Annotated[
    time,
    BeforeValidator(_read_time),
    PlainSerializer(_show_time, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "pattern": _TIME.pattern}),
]
"""A time of day in the debtor's local time, `"HH:MM"` in YAML and JSON."""


def _read_amount(value: object) -> object:
    # YAML reads an unquoted 5.00 as a float; its shortest text (`5.0`) is the
    # number the author wrote, so it is taken, though quoting is recommended.
    if isinstance(value, float):
        value = repr(value)
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        raise PydanticCustomError("policy_amount", 'must be an amount like "5.00"')
    try:
        amount = Decimal(value)
    except InvalidOperation:
        raise PydanticCustomError(
            "policy_amount", 'must be an amount like "5.00"'
        ) from None
    if not amount.is_finite():
        raise PydanticCustomError("policy_amount", 'must be an amount like "5.00"')
    if amount < 0:
        raise PydanticCustomError("policy_amount", "must be zero or more")
    return amount


def _show_amount(value: Decimal) -> str:
    return format(value, "f")


Threshold = Annotated[
    Decimal,
    BeforeValidator(_read_amount),
    PlainSerializer(_show_amount, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "pattern": r"^[0-9]+(\.[0-9]+)?$"}),
]
"""An amount zero or more in the creditor's currency, written `"5.00"`."""

Days = Annotated[StrictInt, Field(ge=0)]
"""A number of calendar days, zero or more."""


class Section(BaseModel):
    """A strict, immutable part of a policy: unknown keys are refused."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def _working_week() -> list[Weekday]:
    return ["mon", "tue", "wed", "thu", "fri"]


class SendWindow(Section):
    """When contacts may go out: `start` ≤ t < `end` on the listed weekdays."""

    start: ClockTime = time(9, 0)
    end: ClockTime = time(17, 0)
    days: list[Weekday] = Field(default_factory=_working_week, min_length=1)

    @field_validator("days")
    @classmethod
    def _each_day_once(cls, days: list[Weekday]) -> list[Weekday]:
        problems: list[tuple[RulePath, str]] = []
        for index, day in enumerate(days):
            first = days.index(day)
            if first < index:
                problems.append(((index,), f"{day} is already listed as days[{first}]"))
        if problems:
            raise rule_error(problems)
        return days

    @model_validator(mode="after")
    def _closes_after_it_opens(self) -> Self:
        if self.end <= self.start:
            raise rule_error(
                [(("end",), f"must be after start ({_show_time(self.start)})")]
            )
        return self


class PreDue(Section):
    """A courtesy email per invoice, `days_before` its due date."""

    days_before: Annotated[StrictInt, Field(ge=1)]


def _stage_name(value: object) -> object:
    if not isinstance(value, str) or not _STAGE_NAME.match(value):
        raise PydanticCustomError(
            "policy_stage_name",
            "must be a lower-case name of at most 40 letters, digits and "
            "underscores, starting with a letter, like second_reminder",
        )
    if value in RESERVED_TEMPLATES:
        raise PydanticCustomError(
            "policy_stage_name",
            "{name} is the name of a template sent outside the ladder; "
            "choose another name",
            {"name": value},
        )
    return value


StageName = Annotated[
    str,
    BeforeValidator(_stage_name),
    WithJsonSchema({"type": "string", "pattern": _STAGE_NAME.pattern}),
]
"""A stage's name, which is also the name of its templates."""


class Stage(Section):
    """One rung of the ladder: a demand, or the hand-off to an agency."""

    stage: StageName
    after_days: Days
    channels: list[Channel] = Field(default_factory=list)
    late_fees: StrictBool = False
    action: Literal["escalate"] | None = None

    @property
    def escalates(self) -> bool:
        return self.action == "escalate"

    @model_validator(mode="after")
    def _sends_or_escalates(self) -> Self:
        problems: list[tuple[RulePath, str]] = []
        if self.escalates:
            if self.channels:
                problems.append(
                    (("channels",), "an escalating stage sends nothing; remove them")
                )
            if self.late_fees:
                problems.append(
                    (
                        ("late_fees",),
                        "an escalating stage sends nothing, so it charges no fees",
                    )
                )
        elif not self.channels:
            problems.append((("channels",), "must list at least one of email, letter"))
        for index, channel in enumerate(self.channels):
            first = self.channels.index(channel)
            if first < index:
                problems.append(
                    (
                        ("channels", index),
                        f"{channel} is already listed as channels[{first}]",
                    )
                )
        if problems:
            raise rule_error(problems)
        return self


class PromiseRules(Section):
    """How a promise to pay is confirmed and when it is checked (SPEC §4)."""

    grace_days: Days = 1
    confirm: StrictBool = True


class PlanRules(Section):
    """When installment reminders go and how late an installment may be."""

    reminder_days_before: Days = 3
    grace_days: Days = 2


class DisputeRules(Section):
    """Whether an opened dispute is acknowledged to the debtor."""

    acknowledge: StrictBool = True


def _policy_name(value: object) -> object:
    if not isinstance(value, str) or not _ONE_LINE.match(value) or len(value) > 100:
        raise PydanticCustomError(
            "policy_name", "must be a name on one line, of 1 to 100 characters"
        )
    return value


def ladder_problems(items: list[Any]) -> list[tuple[RulePath, str]]:
    """Breaches of the ladder's order: unique names, rising days, escalate last.

    Works on parsed data too, skipping what is not yet a name or a number, so
    the order can be checked while a stage has problems of its own.
    """
    problems: list[tuple[RulePath, str]] = []
    seen: dict[str, int] = {}
    previous: tuple[int, int] | None = None
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            continue
        name, days = item.get("stage"), item.get("after_days")
        if isinstance(name, str):
            if name in seen:
                problems.append(
                    (
                        (index, "stage"),
                        f"{name} is already the name of ladder[{seen[name]}]",
                    )
                )
            seen.setdefault(name, index)
        if isinstance(days, int) and not isinstance(days, bool):
            if previous is not None and days <= previous[1]:
                problems.append(
                    (
                        (index, "after_days"),
                        f"must be after ladder[{previous[0]}] ({_days(previous[1])})",
                    )
                )
            previous = (index, days)
        if item.get("action") == "escalate" and index < len(items) - 1:
            problems.append(
                (
                    (index, "action"),
                    "only the last stage may escalate: nothing is sent "
                    "once the case is with the agency",
                )
            )
    return problems


def _days(count: int) -> str:
    return "1 day" if count == 1 else f"{count} days"


class Policy(Section):
    """A creditor's whole collection policy, defaults filled in."""

    name: Annotated[str, BeforeValidator(_policy_name)]
    send_window: SendWindow = Field(default_factory=SendWindow)
    skip_holidays: StrictBool = True
    min_gap_days: Days = 5
    min_balance: Threshold = Decimal("0")
    pre_due: PreDue | None = None
    ladder: list[Stage] = Field(min_length=1)
    promise: PromiseRules = Field(default_factory=PromiseRules)
    plan: PlanRules = Field(default_factory=PlanRules)
    dispute: DisputeRules = Field(default_factory=DisputeRules)
    thank_you: StrictBool = True
    attach_statement: StrictBool = False

    @field_validator("ladder")
    @classmethod
    def _climbs_in_order(cls, ladder: list[Stage]) -> list[Stage]:
        problems = ladder_problems([stage.model_dump() for stage in ladder])
        if problems:
            raise rule_error(problems)
        return ladder

    @property
    def stages(self) -> list[str]:
        """The names of the ladder's stages, in order."""
        return [stage.stage for stage in self.ladder]

    def stage(self, name: str) -> Stage:
        """The stage called `name`; `KeyError` when the ladder has none."""
        for stage in self.ladder:
            if stage.stage == name:
                return stage
        raise KeyError(name)

    def to_data(self) -> dict[str, Any]:
        """The policy as JSON-ready data, every default written out."""
        return self.model_dump(mode="json")
