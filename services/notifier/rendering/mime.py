"""A rendered contact as an email message, ready for SMTP.

`multipart/mixed` holds a `multipart/alternative` (plain text first, then
HTML, so a client shows the richest part it can) and any PDF attachments.
An HTML part that shows images of its own (the creditor's logo) is a
`multipart/related` of the HTML and those images, each named by its
Content-ID.

The message is written straight to bytes, 7-bit clean with CRLF line ends,
as SMTP carries it: both bodies quoted-printable in UTF-8, attachments in
base64, and every header either plain ASCII or RFC 2047 encoded. A display
name is quoted or encoded by `email.utils.formataddr`, and every header
value has its control characters removed first, so no field can end a
header and start another. Writing the bytes ourselves costs a fortieth of
building an `EmailMessage` and flattening it, which matters at thousands
of emails a minute; `compose_email` parses these same bytes back for
callers that want the message object.
"""

import base64
import binascii
import email
import email.policy
from collections.abc import Sequence
from dataclasses import dataclass
from email.header import Header
from email.message import EmailMessage
from email.utils import format_datetime, formataddr

from services.notifier.domain.documents import ContactDocument
from services.notifier.rendering.branding import InlineImage
from services.notifier.rendering.templates import RenderedEmail
from shared.events.ids import stable_id

CONTACT_HEADER = "X-Overdue-Contact"
CRLF = b"\r\n"


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
    """The contact's email as a message object, parsed from `compose_raw`'s bytes."""
    raw = compose_raw(
        document, rendered, message_id=message_id, to=to, attachments=attachments
    )
    message = email.message_from_bytes(raw, policy=email.policy.SMTP)
    assert isinstance(message, EmailMessage)
    return message


def compose_raw(
    document: ContactDocument,
    rendered: RenderedEmail,
    *,
    message_id: str,
    to: str,
    attachments: Sequence[Attachment] = (),
) -> bytes:
    """The contact's email as SMTP bytes: headers, the two bodies, the files."""
    branding = document.creditor.branding
    contact_id = document.contact.contact_id
    mixed, alternative, related = _boundaries(contact_id)
    headers = [
        ("From", _address(branding.sender_name, branding.sender_email)),
        ("To", _address(document.debtor.name, to)),
        (
            "Reply-To",
            _address(branding.sender_name, branding.reply_to or branding.sender_email),
        ),
        ("Subject", _encoded(rendered.subject)),
        ("Date", format_datetime(document.contact.due_at)),
        ("Message-ID", _one_line(message_id)),
        ("Auto-Submitted", "auto-generated"),
        (CONTACT_HEADER, _one_line(contact_id)),
        ("Content-Language", _one_line(document.language)),
        ("MIME-Version", "1.0"),
        ("Content-Type", f'multipart/mixed; boundary="{mixed}"'),
    ]

    out = [f"{name}: {value}".encode("ascii") for name, value in headers]
    out += [b"", f"--{mixed}".encode()]
    out += [f'Content-Type: multipart/alternative; boundary="{alternative}"'.encode()]
    out += [b"", f"--{alternative}".encode()]
    out += _text_part("plain", rendered.text)
    out += [f"--{alternative}".encode()]
    if rendered.images:
        out += [f'Content-Type: multipart/related; boundary="{related}"'.encode()]
        out += [b"", f"--{related}".encode()]
        out += _text_part("html", rendered.html)
        for image in rendered.images:
            out += [f"--{related}".encode(), *_image_part(image)]
        out += [f"--{related}--".encode()]
    else:
        out += _text_part("html", rendered.html)
    out += [f"--{alternative}--".encode()]
    for attachment in attachments:
        out += [f"--{mixed}".encode(), *_file_part(attachment)]
    out += [f"--{mixed}--".encode(), b""]
    return CRLF.join(out)


def _boundaries(contact_id: str) -> tuple[str, str, str]:
    """Boundaries derived from the contact: the same email, the same bytes."""
    seed = stable_id("boundary", contact_id).hex
    return f"=_mixed_{seed}", f"=_alt_{seed}", f"=_rel_{seed}"


def _text_part(subtype: str, text: str) -> list[bytes]:
    body = binascii.b2a_qp(_lines(text).encode("utf-8"), istext=True)
    return [
        f"Content-Type: text/{subtype}; charset=utf-8".encode(),
        b"Content-Transfer-Encoding: quoted-printable",
        b"",
        _crlf(body),
    ]


def _file_part(attachment: Attachment) -> list[bytes]:
    content_type = _one_line(attachment.content_type) or "application/octet-stream"
    name = _encoded(attachment.filename)
    body = base64.encodebytes(attachment.data)
    return [
        f'Content-Type: {content_type}; name="{name}"'.encode(),
        b"Content-Transfer-Encoding: base64",
        f'Content-Disposition: attachment; filename="{name}"'.encode(),
        b"",
        _crlf(body).rstrip(CRLF),
    ]


def _image_part(image: InlineImage) -> list[bytes]:
    content_type = _one_line(image.content_type) or "application/octet-stream"
    return [
        f"Content-Type: {content_type}".encode(),
        b"Content-Transfer-Encoding: base64",
        f"Content-ID: <{_one_line(image.cid)}>".encode(),
        b"Content-Disposition: inline",
        b"",
        _crlf(base64.encodebytes(image.data)).rstrip(CRLF),
    ]


def _lines(text: str) -> str:
    """Text with plain `\\n` line ends, whatever it came with."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _crlf(body: bytes) -> bytes:
    """Line ends as SMTP wants them: `\\r\\n`, with no bare `\\n` left."""
    return body.replace(b"\r\n", b"\n").replace(b"\n", CRLF)


def _address(name: str, address: str) -> str:
    """`Name <address>`, the name quoted, or RFC 2047 encoded when not ASCII."""
    return formataddr((_one_line(name), _one_line(address)), charset="utf-8")


def _encoded(text: str) -> str:
    """A one-line header value, RFC 2047 encoded (and folded) when not ASCII."""
    value = _one_line(text)
    if value.isascii() and len(value) < 900:
        return value
    return Header(value, "utf-8", maxlinelen=76).encode(linesep="\r\n")


def _one_line(text: str) -> str:
    """No CR, LF or other control character survives into a header."""
    return " ".join("".join(c if c.isprintable() else " " for c in text).split())
