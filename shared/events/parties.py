"""Who is involved: postal addresses and what the ledger knows of a debtor."""

from pydantic import Field

from shared.events.fields import CountryCode, Email, LanguageCode, Line, TimeZoneName
from shared.events.payload import Part


class PostalAddress(Part):
    """An address a letter can be sent to, line by line as printed."""

    lines: list[Line] = Field(
        min_length=1, max_length=6, description="Recipient and street lines."
    )
    postcode: Line | None = None
    city: Line
    country: CountryCode


class DebtorDetails(Part):
    """How to reach a debtor and in which language and local time.

    `language`, `timezone` and `country` left empty fall back to the
    creditor's; `country` first to the address's (SPEC §3, §7).
    """

    name: Line = Field(min_length=1)
    email: Email | None = None
    email_opt_out: bool = Field(
        default=False, description="The debtor asked for letters only."
    )
    language: LanguageCode | None = None
    timezone: TimeZoneName | None = None
    country: CountryCode | None = None
    address: PostalAddress | None = None
    reference: Line | None = Field(
        default=None, description="The creditor's customer number for the debtor."
    )
