"""A rendered contact as an email message, ready for SMTP.

`multipart/mixed` holds a `multipart/alternative` (plain text first, then
HTML, so a client shows the richest part it can) and any PDF attachments.
Every header is built by the standard library's header registry under the
SMTP policy: a name with quotes, non-ASCII or line breaks is quoted or
encoded, never able to start a header of its own.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime

from services.notifier.domain.documents import ContactDocument
from services.notifier.rendering.templates import RenderedEmail

CONTACT_HEADER = "X-Overdue-Contact"


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file sent along with the email: a statement or a letter's PDF."""

    filename: str
    content_type: str
    data: bytes


def compose_email(
    document: ContactDocument,
    rendered: RenderedEmail,
    *,
    message_id: str,
    to: str,
    attachments: Sequence[Attachment] = (),
) -> EmailMessage:
    """The contact's email: headers from the branding, the two bodies, the files."""
    branding = document.creditor.branding
    message = EmailMessage(policy=SMTP)
    message["From"] = _address(branding.sender_name, branding.sender_email)
    message["To"] = _address(_one_line(document.debtor.name), to)
    message["Reply-To"] = _address(
        branding.sender_name, branding.reply_to or branding.sender_email
    )
    message["Subject"] = _one_line(rendered.subject)
    message["Date"] = format_datetime(document.contact.due_at)
    message["Message-ID"] = message_id
    message["Auto-Submitted"] = "auto-generated"
    message[CONTACT_HEADER] = document.contact.contact_id

    message.set_content(rendered.text, subtype="plain", cte="quoted-printable")
    message.add_alternative(rendered.html, subtype="html", cte="quoted-printable")

    message.make_mixed()
    for attachment in attachments:
        maintype, _, subtype = attachment.content_type.partition("/")
        message.add_attachment(
            attachment.data,
            maintype=maintype,
            subtype=subtype or "octet-stream",
            filename=_one_line(attachment.filename),
        )
    # Setting the content drops every Content-* header, so this one comes last.
    message["Content-Language"] = document.language
    return message


def _address(name: str, email: str) -> Address:
    """An address header value; the display name is quoted or encoded as needed."""
    username, _, domain = email.rpartition("@")
    return Address(display_name=_one_line(name), username=username, domain=domain)


def _one_line(text: str) -> str:
    """No CR, LF or other control character survives into a header."""
    return " ".join("".join(c if c.isprintable() else " " for c in text).split())
