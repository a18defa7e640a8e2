"""What a simulation's timeline adds up to, as a collections manager reads it.

Contacts are counted per template and channel, failures per reason and
channel. A case's life in the timeline runs from its first demand (a ladder
stage, `promise_broken` or `plan_broken`) to its `resolved` line, or to the
end when there is none. **Recovered** is the money a debtor paid while such a
case was open, the payment that resolved it included: what the collection
brought in, not what good payers paid on time, nor what a credit note or a
write-off took off. Money that came after the hand-off to the agency is
counted apart. A case that resolved before any demand went out (a payment on
the weekend after the due date, say) has recovered nothing in this sense.
"""

import json
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path

from shared.events.contacts import DEMAND_TEMPLATES, NON_LADDER_TEMPLATES

NOT_DEMANDS = frozenset(NON_LADDER_TEMPLATES) - frozenset(DEMAND_TEMPLATES)
"""Templates that demand nothing (SPEC §3): every other template is a demand."""


@dataclass(frozen=True, slots=True)
class Line:
    """One line of a timeline (SPEC §7)."""

    at: datetime
    kind: str
    debtor: str
    template: str | None = None
    channel: str | None = None
    amount_due: Decimal | None = None
    currency: str | None = None
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class Payment:
    """Money a debtor paid in the scenario, and when."""

    debtor: str
    at: datetime
    amount: Decimal
    currency: str


@dataclass
class Summary:
    """The figures the demo prints."""

    contacts: Counter[tuple[str, str]] = field(default_factory=Counter)
    """(template, channel) → contacts sent."""
    failed: Counter[tuple[str, str]] = field(default_factory=Counter)
    """(reason, channel) → contacts that failed."""
    debtors_contacted: int = 0
    resolved: int = 0
    escalated: int = 0
    open_at_end: int = 0
    """Cases still with us when the scenario ends."""
    with_agency_at_end: int = 0
    """Escalated cases not resolved when the scenario ends."""
    recovered: dict[str, Decimal] = field(default_factory=dict)
    """Currency → paid while a case was open and not yet escalated."""
    recovered_after_escalation: dict[str, Decimal] = field(default_factory=dict)
    """Currency → paid while a case stood with the agency."""

    def templates(self) -> list[str]:
        """The templates sent: `pre_due`, the ladder's stages in the order they
        first went out, then the others in SPEC §7's order."""
        sent = list(dict.fromkeys(template for template, _ in self.contacts))
        stages = [t for t in sent if t not in NON_LADDER_TEMPLATES]
        others = [t for t in NON_LADDER_TEMPLATES if t in sent and t != "pre_due"]
        return (["pre_due"] if "pre_due" in sent else []) + stages + others


def read_timeline(path: Path) -> list[Line]:
    """The lines of a timeline file, in file order."""
    lines = []
    for text in path.read_text(encoding="utf-8").splitlines():
        if text.strip():
            lines.append(parse_line(json.loads(text)))
    return lines


def parse_line(record: dict[str, object]) -> Line:
    amount = record.get("amount_due")
    return Line(
        at=datetime.fromisoformat(str(record["at"])),
        kind=str(record["kind"]),
        debtor=str(record["debtor"]),
        template=_text(record.get("template")),
        channel=_text(record.get("channel")),
        amount_due=Decimal(str(amount)) if amount is not None else None,
        currency=_text(record.get("currency")),
        reason=_text(record.get("reason")),
    )


def summarize(lines: Sequence[Line], payments: Iterable[Payment]) -> Summary:
    """Count the timeline's contacts and cases, and add up what was recovered."""
    summary = Summary()
    for line in lines:
        if line.kind == "contact":
            summary.contacts[(line.template or "?", line.channel or "?")] += 1
        elif line.kind == "failed":
            summary.failed[(line.reason or "?", line.channel or "?")] += 1
        elif line.kind == "resolved":
            summary.resolved += 1
        elif line.kind == "escalated":
            summary.escalated += 1
    summary.debtors_contacted = len(
        {line.debtor for line in lines if line.kind == "contact"}
    )

    cases = case_spans(lines)
    unresolved = [span for span in cases if span.end is None]
    summary.open_at_end = sum(1 for span in unresolved if span.escalated is None)
    summary.with_agency_at_end = len(unresolved) - summary.open_at_end
    recovered: dict[str, Decimal] = defaultdict(Decimal)
    after_escalation: dict[str, Decimal] = defaultdict(Decimal)
    for payment in payments:
        span = next((s for s in cases if s.holds(payment)), None)
        if span is None:
            continue
        if span.escalated is not None and payment.at >= span.escalated:
            after_escalation[payment.currency] += payment.amount
        else:
            recovered[payment.currency] += payment.amount
    summary.recovered = dict(recovered)
    summary.recovered_after_escalation = dict(after_escalation)
    return summary


@dataclass(frozen=True, slots=True)
class CaseSpan:
    """When one of a debtor's cases was in collection, as the timeline shows it."""

    debtor: str
    start: datetime
    end: datetime | None
    escalated: datetime | None

    def holds(self, payment: Payment) -> bool:
        if payment.debtor != self.debtor or payment.at < self.start:
            return False
        return self.end is None or payment.at <= self.end


def case_spans(lines: Sequence[Line]) -> list[CaseSpan]:
    """Each debtor's cases: from the first demand or escalation to `resolved`.

    A case escalated by a collector before any demand starts at its escalation.
    """
    spans: list[CaseSpan] = []
    started: dict[str, datetime] = {}
    escalated: dict[str, datetime] = {}
    for line in sorted(lines, key=lambda line: line.at):
        opens = line.kind == "escalated" or (
            line.kind in ("contact", "failed") and line.template not in NOT_DEMANDS
        )
        if opens:
            started.setdefault(line.debtor, line.at)
        if line.kind == "escalated":
            escalated.setdefault(line.debtor, line.at)
        if line.kind == "resolved" and line.debtor in started:
            spans.append(
                CaseSpan(
                    line.debtor,
                    started.pop(line.debtor),
                    line.at,
                    escalated.pop(line.debtor, None),
                )
            )
        elif line.kind == "resolved":
            escalated.pop(line.debtor, None)
    for debtor, start in started.items():
        spans.append(CaseSpan(debtor, start, None, escalated.get(debtor)))
    return spans


def _text(value: object) -> str | None:
    return None if value is None else str(value)
