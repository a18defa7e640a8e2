"""A creditor's profile and policy, on the compacted `ledger.creditors` topic.

The key is the creditor id alone; every service reads the topic whole at
start and keeps the latest record per creditor.
"""

from datetime import date
from typing import ClassVar, Literal, Self

from pydantic import AnyHttpUrl, Field, model_validator

from shared.events.fields import CountryCode, Email, LanguageCode, Line, TimeZoneName
from shared.events.parties import PostalAddress
from shared.events.payload import Part, Payload
from shared.money import CurrencyCode, DecimalStr
from shared.policy import Policy


class Branding(Part):
    """How the creditor's emails and letters look and whom they come from."""

    sender_name: Line = Field(min_length=1)
    sender_email: Email
    reply_to: Email | None = None
    logo_url: AnyHttpUrl | None = None
    accent_color: str | None = Field(default=None, pattern=r"^#[0-9a-fA-F]{6}$")
    signature: Line | None = None


class BankDetails(Part):
    """Where a debtor transfers money to."""

    account_holder: Line = Field(min_length=1)
    iban: str | None = Field(default=None, pattern=r"^[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}$")
    bic: str | None = Field(default=None, pattern=r"^[A-Z0-9]{8}([A-Z0-9]{3})?$")
    account_number: Line | None = None
    routing_number: Line | None = None
    bank_name: Line | None = None


class ReferenceRate(Part):
    """A statutory reference rate in percent, valid from a date until the next."""

    valid_from: date
    rate: DecimalStr


class LateFeeSettings(Part):
    """Statutory interest and fixed compensation on final demands (SPEC §5).

    With no `margin` the jurisdiction's default applies: 8 points, 9 for
    business-to-business debts in Germany.
    """

    jurisdiction: Literal["EU", "UK"]
    reference_rates: list[ReferenceRate] = Field(default_factory=list)
    margin: DecimalStr | None = None


class CreditorProfile(Part):
    """Who the creditor is, how its letters look and how a debtor pays it."""

    legal_name: Line = Field(min_length=1)
    address: PostalAddress
    country: CountryCode
    timezone: TimeZoneName
    currency: CurrencyCode
    language: LanguageCode
    paper: Literal["A4", "Letter"] = "A4"
    branding: Branding
    bank: BankDetails | None = None
    payment_link: AnyHttpUrl | None = None
    late_fees: LateFeeSettings | None = None

    @model_validator(mode="after")
    def _says_how_to_pay(self) -> Self:
        if self.bank is None and self.payment_link is None:
            raise ValueError("a creditor gives bank details or a payment link")
        return self


class CreditorUpdated(Payload, CreditorProfile):
    """The creditor's whole current profile, policy and API key hashes."""

    event_type: ClassVar[str] = "creditor.updated"
    keyed_by: ClassVar[Literal["debtor", "creditor"]] = "creditor"

    policy: Policy | None = Field(
        default=None,
        description="The collection policy of SPEC §3; none yet means nothing is sent.",
    )
    api_key_hashes: list[str] = Field(
        default_factory=list, description="Hashes of the creditor's live API keys."
    )
