"""Which template file renders a contact, with creditors' overrides and fallbacks.

Each template is one file per language, `templates/<language>/<name>.j2`,
whose prose is written once: it extends the layout it is given (a subject
line, a plain-text email, an HTML email or a printed letter) and calls the
macros of that format, so the four renderings of a contact say the same.

A creditor's folder `overrides/<creditor_id>/` has the same layout and wins
over the shipped file of the same name, for that creditor only. A template
missing in the debtor's language falls back to English; a ladder stage with
no template of its own falls back to the generic demand. Both are logged as
a warning once per creditor, template and language.
"""

import logging
import re
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from threading import Lock
from typing import Any

from jinja2 import FileSystemLoader, StrictUndefined
from jinja2.sandbox import SandboxedEnvironment

from services.notifier.domain.documents import ContactDocument
from services.notifier.rendering.branding import (
    InlineImage,
    letterhead,
    read_branding,
)
from services.notifier.rendering.context import build_context
from services.notifier.rendering.errors import NoPostalAddress, TemplateNotFound
from services.notifier.rendering.formats import Formats, locale_for
from services.notifier.rendering.geometry import geometry_for
from shared.events.contacts import NON_LADDER_TEMPLATES

logger = logging.getLogger(__name__)


def _shipped_templates() -> Path:
    """The repository's `templates/` folder; installed as a wheel (the Docker
    image), the copy the wheel carries inside the notifier's package."""
    repository = Path(__file__).resolve().parents[3] / "templates"
    if repository.is_dir():
        return repository
    return Path(__file__).resolve().parents[1] / "shipped_templates"


SHIPPED_TEMPLATES = _shipped_templates()
"""The templates the project ships: `templates/`."""

FALLBACK_LANGUAGE = "en"
# TODO(#5): only English and German are written; the US consumer-debt notices of
# Regulation F (validation notice, email opt-out) are not part of these templates.
GENERIC_DEMAND = "demand"
"""The template of a ladder stage that has none of its own."""
STATEMENT = "statement"
WORDS = "_words.j2"
"""Per language: the words the shared macros print (table headings, labels)."""

SUBJECT_LAYOUT = "_layouts/subject.j2"
TEXT_LAYOUT = "_layouts/email.txt.j2"
HTML_LAYOUT = "_layouts/email.html.j2"
LETTER_LAYOUT = "_layouts/letter.html.j2"
TEXT_MACROS = "_layouts/macros.txt.j2"
HTML_MACROS = "_layouts/macros.html.j2"

TEXT_WIDTH = 72
_BLANK_LINES = re.compile(r"\n[ \t]*(\n[ \t]*)+\n")
_TRAILING_SPACE = re.compile(r"[ \t]+\n")


@dataclass(frozen=True, slots=True)
class RenderedEmail:
    """An email's three renderings: a one-line subject, plain text and HTML."""

    subject: str
    text: str
    html: str
    images: tuple[InlineImage, ...] = ()
    """Images the HTML shows through `cid:`, carried in the email itself."""


@dataclass(frozen=True, slots=True)
class _Choice:
    """The template file that renders a contact, and in which language."""

    name: str
    template: str
    language: str


class Templates:
    """Renders contact documents from the shipped templates and creditors' overrides."""

    def __init__(
        self, shipped: Path = SHIPPED_TEMPLATES, overrides: Path | None = None
    ) -> None:
        self._shipped = shipped.resolve()
        self._overrides = overrides.resolve() if overrides is not None else None
        self._environments: dict[tuple[str | None, bool], SandboxedEnvironment] = {}
        self._warned: set[tuple[str, str, str]] = set()
        self._lock = Lock()

    def render_email(self, document: ContactDocument) -> RenderedEmail:
        """The contact's email: subject, plain text and HTML from one template."""
        choice = self._choose(document, document.contact.template)
        context = self._context(document, choice)  # once for the three parts
        subject = self._render(document, choice, SUBJECT_LAYOUT, False, context)
        text = self._render(document, choice, TEXT_LAYOUT, False, context)
        html = self._render(document, choice, HTML_LAYOUT, True, context)
        logo = context["creditor"].logo_file
        return RenderedEmail(
            subject=" ".join(subject.split()),
            text=_tidy_text(text),
            html=html,
            images=(logo,) if logo is not None else (),
        )

    def render_letter(self, document: ContactDocument) -> str:
        """The contact's letter, a whole HTML document with its print CSS."""
        if document.debtor.address is None:
            raise NoPostalAddress(f"contact {document.contact.contact_id}: no address")
        choice = self._choose(document, document.contact.template)
        return self._render(document, choice, LETTER_LAYOUT, True)

    def render_statement(self, document: ContactDocument) -> str:
        """The debtor's statement of account, as a printable HTML document."""
        choice = self._choose(document, STATEMENT)
        return self._render(document, choice, LETTER_LAYOUT, True)

    def base_url(self, creditor_id: str) -> str:
        """Where a rendered letter's relative links resolve: the creditor's folder."""
        folder = self._folder(creditor_id)
        return (folder or self._shipped).as_uri() + "/"

    def roots(self, creditor_id: str) -> tuple[Path, ...]:
        """The folders a letter of this creditor may read files from."""
        folder = self._folder(creditor_id)
        return (self._shipped,) if folder is None else (folder, self._shipped)

    def _render(
        self,
        document: ContactDocument,
        choice: _Choice,
        layout: str,
        html: bool,
        shared: dict[str, Any] | None = None,
    ) -> str:
        environment = self._environment(document.creditor_id, html=html)
        context = dict(shared) if shared else self._context(document, choice)
        context["layout"] = layout
        context["macros"] = HTML_MACROS if html else TEXT_MACROS
        context["channel"] = "letter" if layout == LETTER_LAYOUT else "email"
        logger.debug(
            "rendering",
            extra={**_ids(document), "template": choice.name, "layout": layout},
        )
        return environment.get_template(choice.name).render(context)

    def _context(self, document: ContactDocument, choice: _Choice) -> dict[str, Any]:
        formats = Formats(locale_for(choice.language, _country(document)))
        branding, logo, logo_type = read_branding(self._folder(document.creditor_id))
        context = build_context(
            document,
            template=choice.template,
            letterhead=letterhead(
                document.creditor, branding, logo, logo_type, formats
            ),
            formats=formats,
            geometry=geometry_for(document.creditor.paper),
        )
        context["language"] = choice.language
        context["words"] = self._words(document.creditor_id, choice.language)
        return context

    def _choose(self, document: ContactDocument, template: str) -> _Choice:
        """The file for this template in the debtor's language, else a fallback."""
        creditor = document.creditor_id
        language = document.language
        for candidate in _languages(language):
            name = f"{candidate}/{template}.j2"
            if self._exists(creditor, name):
                if candidate == FALLBACK_LANGUAGE and not _same_base(language):
                    self._warn_once(
                        document, template, "template missing in language; English"
                    )
                return _Choice(name, template, candidate)
        is_stage = template not in NON_LADDER_TEMPLATES and template != STATEMENT
        if is_stage and template != GENERIC_DEMAND:
            self._warn_once(document, template, "stage has no template; generic demand")
            return self._choose(document, GENERIC_DEMAND)
        raise TemplateNotFound(f"no template {template!r} in {language!r} or English")

    def _words(self, creditor: str, language: str) -> str:
        for candidate in _languages(language):
            if self._exists(creditor, f"{candidate}/{WORDS}"):
                return f"{candidate}/{WORDS}"
        raise TemplateNotFound(f"no {WORDS} in {language!r} or English")

    def _warn_once(self, document: ContactDocument, template: str, text: str) -> None:
        key = (document.creditor_id, template, document.language)
        with self._lock:
            if key in self._warned:
                return
            self._warned.add(key)
        logger.warning(text, extra={**_ids(document), "template": template})

    def _exists(self, creditor: str, name: str) -> bool:
        folder = self._folder(creditor)
        roots = [self._shipped] if folder is None else [folder, self._shipped]
        return any((root / name).is_file() for root in roots)

    def _folder(self, creditor: str) -> Path | None:
        """The creditor's override folder, if it has one; never a path outside."""
        if self._overrides is None:
            return None
        folder = (self._overrides / creditor).resolve()
        if folder.parent != self._overrides or not folder.is_dir():
            return None
        return folder

    def _environment(self, creditor: str, *, html: bool) -> SandboxedEnvironment:
        folder = self._folder(creditor)
        key = (str(folder) if folder else None, html)
        with self._lock:
            environment = self._environments.get(key)
            if environment is None:
                environment = _environment(
                    [self._shipped] if folder is None else [folder, self._shipped],
                    html=html,
                )
                self._environments[key] = environment
        return environment


def _environment(roots: Sequence[Path], *, html: bool) -> SandboxedEnvironment:
    environment = SandboxedEnvironment(
        loader=FileSystemLoader([str(root) for root in roots]),
        autoescape=html,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=True,
    )
    environment.filters["paragraph"] = paragraph
    environment.filters["text_table"] = text_table
    return environment


def paragraph(text: str, indent: str = "") -> str:
    """Plain text wrapped at 72 columns, its source line breaks ignored."""
    return textwrap.fill(
        " ".join(str(text).split()),
        width=TEXT_WIDTH,
        initial_indent=indent,
        subsequent_indent=indent,
        break_long_words=False,
        break_on_hyphens=False,
    )


def text_table(rows: Sequence[Sequence[object]], align: str = "") -> str:
    """Rows as aligned plain-text columns; `align` is one `l` or `r` per column."""
    cells = [[str(cell) for cell in row] for row in rows]
    count = max((len(row) for row in cells), default=0)
    widths = [
        max((len(r[i]) for r in cells if i < len(r)), default=0) for i in range(count)
    ]
    lines = []
    for row in cells:
        parts = []
        for i, cell in enumerate(row):
            right = i < len(align) and align[i] == "r"
            parts.append(cell.rjust(widths[i]) if right else cell.ljust(widths[i]))
        lines.append("  ".join(parts).rstrip())
    return "\n".join(lines)


def _tidy_text(text: str) -> str:
    text = _TRAILING_SPACE.sub("\n", text)
    return _BLANK_LINES.sub("\n\n", text).strip() + "\n"


def _languages(language: str) -> list[str]:
    """`de-AT`, then `de`, then English."""
    candidates = [language]
    base = language.split("-")[0]
    if base != language:
        candidates.append(base)
    if FALLBACK_LANGUAGE not in candidates:
        candidates.append(FALLBACK_LANGUAGE)
    return candidates


def _same_base(language: str) -> bool:
    return language.split("-")[0] == FALLBACK_LANGUAGE


def _country(document: ContactDocument) -> str:
    debtor = document.debtor
    if debtor.country:
        return debtor.country
    if debtor.address is not None:
        return debtor.address.country
    return document.creditor.country


def _ids(document: ContactDocument) -> dict[str, str]:
    return {
        "contact_id": document.contact.contact_id,
        "creditor": document.creditor_id,
        "debtor": document.debtor_id,
        "language": document.language,
    }
