"""Statutory late-payment interest and fixed compensation (SPEC §5).

Interest is simple interest on each demanded invoice's balance, at the
reference rate plus a margin, for the days from its due date to the send
date: `balance * (rate + margin) / 100 * days / 365`, rounded half-up to the
currency's minor unit once per invoice.

Sources (checked 2026-12-04): Directive 2011/7/EU art. 3, 6 (ECB rate + at
least 8 points, EUR 40 per invoice); BGB §288 (2), (5) (base rate + 9
points between businesses, EUR 40); Late Payment of Commercial Debts
(Interest) Act 1998 s. 4, 5A (Bank of England base rate + 8 %, GBP 40 / 70 /
100). Not legal advice.

Where the reference rate changed between the due date and the send date,
each day bears the rate in force on it: a half-year's rate for that
half-year's days, as the law reads. With a single rate in the span this is
exactly SPEC's formula. Days before the table's first entry bear no interest.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Literal

from shared.money import quantize

Jurisdiction = Literal["EU", "UK"]

DEFAULT_MARGIN = Decimal(8)
GERMAN_B2B_MARGIN = Decimal(9)
EU_COMPENSATION = Decimal(40)
UK_COMPENSATION_BANDS = ((Decimal(1000), Decimal(40)), (Decimal(10000), Decimal(70)))
UK_COMPENSATION_TOP = Decimal(100)
DAYS_PER_YEAR = Decimal(365)


@dataclass(frozen=True, slots=True)
class RatePeriod:
    """A reference rate in percent, in force from `valid_from` until the next."""

    valid_from: date
    rate: Decimal


@dataclass(frozen=True, slots=True)
class OverdueInvoice:
    """What the fees are worked out on: an invoice's number, due date and balance."""

    number: str
    due_on: date
    balance: Decimal


@dataclass(frozen=True, slots=True)
class InvoiceFees:
    """The late fees one invoice bears on the send date."""

    number: str
    balance: Decimal
    days: int
    annual_rate: Decimal
    """Reference rate plus margin, in percent, on the send date."""
    interest: Decimal
    compensation: Decimal

    @property
    def total(self) -> Decimal:
        return self.interest + self.compensation


@dataclass(frozen=True, slots=True)
class LateFees:
    """All demanded invoices' fees, in the demand's currency."""

    jurisdiction: Jurisdiction
    currency: str
    margin: Decimal
    invoices: tuple[InvoiceFees, ...]

    @property
    def interest(self) -> Decimal:
        return sum((f.interest for f in self.invoices), Decimal(0))

    @property
    def compensation(self) -> Decimal:
        return sum((f.compensation for f in self.invoices), Decimal(0))

    @property
    def total(self) -> Decimal:
        return self.interest + self.compensation


def default_margin(jurisdiction: Jurisdiction, creditor_country: str) -> Decimal:
    """Eight points over the reference rate; nine between businesses in Germany."""
    if jurisdiction == "EU" and creditor_country == "DE":
        return GERMAN_B2B_MARGIN
    return DEFAULT_MARGIN


def compensation(
    jurisdiction: Jurisdiction, currency: str, balance: Decimal
) -> Decimal:
    """The fixed sum owed per late invoice; none in a currency the law does not name.

    The EU's EUR 40 is not converted into other currencies, nor the UK's GBP
    amounts: an invoice in another currency gets no fixed compensation.
    """
    if jurisdiction == "EU":
        return EU_COMPENSATION if currency == "EUR" else Decimal(0)
    if currency != "GBP":
        return Decimal(0)
    for below, amount in UK_COMPENSATION_BANDS:
        if balance < below:
            return amount
    return UK_COMPENSATION_TOP


def rate_on(rates: Sequence[RatePeriod], day: date) -> Decimal | None:
    """The reference rate in force on `day`, or None before the table starts."""
    current: Decimal | None = None
    for period in sorted(rates, key=lambda p: p.valid_from):
        if period.valid_from > day:
            break
        current = period.rate
    return current


def assess(
    invoices: Sequence[OverdueInvoice],
    *,
    jurisdiction: Jurisdiction,
    currency: str,
    rates: Sequence[RatePeriod],
    margin: Decimal,
    sent_on: date,
) -> LateFees:
    """The late fees of each invoice overdue on `sent_on`."""
    fees = []
    for invoice in invoices:
        days = max((sent_on - invoice.due_on).days, 0)
        interest = quantize(
            _interest(invoice.balance, invoice.due_on, days, rates, margin), currency
        )
        reference = rate_on(rates, sent_on)
        fees.append(
            InvoiceFees(
                number=invoice.number,
                balance=invoice.balance,
                days=days,
                annual_rate=(reference + margin) if reference is not None else margin,
                interest=interest,
                compensation=compensation(jurisdiction, currency, invoice.balance),
            )
        )
    return LateFees(jurisdiction, currency, margin, tuple(fees))


def _interest(
    balance: Decimal,
    due_on: date,
    days: int,
    rates: Sequence[RatePeriod],
    margin: Decimal,
) -> Decimal:
    """Unrounded simple interest, each day at the rate in force on it."""
    total = Decimal(0)
    day_rates: dict[Decimal, int] = {}
    for offset in range(1, days + 1):
        reference = rate_on(rates, due_on + timedelta(days=offset))
        if reference is not None:
            day_rates[reference] = day_rates.get(reference, 0) + 1
    for reference, count in day_rates.items():
        total += balance * (reference + margin) / 100 * count / DAYS_PER_YEAR
    return total
