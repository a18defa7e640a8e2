"""The scenario file of `overdue simulate` (SPEC §7): who, what, and on which day.

Loading a scenario checks all of it and reports every mistake at once, each
as `<file>:<line>: <field path>: <message>`, in file order. Everything a
scenario leaves out has a fixed default, so the same file always gives the
same scenario. Every field and default is described in docs/simulation.md.
"""

import contextlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar
from zoneinfo import ZoneInfo

from pydantic import AnyHttpUrl, BaseModel, BeforeValidator, Field, ValidationError

from shared.events.creditors import (
    BankDetails,
    Branding,
    CreditorProfile,
    LateFeeSettings,
)
from shared.events.fields import (
    CountryCode,
    LanguageCode,
    Line,
    Text,
    TimeZoneName,
)
from shared.events.inbound import (
    InboundCreditNoteIssued,
    InboundDebtorUpdated,
    InboundDebtorUpserted,
    InboundInvoiceIssued,
    InboundInvoiceWrittenOff,
    InboundPaymentReceived,
)
from shared.events.parties import DebtorDetails, PostalAddress
from shared.events.payload import Part, Payload
from shared.money import CurrencyCode, InvalidAmount, check_precision, to_decimal
from shared.policy import (
    Policy,
    PolicyError,
    Problem,
    format_path,
    load_policy,
    policy_from_mapping,
)
from shared.policy.loading import (
    Loc,
    explain,
    file_order,
    line_of,
    parse_yaml,
    unknown_name,
)

EVENT_HOUR = time(10, 0)
"""When an event without a `time` happens, in the creditor's local time."""

SENDER_EMAIL = "collections@{id}.example"
PAYMENT_LINK = "https://pay.example/{id}"
DISPUTE_REASON = "disputed by the debtor"

_M = TypeVar("_M", bound=BaseModel)
_P = TypeVar("_P", bound=Payload)

_TOP_LEVEL = ["start", "days", "creditor", "policy", "debtors", "events"]


class ScenarioError(ValueError):
    """Every problem in a scenario file; str() lists them, one per line, as
    `<file>:<line>: <field path>: <message>`."""

    def __init__(self, source: str, problems: list[Problem]) -> None:
        self.source = source
        self.problems = problems
        super().__init__("\n".join(self.lines()))

    def lines(self) -> list[str]:
        """One line per problem, as a user's editor can jump to it."""
        return [
            f"{self.source}:{problem.line}: {problem}"
            if problem.line is not None
            else f"{self.source}: {problem}"
            for problem in self.problems
        ]


# The collectors' commands: what the scheduler's service methods take.


@dataclass(frozen=True)
class PromiseToRecord:
    amount: Decimal
    promised_on: date
    note: str | None = None
    currency: str | None = None


@dataclass(frozen=True)
class DisputeToOpen:
    invoice: str
    reason: str


@dataclass(frozen=True)
class DisputeToResolve:
    invoice: str
    resolution: Literal["upheld", "rejected"]
    note: str | None = None


@dataclass(frozen=True)
class PlanToAgree:
    installments: tuple[tuple[date, Decimal], ...]
    currency: str | None = None


@dataclass(frozen=True)
class PauseToApply:
    until: date
    note: str | None = None


@dataclass(frozen=True)
class EscalationToApply:
    reason: str | None = None


Command = (
    PromiseToRecord
    | DisputeToOpen
    | DisputeToResolve
    | PlanToAgree
    | PauseToApply
    | EscalationToApply
)


@dataclass(frozen=True)
class ScenarioDebtor:
    id: str
    line: int
    upserted: InboundDebtorUpserted


@dataclass(frozen=True)
class ScenarioEvent:
    """One thing that happens: a fact for the ledger, or a collector's command."""

    line: int
    day: int
    at: datetime
    type: str
    debtor: str
    fact: Payload | None = None
    command: Command | None = None


@dataclass(frozen=True)
class Scenario:
    source: str
    start: datetime
    days: int
    creditor_id: str
    creditor: CreditorProfile
    policy: Policy
    debtors: tuple[ScenarioDebtor, ...]
    events: tuple[ScenarioEvent, ...]

    @property
    def end(self) -> datetime:
        """The first moment after the scenario: `start` plus `days`."""
        return self.start + timedelta(days=self.days)


def load_scenario(
    path: Path, *, start: datetime | None = None, days: int | None = None
) -> Scenario:
    """The scenario in the file at `path`; `start` and `days` override the file's.

    Raises `ScenarioError` listing every problem found, with line numbers.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        reason = getattr(error, "strerror", None) or str(error)
        raise ScenarioError(
            str(path), [Problem("", f"cannot be read: {reason}")]
        ) from None
    return scenario_from_text(
        text, base=path.parent, name=str(path), start=start, days=days
    )


def scenario_from_text(
    text: str,
    *,
    base: Path | None = None,
    name: str = "<scenario>",
    start: datetime | None = None,
    days: int | None = None,
) -> Scenario:
    """The scenario in YAML `text`; a policy's path is resolved from `base`
    (the working directory when none)."""
    data, lines, problems = parse_yaml(text)
    if data is None and not problems:
        problems = [
            Problem("", "is empty; a scenario needs start, days, creditor, policy")
        ]
    if data is None:
        raise ScenarioError(name, problems)
    if not isinstance(data, dict):
        raise ScenarioError(
            name, [Problem("", "a scenario is a mapping of keys, like `days: 120`", 1)]
        )

    reading = _Reading(name, lines, list(problems))
    scenario = reading.scenario(data, base or Path.cwd(), start, days)

    if reading.problems or scenario is None:
        raise ScenarioError(name, sorted(reading.problems, key=file_order))
    return scenario


# What the file holds, section by section, as the models that check it.


def _exact_amount(value: object) -> Decimal:
    if isinstance(value, float):
        raise ValueError(f'must be quoted, like "{value}": money is never a float')
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValueError('must be an amount in quotes, like "1200.00"')
    try:
        amount = to_decimal(value)
    except InvalidAmount as error:
        raise ValueError(str(error)) from None
    if amount <= 0:
        raise ValueError("must be above zero")
    return amount


Amount = Annotated[Decimal, BeforeValidator(_exact_amount)]
"""Money above zero, written `"1200.00"` (or a whole number); never a float."""


def _clock_time(value: object) -> time:
    text = value if isinstance(value, str) else ""
    try:
        if len(text) not in (5, 8):
            raise ValueError
        return time.fromisoformat(text)
    except ValueError:
        raise ValueError(
            f'must be a time like "14:30" or "14:30:15", not {value!r}'
        ) from None


ClockTime = Annotated[time, BeforeValidator(_clock_time)]
LocalDate = date


class _Creditor(Part):
    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
    name: Line = Field(min_length=1)
    country: CountryCode
    timezone: TimeZoneName
    currency: CurrencyCode
    language: LanguageCode
    address: PostalAddress | None = None
    branding: Branding | None = None
    bank: BankDetails | None = None
    payment_link: AnyHttpUrl | None = None
    late_fees: LateFeeSettings | None = None
    paper: Literal["A4", "Letter"] = "A4"


class _Debtor(DebtorDetails):
    id: Line = Field(min_length=1)


class _Event(Part):
    day: int = Field(ge=0, strict=True)
    type: str
    debtor: Line = Field(min_length=1)
    time: ClockTime | None = None


class _InvoiceIssued(_Event):
    invoice: Line = Field(min_length=1)
    amount: Amount
    issued: LocalDate
    due: LocalDate
    currency: CurrencyCode | None = None


class _PaymentReceived(_Event):
    amount: Amount
    invoice: Line | None = Field(default=None, min_length=1)
    currency: CurrencyCode | None = None
    received: LocalDate | None = None
    id: Line | None = Field(default=None, min_length=1)
    reference: Line | None = None


class _CreditNoteIssued(_Event):
    amount: Amount
    invoice: Line | None = Field(default=None, min_length=1)
    number: Line | None = Field(default=None, min_length=1)
    reason: Line | None = None
    issued: LocalDate | None = None
    currency: CurrencyCode | None = None


class _InvoiceWrittenOff(_Event):
    invoice: Line = Field(min_length=1)
    reason: Line | None = None


class _DebtorUpdated(_Event, InboundDebtorUpdated):
    pass


class _PromiseRecorded(_Event):
    amount: Amount
    date: LocalDate
    note: Text | None = None
    currency: CurrencyCode | None = None


class _DisputeOpened(_Event):
    invoice: Line = Field(min_length=1)
    reason: Text = DISPUTE_REASON


class _DisputeResolved(_Event):
    invoice: Line = Field(min_length=1)
    resolution: Literal["upheld", "rejected"]
    note: Text | None = None


class _Installment(Part):
    date: LocalDate
    amount: Amount


class _PlanAgreed(_Event):
    installments: list[_Installment] = Field(min_length=1, max_length=60)
    currency: CurrencyCode | None = None


class _CasePaused(_Event):
    until: LocalDate
    note: Text | None = None


class _CaseEscalated(_Event):
    reason: Text | None = None


_MODELS: dict[str, type[_Event]] = {
    "invoice.issued": _InvoiceIssued,
    "payment.received": _PaymentReceived,
    "credit_note.issued": _CreditNoteIssued,
    "invoice.written_off": _InvoiceWrittenOff,
    "debtor.updated": _DebtorUpdated,
    "promise.recorded": _PromiseRecorded,
    "dispute.opened": _DisputeOpened,
    "dispute.resolved": _DisputeResolved,
    "plan.agreed": _PlanAgreed,
    "case.paused": _CasePaused,
    "case.escalated": _CaseEscalated,
}
EVENT_TYPES = tuple(_MODELS)
"""The event types a scenario may use: the ledger's, then the collectors'."""


@dataclass
class _Checked:
    """An event whose fields are valid, and the moment it happens, when known."""

    index: int
    line: int
    event: _Event
    at: datetime | None


@dataclass
class _Reading:
    """One reading of a scenario file: the problems found so far, with lines."""

    source: str
    lines: dict[str, int]
    problems: list[Problem]
    issued: dict[tuple[str, str], _Checked] = field(default_factory=dict)

    def add(self, loc: Loc, message: str, *, in_file: bool = True) -> None:
        self.add_at(format_path(loc), message, in_file=in_file)

    def add_at(self, path: str, message: str, *, in_file: bool = True) -> None:
        line = line_of(path, self.lines) if in_file else None
        self.problems.append(Problem(path, message, line))

    def line(self, loc: Loc) -> int:
        return line_of(format_path(loc), self.lines) or 0

    def validate(self, model: type[_M], data: object, loc: Loc) -> _M | None:
        try:
            return model.model_validate(data)
        except ValidationError as error:
            for problem in explain(error, model, loc):
                self.add_at(problem.path, problem.message)
            return None

    def scenario(
        self,
        data: dict[str, Any],
        base: Path,
        start: datetime | None,
        days: int | None,
    ) -> Scenario | None:
        for key in data:
            if key not in _TOP_LEVEL:
                self.add((str(key),), unknown_name(str(key), _TOP_LEVEL, "key"))

        start = self.start(
            data.get("start") if start is None else start, start is not None
        )
        days = self.days(data.get("days") if days is None else days, days is not None)
        creditor = self.creditor(data.get("creditor"))
        policy = self.policy(data.get("policy"), base)
        debtors = self.debtors(data.get("debtors", []), creditor)
        events = self.events(data.get("events", []), creditor, debtors, start, days)

        if None in (start, days, creditor, policy) or self.problems:
            return None
        assert start is not None and days is not None
        assert creditor is not None and policy is not None
        return Scenario(
            source=self.source,
            start=start,
            days=days,
            creditor_id=creditor[0],
            creditor=creditor[1],
            policy=policy,
            debtors=tuple(debtors.values()),
            events=tuple(sorted(events, key=lambda event: event.at)),
        )

    def start(self, value: object, overridden: bool) -> datetime | None:
        where = "(--start) " if overridden else ""
        example = "like 2026-01-05T08:00:00+01:00"
        if value is None:
            self.add(("start",), f"is required: the first moment, {example}")
            return None
        if isinstance(value, str):
            with contextlib.suppress(ValueError):
                value = datetime.fromisoformat(value)
        if not isinstance(value, datetime):
            message = f"{where}must be a moment with its offset, {example}"
            self.add(("start",), message, in_file=not overridden)
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            message = f"{where}has no timezone offset; write it {example}"
            self.add(("start",), message, in_file=not overridden)
            return None
        return value

    def days(self, value: object, overridden: bool) -> int | None:
        where = "(--days) " if overridden else ""
        if value is None:
            self.add(("days",), "is required: how many days the scenario runs")
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            message = f"{where}must be a whole number of days, not {value!r}"
            self.add(("days",), message, in_file=not overridden)
            return None
        if value < 1:
            self.add(("days",), f"{where}must be 1 or more", in_file=not overridden)
            return None
        return value

    def creditor(self, value: object) -> tuple[str, CreditorProfile] | None:
        if value is None:
            self.add(
                ("creditor",),
                "is required: id, name, country, timezone, currency, language",
            )
            return None
        given = self.validate(_Creditor, value, ("creditor",))
        if given is None:
            return None
        try:
            profile = CreditorProfile(
                legal_name=given.name,
                address=given.address or _default_address(given),
                country=given.country,
                timezone=given.timezone,
                currency=given.currency,
                language=given.language,
                paper=given.paper,
                branding=given.branding
                or Branding(
                    sender_name=given.name,
                    sender_email=SENDER_EMAIL.format(id=given.id.lower()),
                ),
                bank=given.bank,
                payment_link=given.payment_link
                or (
                    None if given.bank else AnyHttpUrl(PAYMENT_LINK.format(id=given.id))
                ),
                late_fees=given.late_fees,
            )
        except ValidationError as error:
            for problem in explain(error, CreditorProfile):
                self.add(("creditor",), str(problem))
            return None
        return given.id, profile

    def policy(self, value: object, base: Path) -> Policy | None:
        loc: Loc = ("policy",)
        if value is None:
            self.add(loc, "is required: a policy file's path, or the policy itself")
            return None
        if isinstance(value, dict):
            try:
                return policy_from_mapping(value)
            except PolicyError as error:
                for problem in error.problems:
                    path = f"policy.{problem.path}" if problem.path else "policy"
                    self.add_at(path, problem.message)
                return None
        if not isinstance(value, str):
            self.add(loc, "must be a policy file's path, or the policy as a mapping")
            return None
        try:
            return load_policy(base / value)
        except PolicyError as error:
            for problem in error.problems:
                place = value if problem.line is None else f"{value}:{problem.line}"
                self.add(loc, f"{place}: {problem}")
            return None

    def debtors(
        self, value: object, creditor: tuple[str, CreditorProfile] | None
    ) -> dict[str, ScenarioDebtor]:
        if not isinstance(value, list):
            self.add(("debtors",), "must be a list of debtors, each with id and name")
            return {}
        debtors: dict[str, ScenarioDebtor] = {}
        for index, item in enumerate(value):
            loc: Loc = ("debtors", index)
            given = self.validate(_Debtor, item, loc)
            if given is None:
                continue
            if given.id in debtors:
                first = debtors[given.id].line
                self.add((*loc, "id"), f"{given.id} is already a debtor (line {first})")
                continue
            details = given.model_dump(exclude={"id"}, exclude_unset=True)
            details["country"] = given.country or _country_of(given, creditor)
            upserted = InboundDebtorUpserted.model_validate(details)
            debtors[given.id] = ScenarioDebtor(given.id, self.line(loc), upserted)
        return debtors

    def events(
        self,
        value: object,
        creditor: tuple[str, CreditorProfile] | None,
        debtors: dict[str, ScenarioDebtor],
        start: datetime | None,
        days: int | None,
    ) -> list[ScenarioEvent]:
        if not isinstance(value, list):
            self.add(
                ("events",), "must be a list of events, each with day, type, debtor"
            )
            return []
        zone = ZoneInfo(creditor[1].timezone) if creditor else None
        checked = [
            found
            for index, item in enumerate(value)
            if (found := self.event(index, item, debtors, zone, start, days))
            is not None
        ]

        for found in checked:
            if isinstance(found.event, _InvoiceIssued):
                self.note_issued(found)
        currency = creditor[1].currency if creditor else None
        counts: Counter[tuple[str, str]] = Counter()
        built = [self.build(found, currency, counts) for found in checked]
        return [event for event in built if event is not None]

    def event(
        self,
        index: int,
        item: object,
        debtors: dict[str, ScenarioDebtor],
        zone: ZoneInfo | None,
        start: datetime | None,
        days: int | None,
    ) -> _Checked | None:
        loc: Loc = ("events", index)
        if not isinstance(item, dict):
            self.add(
                loc, "an event is a mapping, like {day: 0, type: ..., debtor: ...}"
            )
            return None
        kind = item.get("type")
        if kind is None:
            self.add((*loc, "type"), "is required: one of " + ", ".join(EVENT_TYPES))
            return None
        if not isinstance(kind, str):
            self.add((*loc, "type"), "must be the name of a type, like invoice.issued")
            return None
        if kind not in _MODELS:
            self.add(
                (*loc, "type"),
                unknown_name(kind, list(EVENT_TYPES), "type", shown=True),
            )
            return None
        day = item.get("day")
        if isinstance(day, int) and days is not None and day >= days:
            self.add((*loc, "day"), f"must be less than days ({days})")
            days = None  # so its moment is not worked out, and not refused again
        debtor = item.get("debtor")
        if isinstance(debtor, str) and debtor not in debtors:
            known = list(debtors) or ["none"]
            self.add(
                (*loc, "debtor"), unknown_name(debtor, known, "debtor", shown=True)
            )
        event = self.validate(_MODELS[kind], item, loc)
        if event is None:
            return None

        at = None
        if zone is not None and start is not None and days is not None:
            at = self.moment(event, loc, zone, start, days)
        return _Checked(index, self.line(loc), event, at)

    def moment(
        self, event: _Event, loc: Loc, zone: ZoneInfo, start: datetime, days: int
    ) -> datetime | None:
        on = start.astimezone(zone).date() + timedelta(days=event.day)
        at = datetime.combine(on, event.time or EVENT_HOUR, tzinfo=zone)
        field_ = "day" if event.time is None else "time"
        end = start + timedelta(days=days)
        if at < start:
            message = f"falls at {at.isoformat()}, before start ({start.isoformat()})"
            self.add((*loc, field_), message)
            return None
        if at >= end:
            message = (
                f"falls at {at.isoformat()}, at or after the end ({end.isoformat()})"
            )
            self.add((*loc, field_), message)
            return None
        return at

    def note_issued(self, found: _Checked) -> None:
        assert isinstance(found.event, _InvoiceIssued)
        key = (found.event.debtor, found.event.invoice)
        if key in self.issued:
            first = self.issued[key].line
            where = ("events", found.index, "invoice")
            self.add(where, f"{key[1]} is already issued to {key[0]} (line {first})")
        else:
            self.issued[key] = found

    def named_invoice(self, found: _Checked, invoice: str | None) -> None:
        """An invoice an event names is issued to its debtor, not after the event."""
        if invoice is None or isinstance(found.event, _InvoiceIssued):
            return
        issued = self.issued.get((found.event.debtor, invoice))
        where = ("events", found.index, "invoice")
        if issued is None:
            self.add(
                where,
                f"{invoice} is not issued to {found.event.debtor} in this scenario",
            )
        elif (
            found.at
            and issued.at
            and (issued.at, issued.index) > (found.at, found.index)
        ):
            self.add(where, f"{invoice} is issued only later (line {issued.line})")

    def build(
        self, found: _Checked, currency: str | None, counts: Counter[tuple[str, str]]
    ) -> ScenarioEvent | None:
        event = found.event
        self.named_invoice(found, getattr(event, "invoice", None))
        counts[(event.type, event.debtor)] += 1

        # Without its moment (or the creditor's currency) an event is still
        # checked, so every problem shows at once; it is only not built.
        local = found.at.date() if found.at else None
        context = _Context(self, ("events", found.index), local, currency)
        made = _BUILDERS[event.type](event, context, counts[(event.type, event.debtor)])
        if made is None or found.at is None:
            return None

        fact = made if isinstance(made, Payload) else None
        command = None if isinstance(made, Payload) else made
        return ScenarioEvent(
            found.line, event.day, found.at, event.type, event.debtor, fact, command
        )


@dataclass(frozen=True)
class _Context:
    """What building one event needs: where it is, its local date, the currency."""

    reading: _Reading
    loc: Loc
    local: date | None
    currency: str | None

    def money(
        self, amount: Decimal, currency: str | None, field_: Loc = ("amount",)
    ) -> Decimal | None:
        """`amount` at its currency's minor unit; none if it has more decimals."""
        currency = currency or self.currency
        if currency is None:
            return amount
        try:
            return check_precision(amount, currency)
        except InvalidAmount as error:
            self.reading.add((*self.loc, *field_), str(error))
            return None

    def payload(self, model: type[_P], **data: Any) -> _P | None:
        if self.local is None or self.currency is None:
            return None
        try:
            return model.model_validate(data)
        except ValidationError as error:
            for problem in explain(error, model):
                self.reading.add(self.loc, str(problem))
            return None


def _invoice_issued(event: _Event, context: _Context, n: int) -> Payload | None:
    assert isinstance(event, _InvoiceIssued)
    amount = context.money(event.amount, event.currency)
    if event.due < event.issued:
        context.reading.add((*context.loc, "due"), f"is before issued ({event.issued})")
        return None
    if amount is None:
        return None
    return context.payload(
        InboundInvoiceIssued,
        number=event.invoice,
        issued_on=event.issued,
        due_on=event.due,
        currency=event.currency or context.currency,
        amount=amount,
    )


def _payment_received(event: _Event, context: _Context, n: int) -> Payload | None:
    assert isinstance(event, _PaymentReceived)
    amount = context.money(event.amount, event.currency)
    if amount is None:
        return None
    return context.payload(
        InboundPaymentReceived,
        payment_id=event.id or f"PAY-{event.debtor}-{n}",
        currency=event.currency or context.currency,
        amount=amount,
        received_on=event.received or context.local,
        invoice=event.invoice,
        reference=event.reference,
    )


def _credit_note_issued(event: _Event, context: _Context, n: int) -> Payload | None:
    assert isinstance(event, _CreditNoteIssued)
    amount = context.money(event.amount, event.currency)
    if amount is None:
        return None
    return context.payload(
        InboundCreditNoteIssued,
        number=event.number or f"CN-{event.debtor}-{n}",
        issued_on=event.issued or context.local,
        currency=event.currency or context.currency,
        amount=amount,
        invoice=event.invoice,
        reason=event.reason,
    )


def _invoice_written_off(event: _Event, context: _Context, n: int) -> Payload | None:
    assert isinstance(event, _InvoiceWrittenOff)
    return context.payload(
        InboundInvoiceWrittenOff,
        number=event.invoice,
        written_off_on=context.local,
        reason=event.reason,
    )


def _debtor_updated(event: _Event, context: _Context, n: int) -> Payload | None:
    assert isinstance(event, _DebtorUpdated)
    changes = event.model_dump(exclude=set(_Event.model_fields), exclude_unset=True)
    return context.payload(InboundDebtorUpdated, **changes)


def _promise_recorded(event: _Event, context: _Context, n: int) -> Command | None:
    assert isinstance(event, _PromiseRecorded)
    amount = context.money(event.amount, event.currency)
    if amount is None:
        return None
    return PromiseToRecord(amount, event.date, event.note, event.currency)


def _dispute_opened(event: _Event, context: _Context, n: int) -> Command:
    assert isinstance(event, _DisputeOpened)
    return DisputeToOpen(event.invoice, event.reason)


def _dispute_resolved(event: _Event, context: _Context, n: int) -> Command:
    assert isinstance(event, _DisputeResolved)
    return DisputeToResolve(event.invoice, event.resolution, event.note)


def _plan_agreed(event: _Event, context: _Context, n: int) -> Command | None:
    assert isinstance(event, _PlanAgreed)
    installments: list[tuple[date, Decimal | None]] = []
    for index, installment in enumerate(event.installments):
        where: Loc = ("installments", index)
        amount = context.money(installment.amount, event.currency, (*where, "amount"))
        if installments and installment.date <= installments[-1][0]:
            context.reading.add(
                (*context.loc, *where, "date"),
                f"must be after the installment before it ({installments[-1][0]})",
            )
        installments.append((installment.date, amount))

    agreed = tuple((on, amount) for on, amount in installments if amount is not None)
    dates = [on for on, _ in installments]
    if len(agreed) < len(installments) or dates != sorted(set(dates)):
        return None
    return PlanToAgree(agreed, event.currency)


def _case_paused(event: _Event, context: _Context, n: int) -> Command | None:
    assert isinstance(event, _CasePaused)
    if context.local and event.until <= context.local:
        context.reading.add(
            (*context.loc, "until"), f"must be after the event's day ({context.local})"
        )
        return None
    return PauseToApply(event.until, event.note)


def _case_escalated(event: _Event, context: _Context, n: int) -> Command:
    assert isinstance(event, _CaseEscalated)
    return EscalationToApply(event.reason)


_BUILDERS: dict[str, Callable[[_Event, _Context, int], Payload | Command | None]] = {
    "invoice.issued": _invoice_issued,
    "payment.received": _payment_received,
    "credit_note.issued": _credit_note_issued,
    "invoice.written_off": _invoice_written_off,
    "debtor.updated": _debtor_updated,
    "promise.recorded": _promise_recorded,
    "dispute.opened": _dispute_opened,
    "dispute.resolved": _dispute_resolved,
    "plan.agreed": _plan_agreed,
    "case.paused": _case_paused,
    "case.escalated": _case_escalated,
}


def _default_address(creditor: _Creditor) -> PostalAddress:
    # A letterhead needs a city; the timezone's names one near enough.
    city = creditor.timezone.rsplit("/", 1)[-1].replace("_", " ")
    return PostalAddress(lines=[creditor.name], city=city, country=creditor.country)


def _country_of(
    debtor: _Debtor, creditor: tuple[str, CreditorProfile] | None
) -> str | None:
    if debtor.address is not None:
        return debtor.address.country
    return creditor[1].country if creditor else None
