"""A rendered contact as an email: both bodies, the right headers, no injection."""

import email
import email.policy
from dataclasses import replace
from email.message import EmailMessage

import pytest

from services.notifier.domain.documents import ContactDocument
from services.notifier.domain.message_ids import message_id_for
from services.notifier.rendering.branding import InlineImage
from services.notifier.rendering.mime import Attachment, compose_email
from services.notifier.rendering.samples import sample_document
from services.notifier.rendering.templates import RenderedEmail, Templates

STATEMENT = Attachment("statement.pdf", "application/pdf", b"%PDF-1.7 sample")


def send(
    document: ContactDocument,
    rendered: RenderedEmail,
    attachments: tuple[Attachment, ...] = (),
) -> EmailMessage:
    """Compose, serialise and parse back, as a receiving mail server would."""
    sender = document.creditor.branding.sender_email
    message = compose_email(
        document,
        rendered,
        message_id=message_id_for(document.contact.contact_id, sender),
        to=document.debtor.email or "nobody@example.com",
        attachments=attachments,
    )
    parsed = email.message_from_bytes(message.as_bytes(), policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


@pytest.fixture(scope="module")
def second() -> tuple[ContactDocument, RenderedEmail]:
    document = sample_document("second", "de")
    return document, Templates().render_email(document)


def test_the_email_holds_text_then_html_then_the_attachment(
    second: tuple[ContactDocument, RenderedEmail],
) -> None:
    parsed = send(*second, attachments=(STATEMENT,))

    types = [part.get_content_type() for part in parsed.walk()]
    assert types == [
        "multipart/mixed",
        "multipart/alternative",
        "text/plain",
        "text/html",
        "application/pdf",
    ]
    attachment = next(parsed.iter_attachments())
    assert attachment.get_filename() == "statement.pdf"
    assert attachment.get_content() == STATEMENT.data


def test_the_headers_name_sender_recipient_date_and_contact(
    second: tuple[ContactDocument, RenderedEmail],
) -> None:
    document, rendered = second

    parsed = send(document, rendered)

    assert parsed["From"] == "Nordlicht Bürobedarf <forderungen@nordlicht.example>"
    assert parsed["To"] == "Beta Werkzeuge GmbH <rechnungen@beta-werkzeuge.example>"
    assert parsed["Reply-To"].addresses[0].addr_spec == "buchhaltung@nordlicht.example"
    assert parsed["Subject"] == rendered.subject
    assert parsed["Date"].datetime == document.contact.due_at
    assert parsed["Message-ID"] == ("<nordlicht.d-10042.c-7.second@nordlicht.example>")
    assert parsed["Content-Language"] == "de"
    assert parsed["Auto-Submitted"] == "auto-generated"
    assert parsed["X-Overdue-Contact"] == document.contact.contact_id


def test_without_reply_to_replies_go_to_the_sender() -> None:
    document = sample_document("reminder", "en", paper="Letter")

    parsed = send(document, Templates().render_email(document))

    assert parsed["Reply-To"].addresses[0].addr_spec == "billing@harborsupply.example"


def test_both_bodies_list_the_demanded_invoices(
    second: tuple[ContactDocument, RenderedEmail],
) -> None:
    document, rendered = second

    parsed = send(document, rendered)

    plain = parsed.get_body(preferencelist=("plain",))
    html = parsed.get_body(preferencelist=("html",))
    assert plain is not None and html is not None
    for part in (plain.get_content(), html.get_content()):
        for invoice in document.contact.invoices:
            assert invoice.number in part
        assert "1.545,50\xa0€" in part


def test_a_name_with_line_breaks_and_a_bcc_adds_no_header() -> None:
    document = sample_document("reminder", "de")
    hostile_rendered = RenderedEmail(
        subject="Zahlungserinnerung\r\nBcc: x@y.example",
        text="Hallo",
        html="<p>Hallo</p>",
    )
    creditor = document.creditor.model_copy(
        update={
            "branding": document.creditor.branding.model_copy(
                update={"sender_name": 'Nordlicht "Team", <evil@x.example>'}
            )
        }
    )
    document = replace(document, creditor=creditor)

    parsed = send(document, hostile_rendered)

    assert parsed["Bcc"] is None
    assert parsed["Subject"] == "Zahlungserinnerung Bcc: x@y.example"
    assert [a.addr_spec for a in parsed["From"].addresses] == [
        "forderungen@nordlicht.example"
    ]
    assert parsed["From"].addresses[0].display_name == (
        'Nordlicht "Team", <evil@x.example>'
    )


def test_a_debtor_name_with_a_line_break_stays_in_the_to_header() -> None:
    document = sample_document("reminder", "de")
    debtor = document.debtor.model_copy(update={"name": "Beta\r\nBcc: x@y.example"})
    document = replace(document, debtor=debtor)

    parsed = send(document, Templates().render_email(document))

    assert parsed["Bcc"] is None
    assert [a.addr_spec for a in parsed["To"].addresses] == [
        "rechnungen@beta-werkzeuge.example"
    ]


def test_an_inline_logo_travels_in_a_related_part_beside_the_html(
    second: tuple[ContactDocument, RenderedEmail],
) -> None:
    document, rendered = second
    logo = InlineImage("logo@overdue", "image/png", b"\x89PNG fake")
    with_logo = replace(rendered, images=(logo,))

    parsed = send(document, with_logo)

    types = [part.get_content_type() for part in parsed.walk()]
    assert types == [
        "multipart/mixed",
        "multipart/alternative",
        "text/plain",
        "multipart/related",
        "text/html",
        "image/png",
    ]
    image = next(p for p in parsed.walk() if p.get_content_type() == "image/png")
    assert image["Content-ID"] == "<logo@overdue>"
    assert image.get_content() == logo.data
    html = parsed.get_body(preferencelist=("html",))
    assert html is not None
    assert html.get_content().replace("\r\n", "\n") == rendered.html
