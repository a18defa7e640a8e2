"""A creditor's profile as the ledger keeps it; the policy travels beside it."""

from typing import Literal, Self

from pydantic import AnyHttpUrl, Field, model_validator

from shared.events.creditors import BankDetails, Branding, LateFeeSettings
from shared.events.fields import CountryCode, LanguageCode, Line, TimeZoneName
from shared.events.parties import PostalAddress
from shared.events.payload import Part
from shared.money import CurrencyCode


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
