"""Allocation of payments and credits to open invoices (SPEC §2).

A payment that names an invoice settles that invoice first; the rest, and any
payment that names none, settles open invoices oldest due date first (ties:
older issue date, then lower number). What is left over stays as the
debtor's unallocated credit, which settles invoices issued later, when they
are issued. Nothing is converted between currencies.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum

from services.ledger.domain.errors import (
    CurrencyMismatch,
    DueBeforeIssue,
    NothingToWriteOff,
    NotPositive,
    OverCredit,
    UnknownInvoice,
)
from shared.money import quantize

ZERO = Decimal(0)


class InvoiceStatus(StrEnum):
    OPEN = "open"
    PAID = "paid"
    WRITTEN_OFF = "written_off"


@dataclass(frozen=True)
class OpenItem:
    """An invoice as allocation sees it: what is still owed on it."""

    number: str
    issued_on: date
    due_on: date
    currency: str
    balance: Decimal
    status: InvoiceStatus = InvoiceStatus.OPEN

    @property
    def is_open(self) -> bool:
        return self.status is InvoiceStatus.OPEN and self.balance > 0


@dataclass(frozen=True)
class Share:
    """The part of a payment or credit that went to one invoice."""

    invoice: str
    amount: Decimal
    balance_after: Decimal


@dataclass(frozen=True)
class Allocated:
    """Where an amount went: shares in the order applied, and what is left over."""

    shares: tuple[Share, ...]
    leftover: Decimal


@dataclass(frozen=True)
class Issue:
    """An invoice entering the ledger: the credit applied to it, its balance."""

    credit_applied: Decimal
    balance: Decimal
    credit_left: Decimal

    @property
    def status(self) -> InvoiceStatus:
        return InvoiceStatus.OPEN if self.balance > 0 else InvoiceStatus.PAID


def status_for(balance: Decimal) -> InvoiceStatus:
    """Open while something is owed, paid once nothing is."""
    return InvoiceStatus.OPEN if balance > 0 else InvoiceStatus.PAID


def require_positive(amount: Decimal, field: str = "amount") -> None:
    """Zero and negative amounts are refused, naming the field."""
    if amount <= 0:
        raise NotPositive(field)


def oldest_due_first(items: Iterable[OpenItem]) -> list[OpenItem]:
    """Due date, then issue date, then number: the order of settlement."""
    return sorted(items, key=lambda item: (item.due_on, item.issued_on, item.number))


def issue_invoice(
    *, amount: Decimal, currency: str, issued_on: date, due_on: date, credit: Decimal
) -> Issue:
    """A new invoice takes what it can of the debtor's credit in its currency."""
    require_positive(amount)
    if due_on < issued_on:
        raise DueBeforeIssue()

    applied = min(credit, amount) if credit > 0 else ZERO
    return Issue(
        credit_applied=quantize(applied, currency),
        balance=quantize(amount - applied, currency),
        credit_left=quantize(credit - applied, currency),
    )


def allocate(
    items: Sequence[OpenItem],
    *,
    amount: Decimal,
    currency: str,
    invoice: str | None = None,
) -> Allocated:
    """Spread `amount` over `items`: the named invoice first, then oldest due.

    `items` are the debtor's invoices, open or not; only open ones in
    `currency` receive money. A named invoice that does not exist is refused
    (`invoice`), one in another currency too (`currency`). Open invoices that
    are all in other currencies refuse the payment rather than convert it.
    """
    require_positive(amount)

    named: OpenItem | None = None
    if invoice is not None:
        named = next((item for item in items if item.number == invoice), None)
        if named is None:
            raise UnknownInvoice("invoice")
        if named.currency != currency:
            raise CurrencyMismatch(named.currency, currency)
    open_items = [item for item in items if item.is_open]
    same_currency = [item for item in open_items if item.currency == currency]
    if open_items and not same_currency:
        raise CurrencyMismatch(open_items[0].currency, currency)

    order = oldest_due_first(same_currency)
    if named is not None and named in order:
        order.remove(named)
        order.insert(0, named)

    shares: list[Share] = []
    left = quantize(amount, currency)
    for item in order:
        if left <= 0:
            break
        paid = min(left, item.balance)
        left -= paid
        shares.append(Share(item.number, paid, quantize(item.balance - paid, currency)))
    return Allocated(tuple(shares), quantize(left, currency))


def credit_invoice(item: OpenItem, *, amount: Decimal, currency: str) -> Share:
    """A credit note naming an invoice reduces that invoice, never below zero."""
    require_positive(amount)
    if item.currency != currency:
        raise CurrencyMismatch(item.currency, currency)
    if item.status is InvoiceStatus.WRITTEN_OFF or amount > item.balance:
        raise OverCredit("amount")
    return Share(item.number, amount, quantize(item.balance - amount, currency))


def write_off(item: OpenItem) -> Decimal:
    """The creditor gives up what is still owed; a settled invoice has nothing."""
    if not item.is_open:
        raise NothingToWriteOff("number")
    return item.balance
