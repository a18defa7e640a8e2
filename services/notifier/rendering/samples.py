"""Realistic sample documents, for tests and `overdue preview --sample`.

A4 samples come from a German wholesaler that is paid by bank transfer and
charges statutory late fees (BGB §288); Letter samples from a US supplier
with a payment link and no late-fee settings. Every name, address and
account number here is invented (the IBAN is the well-known test number).

`python -m services.notifier.rendering.samples --pictures docs/images`
redraws the letter pictures of docs/templates.md.
"""

import argparse
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

from services.notifier.domain.documents import ContactDocument, StatementLine
from services.notifier.domain.late_fees import (
    LateFees,
    OverdueInvoice,
    RatePeriod,
    assess,
    default_margin,
)
from shared.events.contacts import DemandedInvoice, SendContact
from shared.events.creditors import (
    BankDetails,
    Branding,
    CreditorProfile,
    LateFeeSettings,
    ReferenceRate,
)
from shared.events.parties import DebtorDetails, PostalAddress

SENT_ON = date(2026, 3, 2)
PAY_BY = date(2026, 3, 16)
MISSED_ON = date(2026, 2, 23)
ONE_INVOICE_TEMPLATES = ("pre_due", "dispute_ack")
AMOUNT_TEMPLATES = ("promise_confirmation", "installment_due")

GERMAN_CREDITOR = CreditorProfile(
    legal_name="Nordlicht Bürobedarf GmbH",
    address=PostalAddress(
        lines=["Hafenstraße 12"], postcode="20457", city="Hamburg", country="DE"
    ),
    country="DE",
    timezone="Europe/Berlin",
    currency="EUR",
    language="de",
    paper="A4",
    branding=Branding(
        sender_name="Nordlicht Bürobedarf",
        sender_email="forderungen@nordlicht.example",
        reply_to="buchhaltung@nordlicht.example",
        accent_color="#0b5394",
        signature="Jana Petersen, Debitorenbuchhaltung",
    ),
    bank=BankDetails(
        account_holder="Nordlicht Bürobedarf GmbH",
        iban="DE89370400440532013000",
        bic="COBADEFFXXX",
        bank_name="Commerzbank Hamburg",
    ),
    late_fees=LateFeeSettings(
        jurisdiction="EU",
        reference_rates=[
            ReferenceRate(valid_from=date(2025, 7, 1), rate=Decimal("1.27")),
            ReferenceRate(valid_from=date(2026, 1, 1), rate=Decimal("1.27")),
        ],
    ),
)

US_CREDITOR = CreditorProfile(
    legal_name="Harbor Supply Company, Inc.",
    address=PostalAddress(
        lines=["200 Market Street, Suite 400"],
        postcode="94105",
        city="San Francisco, CA",
        country="US",
    ),
    country="US",
    timezone="America/Los_Angeles",
    currency="USD",
    language="en",
    paper="Letter",
    branding=Branding(
        sender_name="Harbor Supply",
        sender_email="billing@harborsupply.example",
        accent_color="#2e6b4f",
        signature="Dana Whitfield, Accounts Receivable",
    ),
    payment_link="https://pay.harborsupply.example/c/PH-2291",
)

GERMAN_DEBTOR = DebtorDetails(
    name="Beta Werkzeuge GmbH",
    email="rechnungen@beta-werkzeuge.example",
    language="de",
    country="DE",
    address=PostalAddress(
        lines=["Beta Werkzeuge GmbH", "Buchhaltung", "Lindenallee 23"],
        postcode="50667",
        city="Köln",
        country="DE",
    ),
    reference="K-10042",
)

US_DEBTOR = DebtorDetails(
    name="Pioneer Hardware LLC",
    email="ap@pioneerhardware.example",
    language="en",
    country="US",
    address=PostalAddress(
        lines=["Pioneer Hardware LLC", "Attn: Accounts Payable", "1450 Oak Avenue"],
        postcode="97205",
        city="Portland, OR",
        country="US",
    ),
    reference="PH-2291",
)

INVOICES = (
    DemandedInvoice(
        number="2026-0113",
        issued_on=date(2026, 1, 5),
        due_on=date(2026, 1, 19),
        amount=Decimal("1200.00"),
        balance=Decimal("1200.00"),
    ),
    DemandedInvoice(
        number="2026-0158",
        issued_on=date(2026, 1, 20),
        due_on=date(2026, 2, 3),
        amount=Decimal("845.50"),
        balance=Decimal("345.50"),
    ),
    DemandedInvoice(
        number="2026-0201",
        issued_on=date(2026, 2, 2),
        due_on=date(2026, 2, 16),
        amount=Decimal("2380.00"),
        balance=Decimal("2380.00"),
    ),
)

UPCOMING = DemandedInvoice(
    number="2026-0244",
    issued_on=date(2026, 2, 19),
    due_on=date(2026, 3, 5),
    amount=Decimal("612.80"),
    balance=Decimal("612.80"),
)


def sample_document(
    template: str,
    language: str,
    *,
    paper: Literal["A4", "Letter"] = "A4",
    late_fees: bool | None = None,
) -> ContactDocument:
    """A realistic document for `template`; fees by default only on `final`."""
    german = paper == "A4"
    creditor = GERMAN_CREDITOR if german else US_CREDITOR
    debtor = (GERMAN_DEBTOR if german else US_DEBTOR).model_copy(
        update={"language": language}
    )
    creditor_id = "nordlicht" if german else "harbor"
    debtor_id = "d-10042" if german else "d-2291"

    invoices = _invoices_for(template)
    amount_due = sum((i.balance for i in invoices), Decimal(0))
    if template in AMOUNT_TEMPLATES:
        amount_due = Decimal("1500.00")
    zone = ZoneInfo(creditor.timezone)
    contact = SendContact(
        contact_id=f"{creditor_id}.{debtor_id}.c-7.{template}",
        case_id=None if template == "pre_due" else "c-7",
        step=template,
        template=template,
        channels=["email", "letter"] if template == "final" else ["email"],
        language=language,
        due_at=datetime.combine(SENT_ON, time(9, 0), zone),
        currency=creditor.currency,
        amount_due=amount_due,
        invoices=list(invoices),
        pay_by=_pay_by(template),
        late_fees=bool(late_fees if late_fees is not None else template == "final"),
    )

    return ContactDocument(
        contact=contact,
        creditor_id=creditor_id,
        creditor=creditor,
        debtor_id=debtor_id,
        debtor=debtor,
        sent_on=SENT_ON,
        fees=_fees(creditor, contact) if contact.late_fees else None,
        statement=_statement(),
    )


def _pay_by(template: str) -> date | None:
    if template in AMOUNT_TEMPLATES:
        return PAY_BY
    if template in ("promise_broken", "plan_broken"):
        return MISSED_ON
    return None


def _invoices_for(template: str) -> tuple[DemandedInvoice, ...]:
    if template == "pre_due":
        return (UPCOMING,)
    if template == "dispute_ack":
        return (INVOICES[1],)
    if template in (*AMOUNT_TEMPLATES, "thank_you", "statement"):
        return ()
    if template == "final":
        return INVOICES
    return INVOICES[:2]


def _fees(creditor: CreditorProfile, contact: SendContact) -> LateFees | None:
    settings = creditor.late_fees
    if settings is None:
        return None
    margin = settings.margin
    return assess(
        [OverdueInvoice(i.number, i.due_on, i.balance) for i in contact.invoices],
        jurisdiction=settings.jurisdiction,
        currency=contact.currency,
        rates=[RatePeriod(r.valid_from, r.rate) for r in settings.reference_rates],
        margin=margin
        if margin is not None
        else default_margin(settings.jurisdiction, creditor.country),
        sent_on=SENT_ON,
    )


def _statement() -> tuple[StatementLine, ...]:
    lines = [
        StatementLine(i.number, i.issued_on, i.due_on, i.amount, i.balance)
        for i in INVOICES
    ]
    upcoming = UPCOMING
    lines.append(
        StatementLine(
            upcoming.number,
            upcoming.issued_on,
            upcoming.due_on,
            upcoming.amount,
            upcoming.balance,
        )
    )
    lines.insert(
        1,
        StatementLine(
            "2026-0131",
            date(2026, 1, 12),
            date(2026, 1, 26),
            Decimal("96.00"),
            Decimal("96.00"),
            disputed=True,
        ),
    )
    return tuple(lines)


def draw_pictures(folder: Path) -> list[Path]:
    """Render the `final` sample letter on both papers as first-page PNGs."""
    from services.notifier.rendering.pdf import first_page_png, render_pdf
    from services.notifier.rendering.templates import Templates

    templates = Templates()
    written = []
    folder.mkdir(parents=True, exist_ok=True)
    for paper, language, name in (
        ("A4", "de", "letter-a4.png"),
        ("Letter", "en", "letter-us-letter.png"),
    ):
        document = sample_document("final", language, paper=paper)  # type: ignore[arg-type]
        pdf = render_pdf(templates.render_letter(document))
        path = folder / name
        path.write_bytes(first_page_png(pdf.data))
        written.append(path)
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pictures", type=Path, required=True, metavar="FOLDER")
    for path in draw_pictures(parser.parse_args().pictures):
        print(path)


if __name__ == "__main__":
    main()
