"""Amounts, dates and rates as the debtor reads them, by Babel's CLDR data.

The locale is the rendered language with the debtor's country (`de_DE`,
`en_GB`, `en_US`); where CLDR has no such pair, the language alone.
"""

import datetime
from dataclasses import dataclass
from decimal import Decimal
from functools import cache, lru_cache

from babel import Locale, UnknownLocaleError
from babel.dates import format_date
from babel.numbers import format_currency, format_percent

RATE_EXPONENT = Decimal("0.01")


@cache
def locale_for(language: str, country: str | None) -> Locale:
    """The language in the debtor's country where CLDR has it, else the language."""
    base = language.replace("-", "_")
    candidates = [base]
    if country and "_" not in base:
        candidates.insert(0, f"{base}_{country}")
    for candidate in candidates:
        try:
            return Locale.parse(candidate)
        except (UnknownLocaleError, ValueError):
            continue
    return Locale.parse("en")


@dataclass(frozen=True, slots=True)
class Formats:
    """Formats values for one locale; templates only ever see the results."""

    locale: Locale

    @property
    def tag(self) -> str:
        """The locale as a BCP 47 tag, for `lang` attributes: `de-DE`."""
        return str(self.locale).replace("_", "-")

    def money(self, amount: Decimal, currency: str) -> str:
        """`1.200,00 €` in Germany, `€1,200.00` in Britain, `$1,200.00` in the US."""
        return _money(amount, currency, self.locale)

    def date(self, day: datetime.date) -> str:
        """A date in a table: `19.01.2026`, `19 Jan 2026`, `Jan 19, 2026`."""
        return _date(day, "medium", self.locale)

    def long_date(self, day: datetime.date) -> str:
        """A date in a sentence: `19. Januar 2026`, `19 January 2026`."""
        return _date(day, "long", self.locale)

    def rate(self, percent: Decimal) -> str:
        """An annual rate given in percent, to two places: `11,27 %`, `11.27%`."""
        fraction = percent.quantize(RATE_EXPONENT) / 100
        return str(
            format_percent(fraction, locale=self.locale, decimal_quantization=False)
        )

    def country(self, code: str) -> str:
        """A country's name in this locale's language."""
        return str(self.locale.territories.get(code, code))


@lru_cache(maxsize=4096)
def _money(amount: Decimal, currency: str, locale: Locale) -> str:
    """Babel's formatting, remembered: a batch repeats the same few amounts."""
    return str(format_currency(amount, currency, locale=locale))


@lru_cache(maxsize=4096)
def _date(day: datetime.date, form: str, locale: Locale) -> str:
    return str(format_date(day, format=form, locale=locale))
