"""Letters print with the address in the envelope window, the marks and the fees."""

import io
import pickle
from dataclasses import replace
from pathlib import Path
from typing import NamedTuple

import pdfplumber
import pytest

from services.notifier.rendering.geometry import A4, LETTER, PageGeometry
from services.notifier.rendering.pdf import (
    LocalOnlyFetcher,
    RenderedPdf,
    first_page_png,
    render_pdf,
)
from services.notifier.rendering.samples import sample_document
from services.notifier.rendering.templates import SHIPPED_TEMPLATES, Templates

POINTS_PER_MM = 72 / 25.4
TOLERANCE = 0.5
"""Millimetres a glyph's box may differ from its nominal position."""


@pytest.fixture(scope="module")
def a4_final(templates: Templates) -> RenderedPdf:
    return render_pdf(templates.render_letter(sample_document("final", "de")))


@pytest.fixture(scope="module")
def us_final(templates: Templates) -> RenderedPdf:
    document = sample_document("final", "en", paper="Letter")
    return render_pdf(templates.render_letter(document))


class Word(NamedTuple):
    """A word on the page and its box, in millimetres from the top-left corner."""

    text: str
    left: float
    right: float
    top: float
    bottom: float


def words_mm(pdf: RenderedPdf, page: int = 0) -> list[Word]:
    with pdfplumber.open(io.BytesIO(pdf.data)) as document:
        return [
            Word(
                w["text"],
                w["x0"] / POINTS_PER_MM,
                w["x1"] / POINTS_PER_MM,
                w["top"] / POINTS_PER_MM,
                w["bottom"] / POINTS_PER_MM,
            )
            for w in document.pages[page].extract_words()
        ]


def all_text(pdf: RenderedPdf) -> str:
    with pdfplumber.open(io.BytesIO(pdf.data)) as document:
        text = " ".join(page.extract_text() or "" for page in document.pages)
    return " ".join(text.split())


def assert_address_in_window(
    pdf: RenderedPdf, lines: tuple[str, ...], geometry: PageGeometry
) -> None:
    window = geometry.window
    expected = {word for line in lines for word in line.split()}
    found = {
        word.text
        for word in words_mm(pdf)
        if window.left - TOLERANCE <= word.left
        and word.right <= window.right + TOLERANCE
        and window.top - TOLERANCE <= word.top
        and word.bottom <= window.bottom + TOLERANCE
    }
    assert expected <= found, f"outside the window: {expected - found}"


def test_the_a4_address_lies_in_the_din_5008_form_b_window(
    a4_final: RenderedPdf,
) -> None:
    lines = ("Beta Werkzeuge GmbH", "Buchhaltung", "Lindenallee 23", "50667 Köln")

    assert_address_in_window(a4_final, lines, A4)
    street = next(w for w in words_mm(a4_final) if w.text == "Lindenallee")
    assert street.top >= A4.address.top - TOLERANCE


def test_the_us_letter_address_lies_in_the_number_10_window(
    us_final: RenderedPdf,
) -> None:
    lines = (
        "Pioneer Hardware LLC",
        "Attn: Accounts Payable",
        "1450 Oak Avenue",
        "Portland, OR 97205",
    )

    assert_address_in_window(us_final, lines, LETTER)


def test_the_pages_have_the_papers_size(
    a4_final: RenderedPdf, us_final: RenderedPdf
) -> None:
    with pdfplumber.open(io.BytesIO(a4_final.data)) as a4:
        assert (round(a4.pages[0].width), round(a4.pages[0].height)) == (595, 842)
    with pdfplumber.open(io.BytesIO(us_final.data)) as letter:
        assert (round(letter.pages[0].width), round(letter.pages[0].height)) == (
            612,
            792,
        )
    assert a4_final.pages >= 1 and us_final.pages >= 1


def test_the_a4_letter_has_fold_marks_at_105_and_210_mm_and_the_punch_mark(
    a4_final: RenderedPdf,
) -> None:
    with pdfplumber.open(io.BytesIO(a4_final.data)) as document:
        marks = sorted(
            round(rect["top"] / POINTS_PER_MM, 1)
            for rect in document.pages[0].rects
            if rect["x1"] / POINTS_PER_MM < 15
        )

    assert marks == [105.0, 148.5, 210.0]


def test_the_us_letter_has_no_din_marks(us_final: RenderedPdf) -> None:
    with pdfplumber.open(io.BytesIO(us_final.data)) as document:
        marks = [r for r in document.pages[0].rects if r["x1"] / POINTS_PER_MM < 15]

    assert marks == []


def test_a_three_invoice_final_demand_shows_the_fees_and_the_total_to_pay(
    a4_final: RenderedPdf,
) -> None:
    text = all_text(a4_final)

    for number in ("2026-0113", "2026-0158", "2026-0201"):
        assert number in text
    assert "Verzugskosten" in text and "146,18 €" in text
    assert "Zu zahlender Betrag 4.071,68 €" in text
    assert "DE89 3704 0044 0532 0130 00" in text


def test_the_us_letter_gives_the_payment_link(us_final: RenderedPdf) -> None:
    text = all_text(us_final)

    assert "https://pay.harborsupply.example/c/PH-2291" in text
    assert "$3,925.50" in text


def test_the_first_page_picture_is_a_png(a4_final: RenderedPdf) -> None:
    picture = first_page_png(a4_final.data, dpi=40)

    assert picture.startswith(b"\x89PNG\r\n\x1a\n")


def test_the_fetcher_refuses_the_network_and_files_outside_the_templates(
    tmp_path: Path,
) -> None:
    fetcher = LocalOnlyFetcher([SHIPPED_TEMPLATES])
    outside = tmp_path / "secret.css"
    outside.write_text("body { color: red }")

    for url in ("http://127.0.0.1:9/logo.png", "https://example.com/a.css"):
        with pytest.raises(ValueError, match="not fetched"):
            fetcher.fetch(url)
    with pytest.raises(ValueError, match="outside"):
        fetcher.fetch(outside.as_uri())
    inside = fetcher.fetch((SHIPPED_TEMPLATES / "README.md").as_uri())
    assert inside is not None


def test_a_letter_linking_to_the_network_still_renders_without_it() -> None:
    html = (
        '<html><body><img src="http://127.0.0.1:9/x.png">'
        '<link rel="stylesheet" href="file:///etc/passwd"><p>Hallo</p></body></html>'
    )

    pdf = render_pdf(html)

    assert pdf.pages == 1
    assert "Hallo" in all_text(pdf)


def test_render_pdf_can_be_sent_to_a_process_pool() -> None:
    assert pickle.loads(pickle.dumps(render_pdf)) is render_pdf


def test_the_statement_prints_as_a_pdf(templates: Templates) -> None:
    document = sample_document("statement", "de")

    pdf = render_pdf(templates.render_statement(document))

    text = all_text(pdf)
    assert "Kontoauszug zum 2. März 2026" in text
    assert "Offener Saldo 4.634,30 €" in text


@pytest.mark.parametrize(
    "legal_name",
    ["Nordlicht GmbH", "Kranich & Voss Papierwaren und Bürobedarf GmbH"],
)
def test_the_whole_return_address_fits_the_window_s_remark_line(
    templates: Templates, legal_name: str
) -> None:
    document = sample_document("final", "de")
    creditor = document.creditor.model_copy(update={"legal_name": legal_name})
    letter = render_pdf(templates.render_letter(replace(document, creditor=creditor)))

    remark = A4.remark
    assert remark is not None
    line = [
        word
        for word in words_mm(letter)
        if remark.top <= word.top
        and word.bottom <= remark.top + remark.height
        and remark.left <= word.left < remark.left + remark.width
    ]
    # The city ends the line, inside the zone's 5 mm margins: nothing clipped.
    assert line[-1].text.endswith("Hamburg")
    assert line[-1].right <= remark.left + remark.width - 5 + TOLERANCE
