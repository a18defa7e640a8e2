"""Every template renders in both languages and channels, and the tone grows firmer."""

import logging
import re
import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from services.notifier.rendering.errors import NoPostalAddress
from services.notifier.rendering.samples import sample_document
from services.notifier.rendering.templates import (
    SHIPPED_TEMPLATES,
    RenderedEmail,
    Templates,
)

TEMPLATES = [
    "reminder",
    "second",
    "final",
    "pre_due",
    "promise_confirmation",
    "promise_broken",
    "dispute_ack",
    "installment_due",
    "plan_broken",
    "thank_you",
    "demand",
]
DEMANDS = ["reminder", "second", "final", "promise_broken", "plan_broken", "demand"]
LANGUAGES = ["en", "de"]
PAPERS = ["A4", "Letter"]
LEFTOVER_MARKUP = re.compile(r"\{\{|\}\}|\{%|%\}|\{#|#\}")


def flat(text: str) -> str:
    """Text as read: line breaks and no-break spaces as plain spaces."""
    return " ".join(text.replace("\xa0", " ").split())


def visible_text(html: str) -> str:
    """The HTML's text without tags and styles, whitespace collapsed."""
    html = re.sub(r"<style.*?</style>", " ", html, flags=re.S)
    return flat(re.sub(r"<[^>]+>", " ", html))


@pytest.mark.parametrize("paper", PAPERS)
@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("template", TEMPLATES)
def test_every_template_renders_an_email_and_a_letter_without_leftover_markup(
    templates: Templates, template: str, language: str, paper: str
) -> None:
    document = sample_document(template, language, paper=paper)  # type: ignore[arg-type]

    email = templates.render_email(document)
    letter = templates.render_letter(document)

    for output in (email.subject, flat(email.text), email.html, letter):
        assert not LEFTOVER_MARKUP.search(output)
    assert email.subject and "\n" not in email.subject
    assert letter.startswith("<!DOCTYPE html>")
    assert f"size: {'A4' if paper == 'A4' else 'letter'};" in letter


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("template", DEMANDS)
def test_every_demand_lists_its_invoices_total_and_payment_reference(
    templates: Templates, template: str, language: str
) -> None:
    document = sample_document(template, language)
    balance = "1.200,00 €"  # an English reader in Germany: en_DE

    email = templates.render_email(document)

    for part in (flat(email.text), visible_text(email.html)):
        for invoice in document.contact.invoices:
            assert invoice.number in part
        assert balance in part
        assert document.payment_reference in part
        assert "DE89 3704 0044 0532 0130 00" in part


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_statement_lists_every_open_invoice_and_marks_the_disputed_one(
    templates: Templates, language: str
) -> None:
    document = sample_document("statement", language)

    text = visible_text(templates.render_statement(document))

    for line in document.statement:
        assert line.number in text
    assert ("beanstandet" if language == "de" else "disputed") in text
    assert "4.634,30 €" in text


def test_amounts_and_dates_follow_the_debtors_locale(templates: Templates) -> None:
    german = flat(templates.render_email(sample_document("second", "de")).text)
    in_britain = sample_document("second", "en")
    in_britain = replace(
        in_britain, debtor=in_britain.debtor.model_copy(update={"country": "GB"})
    )
    british = flat(templates.render_email(in_britain).text)
    american = templates.render_email(sample_document("second", "en", paper="Letter"))

    assert "1.545,50 €" in german and "19.01.2026" in german
    assert "9. März 2026" in german
    assert "€1,545.50" in british and "19 Jan 2026" in british
    assert "$1,545.50" in flat(american.text) and "Jan 19, 2026" in flat(american.text)


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_reminder_is_friendly_and_threatens_nothing(
    templates: Templates, language: str
) -> None:
    email = templates.render_email(sample_document("reminder", language))

    text = flat(email.text).lower()
    assert ("bereits gezahlt" if language == "de" else "already paid") in text
    for threat in ("inkasso", "gericht", "collection agency", "legal action"):
        assert threat not in text
    assert "12. märz" not in text and "12 march" not in text


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_second_reminder_sets_a_date_to_pay_by(
    templates: Templates, language: str
) -> None:
    email = templates.render_email(sample_document("second", language))

    assert ("9. März 2026" if language == "de" else "9 March 2026") in flat(
        email.subject
    )
    assert (
        "Mahnung" in flat(email.subject)
        if language == "de"
        else "reminder" in flat(email.text)
    )


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_final_demand_names_its_deadline_the_agency_and_legal_action(
    templates: Templates, language: str
) -> None:
    email = templates.render_email(sample_document("final", language))

    deadline = "12. März 2026" if language == "de" else "12 March 2026"
    assert deadline in flat(email.subject) and deadline in flat(email.text)
    if language == "de":
        assert email.subject.startswith("Letzte Mahnung")
        assert "Inkassounternehmen" in flat(email.text)
        assert "gerichtliche Schritte" in flat(email.text)
        assert "§ 288 BGB" in flat(email.text)
    else:
        assert email.subject.startswith("Final demand")
        assert "collection agency" in flat(email.text) and "legal action" in flat(
            email.text
        )
        assert "section 288 of the German Civil Code" in flat(email.text)


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_final_demand_with_fees_shows_each_invoices_interest_and_the_total(
    templates: Templates, language: str
) -> None:
    document = sample_document("final", language)

    text = flat(templates.render_email(document).text)

    assert "10,27 %" in text
    for line in ("2026-0113", "14,18 €", "40,00 €", "146,18 €", "4.071,68 €"):
        assert line in text
    assert " 42 " in text


def test_a_final_demand_without_fees_asks_for_the_demand_alone(
    templates: Templates,
) -> None:
    document = sample_document("final", "en", late_fees=False)

    email = templates.render_email(document)

    assert "3.925,50 €" in flat(email.subject)
    assert "statutory interest" not in flat(email.text)


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize(
    "template",
    ["promise_confirmation", "dispute_ack", "installment_due", "thank_you"],
)
def test_the_conciliatory_emails_invite_the_debtor_to_reply(
    templates: Templates, template: str, language: str
) -> None:
    email = templates.render_email(sample_document(template, language))

    reply = "Antworten Sie einfach" if language == "de" else "Simply reply"
    assert reply in flat(email.text)


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("template", ["promise_broken", "plan_broken"])
def test_broken_commitments_offer_a_call_back(
    templates: Templates, template: str, language: str
) -> None:
    text = flat(templates.render_email(sample_document(template, language)).text)

    assert ("zurück" if language == "de" else "call you back") in text


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("template", ["promise_confirmation", "installment_due"])
def test_agreed_payments_name_their_amount_and_date(
    templates: Templates, template: str, language: str
) -> None:
    email = templates.render_email(sample_document(template, language))

    amount = "1.500,00 €"
    pay_by = "16. März 2026" if language == "de" else "16 March 2026"
    assert amount in flat(email.subject) and pay_by in flat(email.subject)
    assert amount in flat(email.text) and pay_by in flat(email.text)


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("template", ["pre_due", "dispute_ack"])
def test_single_invoice_contacts_name_their_invoice(
    templates: Templates, template: str, language: str
) -> None:
    document = sample_document(template, language)

    email = templates.render_email(document)

    assert document.contact.invoices[0].number in flat(email.subject)


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_thank_you_names_no_amount(templates: Templates, language: str) -> None:
    email = templates.render_email(sample_document("thank_you", language))

    assert "€" not in flat(email.text) and "€" not in visible_text(email.html)


def test_a_letter_for_a_debtor_without_address_is_refused(templates: Templates) -> None:
    document = sample_document("final", "de")
    document = replace(
        document, debtor=document.debtor.model_copy(update={"address": None})
    )

    with pytest.raises(NoPostalAddress):
        templates.render_letter(document)


def copy_shipped(tmp_path: Path) -> Path:
    """A copy of the shipped templates to take files away from."""
    return Path(shutil.copytree(SHIPPED_TEMPLATES, tmp_path / "shipped"))


def test_a_missing_german_template_renders_the_english_one_and_warns_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    shipped = copy_shipped(tmp_path)
    (shipped / "de" / "second.j2").unlink()
    templates = Templates(shipped=shipped)
    document = sample_document("second", "de")

    with caplog.at_level(logging.WARNING):
        first = templates.render_email(document)
        templates.render_email(document)

    assert first.subject.startswith("Second reminder")
    assert "Sehr geehrte" not in first.text
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert warnings[0].__dict__["template"] == "second"
    assert warnings[0].__dict__["language"] == "de"
    assert "Beta" not in warnings[0].getMessage()


def test_a_stage_without_template_renders_the_generic_demand_and_warns(
    templates: Templates, caplog: pytest.LogCaptureFixture
) -> None:
    document = sample_document("second", "de")
    contact = document.contact.model_copy(update={"template": "third_notice"})
    document = replace(document, contact=contact)

    with caplog.at_level(logging.WARNING):
        email = templates.render_email(document)

    assert email.subject.startswith("Mahnung:")
    assert any(r.__dict__.get("template") == "third_notice" for r in caplog.records)


def test_a_creditors_override_replaces_one_file_for_that_creditor_only(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "overrides" / "nordlicht" / "de"
    folder.mkdir(parents=True)
    (folder / "reminder.j2").write_text(
        "{% extends layout %}{% import macros as m with context %}"
        "{% block subject %}Kleine Erinnerung von Nordlicht{% endblock %}"
        "{% block body %}{{ m.invoice_table() }}{% endblock %}"
    )
    templates = Templates(overrides=tmp_path / "overrides")
    ours = sample_document("reminder", "de")
    other = replace(ours, creditor_id="someone-else")

    overridden = templates.render_email(ours)
    untouched = templates.render_email(other)
    second = templates.render_email(sample_document("second", "de"))

    assert overridden.subject == "Kleine Erinnerung von Nordlicht"
    assert "2026-0113" in overridden.text
    assert untouched.subject.startswith("Zahlungserinnerung")
    assert second.subject.startswith("1. Mahnung")


def test_branding_yaml_overrides_the_letterhead_bank_and_phone(tmp_path: Path) -> None:
    folder = tmp_path / "overrides" / "nordlicht"
    folder.mkdir(parents=True)
    (folder / "logo.svg").write_text(
        '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>'
    )
    (folder / "branding.yaml").write_text(
        "name: Nordlicht Nord\n"
        "accent_color: '#aa3300'\n"
        "phone: '+49 40 555 0100'\n"
        "logo: logo.svg\n"
        "legal: [Amtsgericht Hamburg HRB 99999]\n"
        "bank: {account_holder: Nordlicht Nord GmbH, iban: DE02120300000000202051}\n"
    )
    templates = Templates(overrides=tmp_path / "overrides")
    document = sample_document("promise_broken", "de")

    email = templates.render_email(document)
    letter = templates.render_letter(document)

    assert "Nordlicht Nord" in email.html and "#aa3300" in email.html
    assert "+49 40 555 0100" in flat(email.text)
    assert "DE02 1203 0000 0000 2020 51" in flat(email.text)
    assert "DE89" not in flat(email.text)
    assert "Amtsgericht Hamburg HRB 99999" in letter
    assert 'src="data:image/svg+xml;base64,' in letter
    assert 'src="cid:logo@overdue"' in email.html
    assert [image.content_type for image in email.images] == ["image/svg+xml"]


def test_a_branding_logo_outside_the_creditors_folder_is_refused(
    tmp_path: Path,
) -> None:
    from services.notifier.rendering.errors import InvalidBranding

    folder = tmp_path / "overrides" / "nordlicht"
    folder.mkdir(parents=True)
    (tmp_path / "secret.png").write_bytes(b"\x89PNG")
    (folder / "branding.yaml").write_text("logo: ../../secret.png\n")
    templates = Templates(overrides=tmp_path / "overrides")

    with pytest.raises(InvalidBranding):
        templates.render_letter(sample_document("final", "de"))


HOSTILE_NAME = "{{ 7*7 }}<script>alert(1)</script>"


def hostile(template: str = "reminder", language: str = "en") -> RenderedEmail:
    document = sample_document(template, language)
    debtor = document.debtor.model_copy(update={"name": HOSTILE_NAME})
    return Templates().render_email(replace(document, debtor=debtor))


def test_a_debtors_name_holding_template_code_is_printed_not_run() -> None:
    email = hostile()

    assert "49" not in email.text.split("\n")[0]
    assert "{{ 7*7 }}" in flat(email.text)
    assert "<script>" not in email.html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in email.html


def test_a_letter_escapes_a_hostile_invoice_number(templates: Templates) -> None:
    document = sample_document("final", "de")
    invoices = [
        invoice.model_copy(update={"number": "<b onload=x>{{ 7*7 }}"})
        if i == 0
        else invoice
        for i, invoice in enumerate(document.contact.invoices)
    ]
    document = replace(
        document, contact=document.contact.model_copy(update={"invoices": invoices})
    )

    letter = templates.render_letter(document)

    assert "<b onload" not in letter
    assert "&lt;b onload=x&gt;{{ 7*7 }}" in letter
