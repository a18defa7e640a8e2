"""Letters and statements as PDF, with WeasyPrint, reading nothing but local files.

`render_pdf` is a plain module-level function of picklable arguments so that
it can run in a process pool: WeasyPrint holds the GIL for a whole render.
Its URL fetcher refuses the network: a template or a debtor's data can make
it read only `data:` URLs and files under the shipped templates, the
`base_url` folder (a creditor's override folder) or the `roots` given.
"""

import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import pypdfium2
from weasyprint import HTML, URLFetcher

from services.notifier.rendering.templates import SHIPPED_TEMPLATES

POINTS_PER_INCH = 72


@dataclass(frozen=True, slots=True)
class RenderedPdf:
    """A rendered PDF and its page count."""

    data: bytes
    pages: int


class LocalOnlyFetcher(URLFetcher):  # type: ignore[misc]
    """Fetches `data:` URLs and files under the allowed folders; nothing else."""

    def __init__(self, roots: Sequence[Path]) -> None:
        super().__init__(allowed_protocols=("data", "file"), allow_redirects=False)
        self._roots = tuple(root.resolve() for root in roots)

    def fetch(self, url: str, headers: Any = None) -> Any:
        parts = urlsplit(url)
        if parts.scheme == "file":
            path = Path(unquote(parts.path)).resolve()
            if not any(path.is_relative_to(root) for root in self._roots):
                raise ValueError(f"file outside the template folders: {path.name}")
        elif parts.scheme != "data":
            raise ValueError(f"not fetched: {parts.scheme} URL")
        return super().fetch(url, headers)


def render_pdf(
    html: str, base_url: str | None = None, roots: Sequence[Path] = ()
) -> RenderedPdf:
    """The HTML document as a PDF; no network, only local template files."""
    allowed = [SHIPPED_TEMPLATES, *roots]
    if base_url is not None and base_url.startswith("file:"):
        allowed.append(Path(unquote(urlsplit(base_url).path)))
    document = HTML(
        string=html,
        base_url=base_url or SHIPPED_TEMPLATES.as_uri() + "/",
        url_fetcher=LocalOnlyFetcher(allowed),
    ).render()
    return RenderedPdf(data=document.write_pdf(), pages=len(document.pages))


def first_page_png(pdf: bytes, dpi: int = 110) -> bytes:
    """A picture of the PDF's first page, for previews and the docs."""
    document = pypdfium2.PdfDocument(pdf)
    try:
        bitmap = document[0].render(scale=dpi / POINTS_PER_INCH)
        image = bitmap.to_pil()
        out = io.BytesIO()
        image.save(out, format="PNG", optimize=True)
        return out.getvalue()
    finally:
        document.close()
