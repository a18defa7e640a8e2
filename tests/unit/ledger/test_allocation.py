"""SPEC §2 allocation and the ledger's refusals, rule by rule."""

from datetime import date
from decimal import Decimal

import pytest

from services.ledger.domain.allocation import (
    InvoiceStatus,
    OpenItem,
    Share,
    allocate,
    credit_invoice,
    issue_invoice,
    write_off,
)
from services.ledger.domain.errors import (
    CurrencyMismatch,
    DueBeforeIssue,
    LedgerError,
    NothingToWriteOff,
    NotPositive,
    OverCredit,
    UnknownInvoice,
)


def item(
    number: str,
    due: str,
    balance: str,
    *,
    issued: str = "2026-01-01",
    currency: str = "EUR",
    status: InvoiceStatus = InvoiceStatus.OPEN,
) -> OpenItem:
    return OpenItem(
        number=number,
        issued_on=date.fromisoformat(issued),
        due_on=date.fromisoformat(due),
        currency=currency,
        balance=Decimal(balance),
        status=status,
    )


INV_1 = item("INV-1", "2026-01-19", "100.00")
INV_2 = item("INV-2", "2026-02-01", "200.00")
INV_3 = item("INV-3", "2026-01-10", "50.00")

ALLOCATIONS = [
    (
        "oldest due date first",
        [INV_1, INV_2, INV_3],
        "120.00",
        None,
        [("INV-3", "50.00", "0.00"), ("INV-1", "70.00", "30.00")],
        "0.00",
    ),
    (
        "the named invoice first, then oldest due",
        [INV_1, INV_2, INV_3],
        "260.00",
        "INV-2",
        [
            ("INV-2", "200.00", "0.00"),
            ("INV-3", "50.00", "0.00"),
            ("INV-1", "10.00", "90.00"),
        ],
        "0.00",
    ),
    (
        "what is left over is credit",
        [INV_1],
        "150.00",
        None,
        [("INV-1", "100.00", "0.00")],
        "50.00",
    ),
    (
        "no open invoice: all of it is credit",
        [],
        "80.00",
        None,
        [],
        "80.00",
    ),
    (
        "same due date: the older issue date first",
        [
            item("B", "2026-03-01", "10.00", issued="2026-02-01"),
            item("A", "2026-03-01", "10.00", issued="2026-02-02"),
        ],
        "10.00",
        None,
        [("B", "10.00", "0.00")],
        "0.00",
    ),
    (
        "same due and issue dates: the lower number first",
        [item("B", "2026-03-01", "10.00"), item("A", "2026-03-01", "10.00")],
        "10.00",
        None,
        [("A", "10.00", "0.00")],
        "0.00",
    ),
    (
        "a paid or written-off invoice receives nothing",
        [
            item("P", "2026-01-01", "0.00", status=InvoiceStatus.PAID),
            item("W", "2026-01-02", "40.00", status=InvoiceStatus.WRITTEN_OFF),
            INV_2,
        ],
        "20.00",
        "P",
        [("INV-2", "20.00", "180.00")],
        "0.00",
    ),
    (
        "invoices in another currency are left alone",
        [item("USD-1", "2025-12-01", "10.00", currency="USD"), INV_1],
        "30.00",
        None,
        [("INV-1", "30.00", "70.00")],
        "0.00",
    ),
]


@pytest.mark.parametrize(
    ("items", "amount", "named", "expected", "leftover"),
    [case[1:] for case in ALLOCATIONS],
    ids=[case[0] for case in ALLOCATIONS],
)
def test_a_payment_is_allocated_as_spec_section_2_says(
    items, amount, named, expected, leftover
):
    result = allocate(items, amount=Decimal(amount), currency="EUR", invoice=named)

    assert [
        (s.invoice, str(s.amount), str(s.balance_after)) for s in result.shares
    ] == (expected)
    assert str(result.leftover) == leftover


REFUSALS = [
    ("a zero payment", [INV_1], "0.00", "EUR", None, NotPositive, "amount"),
    ("a negative payment", [INV_1], "-5.00", "EUR", None, NotPositive, "amount"),
    (
        "an unknown named invoice",
        [INV_1],
        "5.00",
        "EUR",
        "NOPE",
        UnknownInvoice,
        "invoice",
    ),
    (
        "a named invoice in another currency",
        [INV_1],
        "5.00",
        "USD",
        "INV-1",
        CurrencyMismatch,
        "currency",
    ),
    (
        "open invoices only in another currency",
        [INV_1],
        "5.00",
        "USD",
        None,
        CurrencyMismatch,
        "currency",
    ),
]


@pytest.mark.parametrize(
    ("items", "amount", "currency", "named", "error", "field"),
    [case[1:] for case in REFUSALS],
    ids=[case[0] for case in REFUSALS],
)
def test_a_payment_the_ledger_cannot_take_is_refused_naming_the_field(
    items, amount, currency, named, error, field
):
    with pytest.raises(error) as refused:
        allocate(items, amount=Decimal(amount), currency=currency, invoice=named)

    assert refused.value.field == field
    assert str(refused.value).startswith(f"{field}: ")


def test_credit_left_over_settles_an_invoice_issued_later_at_issue():
    issued = issue_invoice(
        amount=Decimal("120.00"),
        currency="EUR",
        issued_on=date(2026, 2, 1),
        due_on=date(2026, 2, 15),
        credit=Decimal("50.00"),
    )

    assert (issued.credit_applied, issued.balance, issued.credit_left) == (
        Decimal("50.00"),
        Decimal("70.00"),
        Decimal("0.00"),
    )
    assert issued.status is InvoiceStatus.OPEN


def test_credit_larger_than_a_new_invoice_pays_it_and_the_rest_stays_credit():
    issued = issue_invoice(
        amount=Decimal("30.00"),
        currency="EUR",
        issued_on=date(2026, 2, 1),
        due_on=date(2026, 2, 15),
        credit=Decimal("50.00"),
    )

    assert (issued.balance, issued.credit_left) == (Decimal("0.00"), Decimal("20.00"))
    assert issued.status is InvoiceStatus.PAID


INVOICE_REFUSALS = [
    ("due before issue", "10.00", "2026-02-10", "2026-02-09", DueBeforeIssue, "due_on"),
    ("a zero amount", "0.00", "2026-02-10", "2026-02-20", NotPositive, "amount"),
    ("a negative amount", "-1.00", "2026-02-10", "2026-02-20", NotPositive, "amount"),
]


@pytest.mark.parametrize(
    ("amount", "issued", "due", "error", "field"),
    [case[1:] for case in INVOICE_REFUSALS],
    ids=[case[0] for case in INVOICE_REFUSALS],
)
def test_an_invoice_the_ledger_cannot_take_is_refused_naming_the_field(
    amount, issued, due, error, field
):
    with pytest.raises(error) as refused:
        issue_invoice(
            amount=Decimal(amount),
            currency="EUR",
            issued_on=date.fromisoformat(issued),
            due_on=date.fromisoformat(due),
            credit=Decimal(0),
        )

    assert refused.value.field == field


def test_a_credit_note_reduces_the_invoice_it_names():
    share = credit_invoice(INV_1, amount=Decimal("40.00"), currency="EUR")

    assert share == Share("INV-1", Decimal("40.00"), Decimal("60.00"))


CREDIT_REFUSALS = [
    ("more than the open balance", INV_1, "100.01", "EUR", OverCredit, "amount"),
    ("another currency", INV_1, "10.00", "USD", CurrencyMismatch, "currency"),
    ("zero", INV_1, "0.00", "EUR", NotPositive, "amount"),
    (
        "a written-off invoice",
        item("W", "2026-01-01", "10.00", status=InvoiceStatus.WRITTEN_OFF),
        "5.00",
        "EUR",
        OverCredit,
        "amount",
    ),
]


@pytest.mark.parametrize(
    ("target", "amount", "currency", "error", "field"),
    [case[1:] for case in CREDIT_REFUSALS],
    ids=[case[0] for case in CREDIT_REFUSALS],
)
def test_a_credit_note_the_ledger_cannot_take_is_refused_naming_the_field(
    target, amount, currency, error, field
):
    with pytest.raises(error) as refused:
        credit_invoice(target, amount=Decimal(amount), currency=currency)

    assert refused.value.field == field


def test_a_write_off_gives_up_the_open_balance():
    assert write_off(INV_2) == Decimal("200.00")


def test_a_paid_invoice_cannot_be_written_off():
    paid = item("P", "2026-01-01", "0.00", status=InvoiceStatus.PAID)

    with pytest.raises(NothingToWriteOff) as refused:
        write_off(paid)

    assert refused.value.status == 409


@pytest.mark.parametrize(
    ("error", "status"),
    [(UnknownInvoice(), 404), (OverCredit(), 422), (NothingToWriteOff(), 409)],
)
def test_every_refusal_carries_the_http_status_an_api_answers_with(error, status):
    assert isinstance(error, LedgerError)
    assert error.status == status
