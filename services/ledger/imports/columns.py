"""The columns of an open-items file, their aliases and which records read them."""

import re
from dataclasses import dataclass
from enum import StrEnum


class Record(StrEnum):
    """What one row of the file states."""

    DEBTOR = "debtor"
    INVOICE = "invoice"
    PAYMENT = "payment"


RECORD_ALIASES: dict[str, Record] = {
    "debtor": Record.DEBTOR,
    "debitor": Record.DEBTOR,
    "invoice": Record.INVOICE,
    "rechnung": Record.INVOICE,
    "payment": Record.PAYMENT,
    "zahlung": Record.PAYMENT,
}

MAX_ADDRESS_LINES = 6


@dataclass(frozen=True, slots=True)
class Column:
    """One documented column: its name, other spellings, and the records using it."""

    name: str
    aliases: tuple[str, ...]
    records: frozenset[Record]
    required_by: frozenset[Record] = frozenset()


_ALL = frozenset(Record)
_DEBTOR = frozenset({Record.DEBTOR})
_INVOICE = frozenset({Record.INVOICE})
_PAYMENT = frozenset({Record.PAYMENT})
_MONEY = frozenset({Record.INVOICE, Record.PAYMENT})

COLUMNS: tuple[Column, ...] = (
    Column("record", ("satzart",), _ALL, _ALL),
    Column("debtor_id", ("debtor", "debitor", "debitorennummer"), _ALL, _ALL),
    Column("name", (), _DEBTOR, _DEBTOR),
    Column("email", ("e_mail",), _DEBTOR),
    Column("email_opt_out", ("keine_e_mail",), _DEBTOR),
    Column("language", ("sprache",), _DEBTOR),
    Column("timezone", ("zeitzone",), _DEBTOR),
    Column("country", ("land",), _DEBTOR),
    *(
        Column(f"address_line_{n}", (f"adresszeile_{n}",), _DEBTOR)
        for n in range(1, MAX_ADDRESS_LINES + 1)
    ),
    Column("postcode", ("plz", "postleitzahl"), _DEBTOR),
    Column("city", ("ort",), _DEBTOR),
    Column("address_country", ("land_der_anschrift",), _DEBTOR),
    Column("debtor_reference", ("customer_number", "kundennummer"), _DEBTOR),
    Column("invoice_number", ("invoice", "rechnungsnummer"), _MONEY, _INVOICE),
    Column("issue_date", ("rechnungsdatum",), _INVOICE, _INVOICE),
    Column("due_date", ("fälligkeit", "fälligkeitsdatum"), _INVOICE, _INVOICE),
    Column("currency", ("währung",), _MONEY, _MONEY),
    Column("amount", ("betrag",), _MONEY, _MONEY),
    Column("payment_id", ("zahlungs_id", "zahlungsnummer"), _PAYMENT, _PAYMENT),
    Column("received_date", ("zahlungsdatum",), _PAYMENT, _PAYMENT),
    Column("payment_reference", ("verwendungszweck",), _PAYMENT),
)

BY_SPELLING: dict[str, Column] = {
    spelling: column
    for column in COLUMNS
    for spelling in (column.name, *column.aliases)
}

BY_NAME: dict[str, Column] = {column.name: column for column in COLUMNS}

_SEPARATORS = re.compile(r"[\s\-.]+")


def normalise_header(text: str) -> str:
    """`Due Date`, `due-date` and `DUE_DATE` all read as `due_date`."""
    return _SEPARATORS.sub("_", text.strip().casefold()).strip("_")
