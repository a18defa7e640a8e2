"""Why the ledger refuses a command; each error names the field at fault.

    LedgerError
    ├── NotFound   (HTTP 404)  UnknownCreditor, UnknownDebtor, UnknownInvoice
    ├── Invalid    (HTTP 422)  CurrencyMismatch, OverCredit, DueBeforeIssue,
    │                          NotPositive, InvalidFact
    └── Conflict   (HTTP 409)  DuplicateCreditor, DuplicateInvoice,
                               DuplicatePayment, DuplicateCreditNote,
                               NothingToWriteOff

The ledger's own messages never repeat a name or an amount: they may be
personal data. (A payload check passed through as `InvalidFact` may quote one.)
"""


class LedgerError(Exception):
    """Root of every refusal; `field` names what is wrong, `index` the batch entry."""

    status: int = 400

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.index: int | None = None

    def __str__(self) -> str:
        where = f"[{self.index}] " if self.index is not None else ""
        if self.field is None:
            return f"{where}{self.message}"
        return f"{where}{self.field}: {self.message}"


class NotFound(LedgerError):
    """What the command refers to does not exist for this creditor."""

    status = 404


class Invalid(LedgerError):
    """The command breaks a rule of the ledger."""

    status = 422


class Conflict(LedgerError):
    """The command clashes with what is recorded already."""

    status = 409


class UnknownCreditor(NotFound):
    def __init__(self, field: str = "creditor") -> None:
        super().__init__("no such creditor", field=field)


class UnknownDebtor(NotFound):
    def __init__(self, field: str = "debtor") -> None:
        super().__init__("no such debtor for this creditor", field=field)


class UnknownInvoice(NotFound):
    def __init__(self, field: str = "invoice") -> None:
        super().__init__("no such invoice for this creditor", field=field)


class CurrencyMismatch(Invalid):
    def __init__(self, expected: str, got: str, field: str = "currency") -> None:
        super().__init__(
            f"{got} does not match the invoice currency {expected}; "
            "nothing is converted",
            field=field,
        )


class OverCredit(Invalid):
    def __init__(self, field: str = "amount") -> None:
        super().__init__("is more than the invoice's open balance", field=field)


class DueBeforeIssue(Invalid):
    def __init__(self, field: str = "due_on") -> None:
        super().__init__("is before issued_on", field=field)


class NotPositive(Invalid):
    def __init__(self, field: str = "amount") -> None:
        super().__init__("must be more than zero", field=field)


class InvalidFact(Invalid):
    """The fact's `data` does not match its type's payload."""


class DuplicateCreditor(Conflict):
    def __init__(self, field: str = "creditor") -> None:
        super().__init__("a creditor with this id exists already", field=field)


class DuplicateInvoice(Conflict):
    def __init__(self, field: str = "number") -> None:
        super().__init__("an invoice with this number exists already", field=field)


class DuplicatePayment(Conflict):
    def __init__(self, field: str = "payment_id") -> None:
        super().__init__("a payment with this id exists already", field=field)


class DuplicateCreditNote(Conflict):
    def __init__(self, field: str = "number") -> None:
        super().__init__("a credit note with this number exists already", field=field)


class NothingToWriteOff(Conflict):
    def __init__(self, field: str = "number") -> None:
        super().__init__("the invoice is paid or written off already", field=field)
