"""What the ledger answers when asked: read models, money as decimal strings."""

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict

from shared.events.parties import PostalAddress
from shared.money import AmountStr


class View(BaseModel):
    model_config = ConfigDict(frozen=True)


class DebtorView(View):
    """A debtor's details (SPEC §7)."""

    creditor: str
    debtor: str
    name: str
    email: str | None
    email_opt_out: bool
    language: str | None
    timezone: str | None
    country: str | None
    address: PostalAddress | None
    reference: str | None


class Settlement(View):
    """Money that went to an invoice, and where it came from."""

    source: Literal["payment", "credit_note", "credit"]
    reference: str
    amount: AmountStr


class InvoiceView(View):
    """An invoice with what is still owed and what settled it."""

    number: str
    debtor: str
    issued_on: date
    due_on: date
    currency: str
    amount: AmountStr
    credited: AmountStr
    balance: AmountStr
    status: Literal["open", "paid", "written_off"]
    settlements: list[Settlement]


class PaymentView(View):
    """A payment as received, with the part of it still unallocated."""

    payment_id: str
    currency: str
    amount: AmountStr
    received_on: date
    invoice: str | None
    reference: str | None
    unallocated: AmountStr


class CurrencyBalance(View):
    """What a debtor owes and holds as credit in one currency."""

    currency: str
    open_balance: AmountStr
    unallocated_credit: AmountStr


class StatementView(View):
    """A debtor's open items, payments and balances, oldest due first."""

    debtor: DebtorView
    open_items: list[InvoiceView]
    payments: list[PaymentView]
    balances: list[CurrencyBalance]
