"""Reading one cell: amounts, dates and yes/no flags, refusing anything ambiguous.

Each reader returns the value or raises `CellError` with a message a person
can act on; the message never repeats the cell's column or line.
"""

import re
from datetime import date
from decimal import Decimal


class CellError(ValueError):
    """The text of one cell cannot be read as the column's kind of value."""


def quoted(text: str) -> str:
    """The cell's text as a person typed it, in double quotes."""
    return f'"{text}"'


_PLAIN = re.compile(r"^[0-9]+$")
_POINT = re.compile(r"^[0-9]+\.[0-9]+$")
_COMMA = re.compile(r"^[0-9]+,[0-9]+$")
_COMMA_GROUPS_POINT = re.compile(r"^[0-9]{1,3}(,[0-9]{3})+(\.[0-9]+)?$")
_POINT_GROUPS_COMMA = re.compile(r"^[0-9]{1,3}(\.[0-9]{3})+(,[0-9]+)?$")


def parse_amount(text: str, *, decimal_comma: bool) -> Decimal:
    """An amount as written by a spreadsheet; `decimal_comma` for `;` and tab files.

    Accepted: `1234`, `1234.56`, `1,234.56`, `1.234,56`, and `1234,56` only
    when `decimal_comma`. A lone group such as `1.234` in a decimal-comma file
    or `1,234` in a comma file is refused as ambiguous. A leading `-` is kept,
    so that the fact's own rules can say why a negative amount is wrong.
    """
    sign, digits = ("-", text[1:]) if text.startswith("-") else ("", text)
    if _PLAIN.match(digits):
        return Decimal(sign + digits)
    if _POINT.match(digits):
        if decimal_comma and len(digits.partition(".")[2]) == 3:
            raise CellError(
                f"{quoted(text)} is ambiguous: a thousands point or a decimal point? "
                f"write {digits.replace('.', '')} or {digits.replace('.', ',')}"
            )
        return Decimal(sign + digits)
    if _COMMA.match(digits):
        if not decimal_comma:
            raise CellError(
                f"{quoted(text)} is ambiguous in a comma-separated file: write "
                f"{digits.replace(',', '.')} or {digits.replace(',', '')}"
            )
        return Decimal(sign + digits.replace(",", "."))
    if _POINT_GROUPS_COMMA.match(digits):
        return Decimal(sign + digits.replace(".", "").replace(",", "."))
    if _COMMA_GROUPS_POINT.match(digits) and "." in digits:
        return Decimal(sign + digits.replace(",", ""))
    if _COMMA_GROUPS_POINT.match(digits):
        raise CellError(
            f"{quoted(text)} is ambiguous: a thousands comma or a decimal comma? "
            f"write {digits.replace(',', '')}.00 or use a point for decimals"
        )
    raise CellError(f"{quoted(text)} is not an amount")


_ISO = re.compile(r"^([0-9]{4})-([0-9]{2})-([0-9]{2})$")
_GERMAN = re.compile(r"^([0-9]{1,2})\.([0-9]{1,2})\.([0-9]{4})$")
_SLASHED = re.compile(r"^[0-9]{1,2}/[0-9]{1,2}/[0-9]{2,4}$")


def parse_date(text: str) -> date:
    """`2026-01-05` or `05.01.2026`; `01/05/2026` is refused, its order unknown."""
    if match := _ISO.match(text):
        year, month, day = match.groups()
    elif match := _GERMAN.match(text):
        day, month, year = match.groups()
    elif _SLASHED.match(text):
        raise CellError(
            f"{quoted(text)} is ambiguous: day and month could be either way round; "
            "write 2026-01-05 or 05.01.2026"
        )
    else:
        raise CellError(f"{quoted(text)} is not a date like 2026-01-05 or 05.01.2026")
    try:
        return date(int(year), int(month), int(day))
    except ValueError:
        raise CellError(f"{quoted(text)} is not a day of the calendar") from None


_YES = frozenset({"yes", "y", "true", "1", "x", "ja", "j"})
_NO = frozenset({"no", "n", "false", "0", "nein"})


def parse_flag(text: str) -> bool:
    """`yes`/`no` and their usual spellings, English or German; empty means no."""
    folded = text.casefold()
    if not folded or folded in _NO:
        return False
    if folded in _YES:
        return True
    raise CellError(f"{quoted(text)} is neither yes nor no")
