"""The creditor's letterhead: its profile's branding, with its `branding.yaml` over it.

`overrides/<creditor_id>/branding.yaml` may set any of the fields of
`BrandingFile`; what it leaves out comes from the creditor's profile. A logo
is a file in the same folder, embedded into letters as a `data:` URL so that
rendering fetches nothing.
"""

import base64
import mimetypes
from dataclasses import dataclass
from pathlib import Path

import yaml
from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, ValidationError

from services.notifier.rendering.errors import InvalidBranding
from services.notifier.rendering.formats import Formats
from shared.events.creditors import BankDetails, CreditorProfile
from shared.events.fields import Email, Line
from shared.events.parties import PostalAddress

BRANDING_FILE = "branding.yaml"
LOGO_TYPES = frozenset({"image/png", "image/jpeg", "image/svg+xml", "image/gif"})
LOGO_MAX_BYTES = 2_000_000
COLOR_PATTERN = r"^#[0-9a-fA-F]{6}$"
DEFAULT_ACCENT = "#1f4e79"

ZIP_AFTER_CITY = frozenset({"US", "CA", "AU"})
"""Countries that write the city first, then the state and postcode."""
POSTCODE_OWN_LINE = frozenset({"GB", "IE"})
"""Countries that write the postcode on a line of its own, below the town."""


class BrandingFile(BaseModel):
    """The fields a creditor's `branding.yaml` may set; all optional."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Line | None = Field(default=None, description="Shown in the letterhead.")
    legal_name: Line | None = None
    address: list[Line] | None = Field(default=None, max_length=6)
    logo: str | None = Field(default=None, description="A file next to branding.yaml.")
    accent_color: str | None = Field(default=None, pattern=COLOR_PATTERN)
    signature: Line | None = None
    phone: Line | None = None
    email: Email | None = Field(default=None, description="Shown as the contact.")
    website: AnyHttpUrl | None = None
    legal: list[Line] = Field(default_factory=list, max_length=4)
    bank: BankDetails | None = None
    payment_link: AnyHttpUrl | None = None


@dataclass(frozen=True, slots=True)
class BankView:
    """Bank details as printed; the IBAN in groups of four."""

    account_holder: str
    iban: str | None
    bic: str | None
    bank_name: str | None
    account_number: str | None
    routing_number: str | None


LOGO_CID = "logo@overdue"
"""The Content-ID an email's inline logo goes by."""


@dataclass(frozen=True, slots=True)
class InlineImage:
    """An image an HTML email carries itself, shown through `cid:`."""

    cid: str
    content_type: str
    data: bytes


@dataclass(frozen=True, slots=True)
class Letterhead:
    """Who writes: everything about the creditor a template may show."""

    name: str
    legal_name: str
    address_lines: tuple[str, ...]
    return_address: str
    city: str
    phone: str | None
    email: str
    website: str | None
    logo: str | None
    """A `data:` URL, for letters."""
    email_logo: str | None
    """For emails: `cid:` of the logo file carried inline, else the profile's
    https URL, which the mail client fetches, not us."""
    logo_file: InlineImage | None
    """The logo file of `branding.yaml`, for an email to carry inline."""
    accent: str
    signature: str | None
    legal: tuple[str, ...]
    bank: BankView | None
    payment_link: str | None


def read_branding(folder: Path | None) -> tuple[BrandingFile, bytes | None, str | None]:
    """The creditor's `branding.yaml`, with its logo's bytes and type, or defaults."""
    path = folder / BRANDING_FILE if folder is not None else None
    if path is None or not path.is_file():
        return BrandingFile(), None, None
    try:
        branding = BrandingFile.model_validate(yaml.safe_load(path.read_text()) or {})
    except (yaml.YAMLError, ValidationError, OSError) as exc:
        raise InvalidBranding(f"{path.name}: {exc}") from None
    if branding.logo is None:
        return branding, None, None
    assert folder is not None
    logo = (folder / branding.logo).resolve()
    if not logo.is_relative_to(folder.resolve()) or not logo.is_file():
        raise InvalidBranding(f"{path.name}: logo must be a file in the same folder")
    kind = mimetypes.guess_type(logo.name)[0]
    if kind not in LOGO_TYPES or logo.stat().st_size > LOGO_MAX_BYTES:
        raise InvalidBranding(f"{path.name}: logo must be PNG, JPEG, GIF or SVG <2 MB")
    return branding, logo.read_bytes(), kind


def postal_lines(address: PostalAddress, formats: Formats, home: str) -> list[str]:
    """An address as printed: its lines, the town line, and the country if abroad."""
    # TODO(#5): more than six printed lines do not fit DIN 5008's address zone and
    # the letter clips them; the ledger should refuse such an address for letters.
    lines = list(address.lines)
    if address.postcode is None:
        lines.append(address.city)
    elif address.country in ZIP_AFTER_CITY:
        lines.append(f"{address.city} {address.postcode}")
    elif address.country in POSTCODE_OWN_LINE:
        lines.extend([address.city, address.postcode])
    else:
        lines.append(f"{address.postcode} {address.city}")
    if address.country != home:
        lines.append(formats.country(address.country).upper())
    return lines


def letterhead(
    profile: CreditorProfile,
    branding: BrandingFile,
    logo: bytes | None,
    logo_type: str | None,
    formats: Formats,
) -> Letterhead:
    """The profile's branding with the creditor's `branding.yaml` merged over it."""
    name = branding.name or profile.branding.sender_name
    legal_name = branding.legal_name or profile.legal_name
    if branding.address is not None:
        lines = tuple(branding.address)
    else:
        lines = tuple(postal_lines(profile.address, formats, profile.country))
    # An address often starts with the company's name, which the letterhead
    # prints anyway: once is enough.
    while lines and lines[0].casefold() == legal_name.casefold():
        lines = lines[1:]
    bank = branding.bank or profile.bank
    link = branding.payment_link or profile.payment_link
    email = branding.email or profile.branding.reply_to or profile.branding.sender_email
    logo_url = None
    logo_file = None
    email_logo = str(profile.branding.logo_url) if profile.branding.logo_url else None
    if logo is not None and logo_type is not None:
        logo_url = f"data:{logo_type};base64,{base64.b64encode(logo).decode()}"
        logo_file = InlineImage(LOGO_CID, logo_type, logo)
        email_logo = f"cid:{LOGO_CID}"
    # TODO(#5): the profile's logo_url is never fetched for letters, because
    # rendering reads nothing from the network; a letter's logo is a file of
    # branding.yaml.
    return Letterhead(
        name=name,
        legal_name=legal_name,
        address_lines=lines,
        return_address=" · ".join([legal_name, *lines]),
        city=profile.address.city,
        phone=branding.phone,
        email=email,
        website=str(branding.website) if branding.website else None,
        logo=logo_url,
        email_logo=email_logo,
        logo_file=logo_file,
        accent=branding.accent_color or profile.branding.accent_color or DEFAULT_ACCENT,
        signature=branding.signature or profile.branding.signature,
        legal=tuple(branding.legal),
        bank=_bank_view(bank) if bank is not None else None,
        payment_link=str(link) if link is not None else None,
    )


def _bank_view(bank: BankDetails) -> BankView:
    iban = bank.iban
    grouped = (
        " ".join(iban[i : i + 4] for i in range(0, len(iban), 4)) if iban else None
    )
    return BankView(
        account_holder=bank.account_holder,
        iban=grouped,
        bic=bank.bic,
        bank_name=bank.bank_name,
        account_number=bank.account_number,
        routing_number=bank.routing_number,
    )
