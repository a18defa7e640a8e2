"""A bounce report (RFC 3464) read: which contact's email failed, for whom, for good.

A report is a `multipart/report; report-type=delivery-status` message. Its
`message/delivery-status` part holds one block of fields about the message,
then one block per recipient: `Final-Recipient`, `Action` (failed, delayed,
delivered, relayed, expanded), `Status` (x.y.z; 4 transient, 5 permanent)
and `Diagnostic-Code`. A `message/rfc822` or `text/rfc822-headers` part
usually returns the original, whose Message-ID carries the contact id; its
`X-Overdue-Contact` header, or a tagged envelope recipient (VERP), serves
when that is missing. Anything else — a reply, an auto-reply, a read receipt,
garbage — is no bounce report.
"""

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from email.message import Message
from email.parser import BytesParser, HeaderParser
from email.policy import compat32

from services.notifier.domain.message_ids import contact_id_in
from services.notifier.domain.verp import contact_id_in_verp

_REPORT_TYPES = frozenset({"delivery-status", "global-delivery-status"})
_STATUS_PARTS = frozenset({"message/delivery-status", "message/global-delivery-status"})
_HEADER_PARTS = frozenset({"text/rfc822-headers", "message/global-headers"})
_ORIGINAL_PARTS = frozenset({"message/rfc822", "message/global"})
_STATUS = re.compile(r"(?<![\d.])([245])\.(\d{1,3})\.(\d{1,3})(?![\d.])")
_BASIC_CODE = re.compile(r"(?<!\d)([245])\d\d(?!\d)")
_CONTACT_HEADER = re.compile(r"^[\x21-\x7e]{1,200}$")
_BLOCK_BREAK = re.compile(r"\r?\n[ \t]*\r?\n")


@dataclass(frozen=True, slots=True)
class RecipientStatus:
    """What the reporting server did with the email for one recipient."""

    recipient: str | None
    action: str
    status: str | None
    diagnostic: str | None = None

    @property
    def permanent(self) -> bool:
        """Failed for good: action `failed` with a 5.x.x status."""
        return self.action == "failed" and (self.status or "").startswith("5.")


@dataclass(frozen=True, slots=True)
class BounceReport:
    """A delivery status report about one of our emails (or, unnamed, another's).

    `contact_id` is what the original's Message-ID, `X-Overdue-Contact` header
    or tagged envelope carries; whether it is a contact of ours is the
    caller's to check.
    """

    contact_id: str | None
    message_id: str | None
    recipients: tuple[RecipientStatus, ...]

    @property
    def permanent(self) -> bool:
        """Whether some recipient failed for good."""
        return any(recipient.permanent for recipient in self.recipients)

    @property
    def delayed(self) -> bool:
        """Whether the server is still trying and no recipient failed for good."""
        return not self.permanent and any(
            recipient.action == "delayed" for recipient in self.recipients
        )


def parse_bounce(
    raw: bytes, *, envelope_recipients: Sequence[str] = ()
) -> BounceReport | None:
    """The report `raw` holds, or None for any other message, however malformed."""
    try:
        return _parse(raw, envelope_recipients)
    except Exception:  # garbage may trip the email package anywhere
        return None


def _parse(raw: bytes, envelope_recipients: Sequence[str]) -> BounceReport | None:
    message = BytesParser(policy=compat32).parsebytes(raw)
    # TODO(#5): bounces in plain text only (qmail, some old Exim and Exchange
    # setups) are not read; they are dropped as if no bounce at all.
    if message.get_content_type() != "multipart/report":
        return None
    report_type = str(message.get_param("report-type", "") or "").strip().lower()
    if report_type not in _REPORT_TYPES:
        return None

    parts = list(_parts(message))
    recipients = tuple(
        status
        for part in parts
        if part.get_content_type() in _STATUS_PARTS
        for block in _blocks(part)
        if (status := _recipient_status(block)) is not None
    )
    if not recipients:
        return None

    original = _original_headers(parts)
    message_id = _header(original, "Message-ID")
    contact_id = (
        contact_id_in(message_id)
        or _contact_header(original)
        or next(filter(None, map(contact_id_in_verp, envelope_recipients)), None)
    )
    return BounceReport(
        contact_id=contact_id, message_id=message_id, recipients=recipients
    )


def _parts(message: Message) -> Iterable[Message]:
    """The report's parts, depth first, without entering the returned original."""
    yield message
    if message.get_content_maintype() == "multipart":
        for part in message.get_payload():
            if isinstance(part, Message):
                yield from _parts(part)


def _blocks(part: Message) -> list[Message]:
    """The field blocks of a delivery-status part, however the parser left it."""
    payload = part.get_payload()
    if isinstance(payload, list):
        return [block for block in payload if isinstance(block, Message)]
    data = part.get_payload(decode=True)
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else ""
    return [HeaderParser(policy=compat32).parsestr(b) for b in _BLOCK_BREAK.split(text)]


def _recipient_status(block: Message) -> RecipientStatus | None:
    """A per-recipient block as a status; None for the per-message block."""
    action = (_header(block, "Action") or "").split("(")[0].strip().lower()
    if not action:
        return None
    diagnostic = _header(block, "Diagnostic-Code")
    status = _status_in(_header(block, "Status")) or _status_from(diagnostic)
    recipient = _header(block, "Final-Recipient") or _header(
        block, "Original-Recipient"
    )
    if recipient is not None and ";" in recipient:
        recipient = recipient.partition(";")[2].strip()
    return RecipientStatus(
        recipient=recipient or None,
        action=action,
        status=status,
        diagnostic=diagnostic,
    )


def _status_in(text: str | None) -> str | None:
    found = _STATUS.search(text or "")
    return ".".join(found.groups()) if found else None


def _status_from(diagnostic: str | None) -> str | None:
    """A status from the diagnostic when `Status` is missing: enhanced, else basic."""
    if not diagnostic:
        return None
    _, _, reply = diagnostic.partition(";")
    found = _status_in(reply)
    if found:
        return found
    basic = _BASIC_CODE.search(reply)
    return f"{basic.group(1)}.0.0" if basic else None


def _original_headers(parts: Iterable[Message]) -> Message | None:
    """The headers of the email that bounced, from whichever part returns them."""
    for part in parts:
        kind = part.get_content_type()
        if kind in _ORIGINAL_PARTS:
            payload = part.get_payload()
            if isinstance(payload, list) and payload:
                first = payload[0]
                return first if isinstance(first, Message) else None
        if kind in _HEADER_PARTS:
            data = part.get_payload(decode=True)
            if isinstance(data, bytes):
                text = data.decode("utf-8", "replace").lstrip("\r\n")
                return HeaderParser(policy=compat32).parsestr(text)
    return None


def _contact_header(original: Message | None) -> str | None:
    value = _header(original, "X-Overdue-Contact")
    return value if value and _CONTACT_HEADER.match(value) else None


def _header(message: Message | None, name: str) -> str | None:
    if message is None:
        return None
    value = message.get(name)
    if value is None:
        return None
    text = " ".join(str(value).split())
    return text or None
