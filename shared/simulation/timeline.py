"""The timeline of SPEC §7: every outward effect of a run, one JSON object a line.

The simulation reads `notifier.events` (what reached the debtor, or failed to)
and `collections.events` (cases escalated and resolved) in a group of its own,
and turns each into a line. `at` is the moment the service recorded it, in
the debtor's local time; the lines are sorted by that instant, then by
debtor, then in the order they happened, so one scenario always gives the
same file, whichever broker carried it.
"""

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from aiokafka import ConsumerRecord

from shared.events import Envelope
from shared.topics import COLLECTIONS_EVENTS

Line = dict[str, Any]

CONTACT_FIELDS = ("template", "channel", "language", "amount_due", "currency")

UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def contact_line(kind: str, data: Mapping[str, Any], channel: str) -> Line:
    """The fields a `contact` or `failed` line carries, in SPEC §7's order."""
    line: Line = {"kind": kind}
    for name in CONTACT_FIELDS:
        line[name] = channel if name == "channel" else data[name]
    line["invoices"] = list(data.get("invoices", []))
    return line


def line_for(envelope: Envelope) -> Line | None:
    """The line an event leaves in the timeline, without `at` and `debtor`; None
    for the events that are not outward effects."""
    data = envelope.data
    match envelope.type:
        case "contact.sent":
            return contact_line("contact", data, data["channel"])
        case "contact.failed":
            return contact_line("failed", data, data["channel"]) | {
                "reason": data["reason"]
            }
        case "contact.bounced":
            return contact_line("failed", data, "email") | {"reason": "bounced"}
        case "case.escalated":
            return {"kind": "escalated"}
        case "case.resolved":
            return {"kind": "resolved"}
    return None


@dataclass
class Timeline:
    """Collects a run's lines, and hands the agency each escalated case's file."""

    zone_of: Mapping[str, ZoneInfo]
    """Each debtor's timezone, kept current by the run as details change."""
    default_zone: ZoneInfo
    agency: Path | None = None
    """Where each `case.escalated` case file is written, if anywhere."""
    _entries: list[tuple[datetime, str, int, Line]] = field(default_factory=list)
    case_files: list[Path] = field(default_factory=list)

    def observe(self, topic: str, records: Sequence[ConsumerRecord[Any, Any]]) -> None:
        """Take the lines of a poll of `collections.events` or `notifier.events`."""
        for record in records:
            envelope = Envelope.from_bytes(record.value or b"")
            if topic == COLLECTIONS_EVENTS.name and envelope.type == "case.escalated":
                self._hand_over(envelope)
            line = line_for(envelope)
            if line is None or envelope.debtor is None:
                continue
            zone = self.zone_of.get(envelope.debtor, self.default_zone)
            at = envelope.occurred_at.astimezone(zone)
            kind = line.pop("kind")
            ordered = {
                "at": at.isoformat(timespec="seconds"),
                "kind": kind,
                "debtor": envelope.debtor,
                **line,
            }
            order = len(self._entries)
            self._entries.append(
                (envelope.occurred_at, envelope.debtor, order, ordered)
            )

    def lines(self) -> list[Line]:
        """Every line, in time order (SPEC §7)."""
        return [line for *_, line in sorted(self._entries, key=lambda e: e[:3])]

    def write(self, path: Path) -> None:
        """The timeline as JSON Lines, written whole or not at all."""
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.tmp")
        temporary.write_text(render(self.lines()), encoding="utf-8")
        temporary.replace(path)

    def _hand_over(self, envelope: Envelope) -> None:
        """The case file, as a collection agency takes it: one JSON file a case."""
        if self.agency is None or envelope.debtor is None:
            return
        folder = self.agency / safe(envelope.creditor)
        folder.mkdir(parents=True, exist_ok=True)
        number = str(envelope.data["case_id"]).rpartition("#")[2]
        path = folder / f"{safe(envelope.debtor)}-case-{safe(number)}.json"
        handed = {
            "creditor": envelope.creditor,
            "debtor": envelope.debtor,
            "escalated_at": envelope.occurred_at.isoformat(),
            **envelope.data,
        }
        path.write_text(json.dumps(handed, indent=2, ensure_ascii=False) + "\n")
        self.case_files.append(path)


def render(lines: Sequence[Line]) -> str:
    """JSON Lines, each object's keys in the order given, spaced as SPEC §7 shows."""
    return "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines)


def safe(name: str) -> str:
    """A name fit for a file: what is not a letter, digit, dot or dash becomes `_`."""
    return UNSAFE.sub("_", name).strip("._") or "_"
