"""Field types shared by the payloads: moments, codes, and text that stays on one line.

Single-line text refuses control characters, so no name, address or invoice
number can carry a line break into an email header or a letter's layout.
"""

from datetime import datetime
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import Locale
from pydantic import (
    AfterValidator,
    AwareDatetime,
    PlainSerializer,
    StringConstraints,
    WithJsonSchema,
)

ONE_LINE_PATTERN = r"^[^\x00-\x1f\x7f]+$"
EMAIL_PATTERN = r"^[^@\s\x00-\x1f\x7f]+@[^@\s\x00-\x1f\x7f]+\.[^@\s\x00-\x1f\x7f]+$"
SLUG_PATTERN = r"^[a-z][a-z0-9_]*$"

_TERRITORIES = frozenset(Locale("en").territories)


def _iso_moment(moment: datetime) -> str:
    return moment.isoformat()


Moment = Annotated[
    AwareDatetime,
    PlainSerializer(_iso_moment, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]
"""A timezone-aware moment, written with its offset: `2026-01-05T10:12:00+01:00`."""

Line = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=200, pattern=ONE_LINE_PATTERN),
]
"""Text on one line: a name, an address line, an invoice number."""

Text = Annotated[str, StringConstraints(min_length=1, max_length=4000)]
"""Free text that may span lines: a collector's note, a dispute's reason."""

Email = Annotated[str, StringConstraints(max_length=254, pattern=EMAIL_PATTERN)]
"""An email address, refusing anything that could end a header line."""

Slug = Annotated[str, StringConstraints(max_length=40, pattern=SLUG_PATTERN)]
"""A lower-case name from a policy: a stage, a template."""


def _country(code: str) -> str:
    if code not in _TERRITORIES:
        raise ValueError(f"{code!r} is not an ISO 3166 country code")
    return code


CountryCode = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Z]{2}$"),
    AfterValidator(_country),
]
"""An ISO 3166-1 alpha-2 country code: `DE`, `GB`, `US`."""

LanguageCode = Annotated[str, StringConstraints(pattern=r"^[a-z]{2,3}(-[A-Z]{2})?$")]
"""A language, optionally with a region: `de`, `en`, `de-AT`."""


def _timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{name!r} is not an IANA timezone") from None
    return name


TimeZoneName = Annotated[
    str,
    StringConstraints(min_length=1, max_length=64, pattern=ONE_LINE_PATTERN),
    AfterValidator(_timezone),
    WithJsonSchema({"type": "string", "examples": ["Europe/Berlin"]}),
]
"""An IANA timezone name: `Europe/Berlin`."""

ContactId = Annotated[
    str, StringConstraints(min_length=1, max_length=200, pattern=r"^[\x21-\x7e]+$")
]
"""A contact's id: printable ASCII without spaces, as it becomes a Message-ID."""

Channel = Literal["email", "letter"]
"""How a contact reaches the debtor (SPEC §5)."""
