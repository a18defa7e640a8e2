"""What became of each contact, on `notifier.events` (SPEC §5, §7).

Each outcome repeats what the contact demanded, so the timeline and the
scheduler's case history can be written from these events alone.
"""

from typing import ClassVar, Literal

from pydantic import Field

from shared.events.fields import Channel, ContactId, LanguageCode, Line, Slug
from shared.events.payload import Payload
from shared.money import AmountStr, CurrencyCode


class ContactOutcome(Payload):
    """What every outcome of a contact says about it."""

    contact_id: ContactId
    case_id: str | None = None
    step: str = Field(min_length=1)
    template: Slug
    language: LanguageCode
    currency: CurrencyCode
    amount_due: AmountStr
    invoices: list[Line] = Field(default_factory=list, description="Their numbers.")


class ContactSent(ContactOutcome):
    """An email was accepted by the SMTP server, or a letter joined a print batch."""

    event_type: ClassVar[str] = "contact.sent"

    channel: Channel
    message_id: Line | None = Field(default=None, description="For an email.")
    batch: Line | None = Field(default=None, description="For a letter.")


class ContactFailed(ContactOutcome):
    """The contact could not go by this channel; `fallback` says what was tried next."""

    event_type: ClassVar[str] = "contact.failed"

    channel: Channel
    reason: Literal[
        "no_address", "smtp_permanent", "render_failed", "retries_exhausted"
    ]
    detail: Line | None = None
    fallback: Channel | None = None


class ContactBounced(ContactOutcome):
    """A sent email came back as undeliverable; the address is invalid until updated."""

    event_type: ClassVar[str] = "contact.bounced"

    channel: Literal["email"] = "email"
    message_id: Line | None = None
    detail: Line | None = None


class ContactSkipped(ContactOutcome):
    """The contact was not sent, on purpose."""

    event_type: ClassVar[str] = "contact.skipped"

    channel: Channel | None = None
    reason: Literal["already_sent", "paid", "cancelled", "merged_into_letter"]
