"""Statutory interest and fixed compensation on a final demand (SPEC §5)."""

from datetime import date
from decimal import Decimal

from services.notifier.domain.late_fees import (
    OverdueInvoice,
    RatePeriod,
    assess,
    compensation,
    default_margin,
    rate_on,
)

RATES = [
    RatePeriod(date(2025, 7, 1), Decimal("1.27")),
    RatePeriod(date(2026, 1, 1), Decimal("1.27")),
]


def test_interest_is_simple_interest_over_the_days_since_the_due_date() -> None:
    invoice = OverdueInvoice("INV-1", date(2026, 1, 19), Decimal("1200.00"))

    fees = assess(
        [invoice],
        jurisdiction="EU",
        currency="EUR",
        rates=RATES,
        margin=Decimal(9),
        sent_on=date(2026, 3, 2),
    )

    # 1200 x 10.27 / 100 x 42 / 365 = 14.180...
    [line] = fees.invoices
    assert (line.days, line.annual_rate, line.interest) == (
        42,
        Decimal("10.27"),
        Decimal("14.18"),
    )
    assert line.compensation == Decimal(40)
    assert fees.total == Decimal("54.18")


def test_interest_is_rounded_half_up_to_the_currency_minor_unit() -> None:
    fees = assess(
        [OverdueInvoice("A", date(2026, 1, 1), Decimal("73.00"))],
        jurisdiction="EU",
        currency="EUR",
        rates=[RatePeriod(date(2026, 1, 1), Decimal("0"))],
        margin=Decimal("2.5"),
        sent_on=date(2026, 1, 2),
    )

    # 73 x 2.5 / 100 / 365 = 0.005 -> 0.01
    assert fees.invoices[0].interest == Decimal("0.01")


def test_each_day_bears_the_rate_in_force_on_it() -> None:
    rates = [
        RatePeriod(date(2025, 7, 1), Decimal("2.00")),
        RatePeriod(date(2026, 1, 1), Decimal("1.00")),
    ]

    fees = assess(
        [OverdueInvoice("A", date(2025, 12, 21), Decimal("3650.00"))],
        jurisdiction="UK",
        currency="GBP",
        rates=rates,
        margin=Decimal(8),
        sent_on=date(2026, 1, 10),
    )

    # 10 days at 10 % and 10 days at 9 %: 3650 x (0.10 x 10 + 0.09 x 10) / 365
    assert fees.invoices[0].interest == Decimal("19.00")


def test_days_before_the_table_starts_bear_no_interest() -> None:
    assert rate_on(RATES, date(2025, 6, 30)) is None
    fees = assess(
        [OverdueInvoice("A", date(2025, 6, 20), Decimal("365.00"))],
        jurisdiction="EU",
        currency="EUR",
        rates=RATES,
        margin=Decimal(8),
        sent_on=date(2025, 7, 1),
    )

    # Only 1 July is covered: 365 x 9.27 % / 365
    assert fees.invoices[0].interest == Decimal("0.09")


def test_the_margin_is_nine_points_between_german_businesses_else_eight() -> None:
    assert default_margin("EU", "DE") == Decimal(9)
    assert default_margin("EU", "FR") == Decimal(8)
    assert default_margin("UK", "GB") == Decimal(8)


def test_uk_compensation_follows_the_size_of_the_debt() -> None:
    assert compensation("UK", "GBP", Decimal("999.99")) == Decimal(40)
    assert compensation("UK", "GBP", Decimal("1000.00")) == Decimal(70)
    assert compensation("UK", "GBP", Decimal("9999.99")) == Decimal(70)
    assert compensation("UK", "GBP", Decimal("10000.00")) == Decimal(100)


def test_no_fixed_compensation_is_added_in_a_currency_the_law_does_not_name() -> None:
    assert compensation("EU", "EUR", Decimal("10")) == Decimal(40)
    assert compensation("EU", "PLN", Decimal("10")) == Decimal(0)
    assert compensation("UK", "EUR", Decimal("10")) == Decimal(0)
