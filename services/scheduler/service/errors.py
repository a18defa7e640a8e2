"""Why the scheduler refuses a collector's command; each error names the field.

    SchedulerError
    ├── NotFound   (HTTP 404)  UnknownDebtor, UnknownInvoice
    ├── Invalid    (HTTP 422)  CurrencyMismatch
    └── Conflict   (HTTP 409)  NoOpenCase, AlreadyDisputed, NotDisputed

Messages never repeat a name, an amount or a note: they may be personal data.
"""


class SchedulerError(Exception):
    """Root of every refusal; `field` names what is wrong (`ClientError`)."""

    status: int = 400

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def __str__(self) -> str:
        return self.message if self.field is None else f"{self.field}: {self.message}"


class NotFound(SchedulerError):
    """What the command names does not exist for this creditor; never a 403."""

    status = 404


class Invalid(SchedulerError):
    """The command breaks a rule of collection."""

    status = 422


class Conflict(SchedulerError):
    """The command does not fit the state the debtor's case is in."""

    status = 409


class UnknownDebtor(NotFound):
    def __init__(self, field: str = "debtor") -> None:
        super().__init__("no such debtor for this creditor", field=field)


class UnknownInvoice(NotFound):
    def __init__(self, field: str = "invoice") -> None:
        super().__init__("no such invoice for this debtor", field=field)


class CurrencyMismatch(Invalid):
    def __init__(self, expected: str, field: str = "currency") -> None:
        super().__init__(
            f"does not match the currency of the debt, {expected}", field=field
        )


class NoOpenCase(Conflict):
    def __init__(self, field: str = "debtor") -> None:
        super().__init__(
            "the debtor has no open case (none, resolved or escalated)", field=field
        )


class AlreadyDisputed(Conflict):
    def __init__(self, field: str = "invoice") -> None:
        super().__init__("the invoice is under dispute already", field=field)


class NotDisputed(Conflict):
    def __init__(self, field: str = "invoice") -> None:
        super().__init__("the invoice has no open dispute", field=field)
