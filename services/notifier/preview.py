"""`overdue preview`: what one template would produce, for designers and collectors.

With `--sample` the document is made up; with `--debtor` it is that debtor's,
as the notifier's database knows it: its details, its creditor's profile
and branding, and its open invoices, overdue ones demanded. Nothing is sent.
"""

import base64
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import typer
from sqlmodel import Session, select

from services.notifier.adapters.tables import CreditorRow, DebtorRow, InvoiceRow
from services.notifier.domain.documents import ContactDocument
from services.notifier.domain.message_ids import message_id_for
from services.notifier.rendering.branding import InlineImage
from services.notifier.rendering.mime import compose_email
from services.notifier.rendering.pdf import first_page_png, render_pdf
from services.notifier.rendering.samples import sample_document
from services.notifier.rendering.templates import Templates
from services.notifier.service.drafting import late_fees_for, statement_of
from services.notifier.settings import NotifierSettings
from shared.db.engine import make_engine
from shared.events.contacts import DemandedInvoice, SendContact
from shared.events.creditors import CreditorProfile
from shared.events.ids import contact_id
from shared.events.parties import DebtorDetails
from shared.messaging.commands import database_option

FORMATS = {"email": (".eml", ".html", ".png"), "letter": (".pdf", ".png", ".html")}


class PreviewError(ValueError):
    """The preview asked for cannot be made; the message says which option."""


def preview(
    template: str = typer.Option(
        ...,
        "--template",
        "-t",
        help="A ladder stage (reminder, second, final, ...) "
        "or pre_due, promise_confirmation, promise_broken, dispute_ack, "
        "installment_due, plan_broken, thank_you, statement.",
    ),
    channel: str = typer.Option(
        "email", "--channel", "-c", help="`email` or `letter`."
    ),
    language: str | None = typer.Option(
        None, "--language", "-l", help="en, de, ... (default: the debtor's, else en)."
    ),
    out: Path = typer.Option(
        ...,
        "--out",
        "-o",
        help="The file to write: .eml, .html or .png for an "
        "email; .pdf, .png (first page) or .html for a letter.",
    ),
    sample: bool = typer.Option(False, "--sample", help="Made-up sample data."),
    debtor: str | None = typer.Option(
        None, "--debtor", help="A debtor id from the notifier's database."
    ),
    creditor: str | None = typer.Option(
        None, "--creditor", help="The debtor's creditor, if the id is not unique."
    ),
    paper: str | None = typer.Option(
        None, "--paper", help="A4 or Letter (default: the creditor's; sample: A4)."
    ),
    overrides: Path | None = typer.Option(
        None, "--overrides", help="A folder of creditor template overrides."
    ),
    database: str | None = database_option("notifier"),
) -> None:
    """Write the email or letter a template would produce, without sending it."""
    try:
        if sample == (debtor is not None):
            raise PreviewError("give either --sample or --debtor ID")
        if channel not in FORMATS:
            raise PreviewError("--channel is `email` or `letter`")
        if out.suffix.lower() not in FORMATS[channel]:
            allowed = ", ".join(FORMATS[channel])
            kind = "an email" if channel == "email" else "a letter"
            raise PreviewError(f"--out: {kind} previews as {allowed}")
        if paper not in (None, "A4", "Letter"):
            raise PreviewError("--paper is A4 or Letter")
        if sample:
            document = sample_document(
                template,
                language or "en",
                paper="Letter" if paper == "Letter" else "A4",
            )
        else:
            assert debtor is not None
            url = database or NotifierSettings().database_url
            document = debtor_document(
                url, debtor, creditor, template, channel, language, paper
            )
        data = render(Templates(overrides=overrides), document, channel, out.suffix)
    except PreviewError as error:
        raise typer.BadParameter(str(error)) from None
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(data)
    typer.echo(f"wrote {out} ({len(data):,} bytes)")


def render(
    templates: Templates, document: ContactDocument, channel: str, suffix: str
) -> bytes:
    """The bytes of the preview file, by its suffix."""
    suffix = suffix.lower()
    if channel == "email":
        rendered = templates.render_email(document)
        if suffix in (".html", ".png"):
            html = _images_inline(rendered.html, rendered.images)
            if suffix == ".html":
                return html.encode()
            return first_page_png(render_pdf(html).data)
        to = document.debtor.email or "debtor@example.invalid"
        message_id = message_id_for(
            document.contact.contact_id, document.creditor.branding.sender_email
        )
        message = compose_email(document, rendered, message_id=message_id, to=to)
        return message.as_bytes()
    html = (
        templates.render_statement(document)
        if document.contact.template == "statement"
        else templates.render_letter(document)
    )
    if suffix == ".html":
        return html.encode()
    pdf = render_pdf(html).data
    return first_page_png(pdf) if suffix == ".png" else pdf


def _images_inline(html: str, images: Sequence[InlineImage]) -> str:
    """The HTML with its `cid:` images as `data:` URLs, to be seen outside an email."""
    for image in images:
        data = base64.b64encode(image.data).decode()
        html = html.replace(
            f"cid:{image.cid}", f"data:{image.content_type};base64,{data}"
        )
    return html


def debtor_document(
    database_url: str,
    debtor: str,
    creditor: str | None,
    template: str,
    channel: str,
    language: str | None,
    paper: str | None,
) -> ContactDocument:
    """The document for one real debtor, demanding its overdue open invoices now."""
    engine = make_engine(database_url)
    with Session(engine) as session:
        query = select(DebtorRow).where(DebtorRow.debtor_id == debtor)
        if creditor is not None:
            query = query.where(DebtorRow.creditor_id == creditor)
        rows = session.exec(query).all()
        if not rows:
            raise PreviewError(f"--debtor: no debtor {debtor!r} in the notifier's data")
        if len(rows) > 1:
            raise PreviewError("--creditor: the debtor id is used by several")
        row = rows[0]
        creditor_row = session.get(CreditorRow, row.creditor_id)
        if creditor_row is None:
            raise PreviewError("--debtor: its creditor's profile has not arrived yet")
        invoices = session.exec(
            select(InvoiceRow).where(
                InvoiceRow.creditor_id == row.creditor_id,
                InvoiceRow.debtor_id == debtor,
            )
        ).all()
    engine.dispose()

    profile = CreditorProfile.model_validate(creditor_row.profile)
    if paper is not None:
        profile = profile.model_copy(update={"paper": paper})
    details = DebtorDetails.model_validate(row.details)
    now = datetime.now(UTC)
    today = now.astimezone(ZoneInfo(details.timezone or profile.timezone)).date()
    statement = statement_of(invoices, profile.currency)
    demanded = [i for i in statement if i.due_on < today] or list(statement[:1])
    contact = SendContact(
        contact_id=contact_id(row.creditor_id, debtor, None, f"preview:{template}"),
        step=f"preview:{template}",
        template=template,
        channels=[channel],
        language=language or details.language or profile.language,
        due_at=now,
        currency=profile.currency,
        amount_due=sum((i.balance for i in demanded), Decimal(0)),
        invoices=[
            DemandedInvoice(
                number=i.number,
                issued_on=i.issued_on,
                due_on=i.due_on,
                amount=i.amount,
                balance=i.balance,
            )
            for i in demanded
        ],
        late_fees=template == "final",
    )
    return ContactDocument(
        contact=contact,
        creditor_id=row.creditor_id,
        creditor=profile,
        debtor_id=debtor,
        debtor=details,
        sent_on=today,
        fees=late_fees_for(contact, profile, today),
        statement=statement,
    )
