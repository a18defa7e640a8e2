"""What the scheduler knows of one debtor's debts: invoices and their balances.

The ledger's events carry each invoice's balance after the fact, so the
projection takes balances as given and never recomputes an allocation.
"""

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

_ONE_DAY = timedelta(days=1)


@dataclass(slots=True)
class Invoice:
    """An invoice as collection sees it (SPEC §3: open, chaseable, overdue)."""

    number: str
    currency: str
    amount: Decimal
    balance: Decimal
    issued_on: date
    due_on: date
    known_on: date
    """The debtor's local date on which the scheduler learnt of it (for pre_due)."""
    written_off: bool = False
    disputed: bool = False
    """Under an open dispute, or one upheld while its credit note is pending."""

    @property
    def is_open(self) -> bool:
        """Open: a balance above zero, not written off."""
        return self.balance > 0 and not self.written_off

    @property
    def is_chaseable(self) -> bool:
        """Chaseable: open and not under dispute."""
        return self.is_open and not self.disputed

    def is_overdue_on(self, day: date) -> bool:
        """Overdue on `day`: open, and due before that local date."""
        return self.is_open and self.due_on < day


@dataclass(slots=True)
class Account:
    """One debtor's invoices with one creditor, in the order they became known."""

    invoices: dict[str, Invoice] = field(default_factory=dict)
    paid: dict[str, Decimal] = field(default_factory=dict)
    """Payments received, per currency, since the account began."""

    def overdue_balances(self, day: date) -> dict[str, Decimal]:
        """The overdue balance on local date `day`, per currency."""
        totals: dict[str, Decimal] = {}
        for invoice in self.invoices.values():
            if invoice.is_overdue_on(day):
                totals[invoice.currency] = (
                    totals.get(invoice.currency, Decimal(0)) + invoice.balance
                )
        return totals

    def demand(self, day: date, currency: str) -> list[Invoice]:
        """The chaseable invoices in `currency` overdue on `day`, oldest due first."""
        return sorted(
            (
                i
                for i in self.invoices.values()
                if i.currency == currency and i.is_chaseable and i.due_on < day
            ),
            key=lambda i: (i.due_on, i.number),
        )

    def anchor(self) -> Invoice | None:
        """The oldest chaseable invoice: its due date is the ladder's anchor A."""
        chaseable = [i for i in self.invoices.values() if i.is_chaseable]
        return min(chaseable, key=lambda i: (i.due_on, i.number), default=None)

    def next_overdue_day(self, after: date) -> date | None:
        """The first local date after `after` on which an open invoice turns overdue."""
        days = [
            i.due_on + _ONE_DAY
            for i in self.invoices.values()
            if i.is_open and i.due_on + _ONE_DAY > after
        ]
        return min(days, default=None)
