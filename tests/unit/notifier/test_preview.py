"""`overdue preview`: the file a template would produce, nothing sent."""

import email
import email.policy
from pathlib import Path

from pypdf import PdfReader
from typer.testing import CliRunner

from services.notifier.service import Notifier
from shared.cli import app
from shared.events import parse_payload
from tests.support.scheduler import (
    at,
    creditor_updated,
    debtor_upserted,
    invoice_issued,
)

runner = CliRunner()


def test_a_sample_final_demand_previews_as_a_pdf_letter(tmp_path: Path) -> None:
    out = tmp_path / "final.pdf"

    result = runner.invoke(
        app,
        [
            "preview",
            "-t",
            "final",
            "-c",
            "letter",
            "-l",
            "de",
            "--sample",
            "-o",
            str(out),
        ],
    )

    assert result.exit_code == 0, result.output
    text = PdfReader(out).pages[0].extract_text()
    assert "Letzte Mahnung" in text


def test_a_known_debtor_previews_as_an_email_with_its_own_invoices(
    notifier: Notifier, tmp_path: Path
) -> None:
    moment = at("2026-01-05")
    notifier.follow_creditor(creditor_updated(moment))
    facts = [debtor_upserted(moment), invoice_issued(moment, number="INV-77")]
    notifier.follow_ledger_many(facts, [parse_payload(f) for f in facts])
    out = tmp_path / "reminder.eml"
    database = str(notifier.engine.url)

    result = runner.invoke(
        app,
        [
            "preview",
            "-t",
            "reminder",
            "--debtor",
            "d1",
            "--database",
            database,
            "-o",
            str(out),
        ],
    )

    assert result.exit_code == 0, result.output
    message = email.message_from_bytes(out.read_bytes(), policy=email.policy.default)
    assert message["To"].addresses[0].addr_spec == "ap@beta.example"
    body = message.get_body(preferencelist=("plain",))
    assert body is not None and "INV-77" in body.get_content()


def test_a_file_kind_the_channel_cannot_make_is_refused_naming_the_option(
    tmp_path: Path,
) -> None:
    result = runner.invoke(
        app, ["preview", "-t", "final", "--sample", "-o", str(tmp_path / "x.pdf")]
    )

    assert result.exit_code == 2
    assert "--out: an email previews as .eml, .html, .png" in result.output
    assert not (tmp_path / "x.pdf").exists()


def test_an_unknown_debtor_is_refused_naming_the_option(
    notifier: Notifier, tmp_path: Path
) -> None:
    result = runner.invoke(
        app,
        [
            "preview",
            "-t",
            "final",
            "--debtor",
            "nobody",
            "--database",
            str(notifier.engine.url),
            "-o",
            str(tmp_path / "x.eml"),
        ],
    )

    assert result.exit_code == 2
    assert "--debtor" in result.output
