"""Fakes and messages for the notifier's tests: a press, a mailer, a contact."""

import email
import email.policy
import io
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from email.message import EmailMessage
from typing import Any
from uuid import uuid4

from pypdf import PdfWriter
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from services.notifier.adapters.tables import ContactRow, DeliveryRow, OutboxMessage
from services.notifier.domain.documents import ContactDocument
from services.notifier.errors import PermanentDeliveryError, TransientDeliveryError
from services.notifier.rendering.pdf import RenderedPdf
from services.notifier.rendering.templates import RenderedEmail
from shared.events import Envelope
from shared.events.ids import contact_id as derive_contact_id


class FakeTemplates:
    """Renders a document as a few lines naming its template, no Jinja involved."""

    def __init__(self) -> None:
        self.fail_on: set[str] = set()

    def render_email(self, document: ContactDocument) -> RenderedEmail:
        self._check(document, "email")
        numbers = ", ".join(i.number for i in document.contact.invoices)
        text = f"{document.contact.template}: {numbers}"
        return RenderedEmail(
            subject=f"{document.contact.template} {document.debtor_id}",
            text=text,
            html=f"<p>{text}</p>",
        )

    def render_letter(self, document: ContactDocument) -> str:
        self._check(document, "letter")
        return f"<p>letter {document.contact.template}</p>"

    def render_statement(self, document: ContactDocument) -> str:
        return f"<p>statement of {len(document.statement)} invoices</p>"

    def base_url(self, creditor_id: str) -> str:
        return "file:///nonexistent/"

    def _check(self, document: ContactDocument, channel: str) -> None:
        if channel in self.fail_on:
            from jinja2 import TemplateError

            raise TemplateError("broken template")


class FakePress:
    """Blank A4 PDFs, one page per `<p>` of the HTML, without WeasyPrint."""

    def __init__(self) -> None:
        self.rendered: list[str] = []

    async def render(self, html: str, base_url: str | None = None) -> RenderedPdf:
        self.rendered.append(html)
        pages = max(html.count("<p>"), 1)
        writer = PdfWriter()
        for _ in range(pages):
            writer.add_blank_page(width=595, height=842)
        out = io.BytesIO()
        writer.write(out)
        return RenderedPdf(data=out.getvalue(), pages=pages)


@dataclass
class FakeMailer:
    """Keeps what it is given; `replies` scripts failures, one per send."""

    sent: list[EmailMessage] = field(default_factory=list)
    """What it took, parsed back from the bytes."""
    replies: list[str] = field(default_factory=list)
    """Each send pops one: `ok`, `transient` or `permanent`."""

    async def send(
        self,
        message: EmailMessage | bytes,
        *,
        sender: str,
        recipients: Any,
        contact_id: str | None = None,
    ) -> object:
        reply = self.replies.pop(0) if self.replies else "ok"
        if reply == "transient":
            raise TransientDeliveryError("451 4.3.0", code=451, status="4.3.0")
        if reply == "permanent":
            raise PermanentDeliveryError(
                "550 5.1.1", code=550, stage="rcpt", status="5.1.1"
            )
        if isinstance(message, bytes):
            parsed = email.message_from_bytes(message, policy=email.policy.default)
            assert isinstance(parsed, EmailMessage)
            message = parsed
        self.sent.append(message)
        return None


def contact_due(
    moment: datetime,
    *,
    debtor: str = "d1",
    step: str = "ladder:1",
    template: str = "reminder",
    channels: tuple[str, ...] = ("email",),
    invoices: tuple[tuple[str, str], ...] = (("INV-1", "1200.00"),),
    late_fees: bool = False,
    attach_statement: bool = False,
    creditor: str = "acme",
) -> Envelope:
    case = f"{debtor}#1"
    data = {
        "contact_id": derive_contact_id(creditor, debtor, case, step),
        "case_id": case,
        "step": step,
        "template": template,
        "channels": list(channels),
        "language": "en",
        "due_at": moment.isoformat(),
        "currency": "EUR",
        "amount_due": str(sum((Decimal(b) for _, b in invoices), Decimal(0))),
        "invoices": [
            {
                "number": number,
                "issued_on": "2026-01-05",
                "due_on": "2026-01-19",
                "amount": balance,
                "balance": balance,
            }
            for number, balance in invoices
        ],
        "late_fees": late_fees,
        "attach_statement": attach_statement,
    }
    return Envelope(
        id=uuid4(),
        type="contact.due",
        occurred_at=moment,
        creditor=creditor,
        debtor=debtor,
        data=data,
    )


def outcomes(engine: Engine) -> list[Envelope]:
    """The notifier's outcome events, in the order they were written."""
    with Session(engine) as session:
        rows = session.exec(select(OutboxMessage).order_by(col(OutboxMessage.position)))
        return [Envelope.from_bytes(row.envelope) for row in rows]


def sent_log(engine: Engine) -> dict[tuple[str, str], str]:
    with Session(engine) as session:
        return {
            (row.contact_id, row.channel): row.state
            for row in session.exec(select(DeliveryRow))
        }


def contact_row(engine: Engine, contact_id: str) -> ContactRow | None:
    with Session(engine) as session:
        return session.get(ContactRow, contact_id)
