"""Guessing how a file was written: its text encoding and its delimiter."""

import codecs
from dataclasses import dataclass

DELIMITERS = (";", ",", "\t")


class SniffError(ValueError):
    """The file cannot be read as text with one of the known delimiters."""


@dataclass(frozen=True, slots=True)
class Dialect:
    """What the sniffing found, reported back so a person can check it."""

    encoding: str
    delimiter: str

    @property
    def decimal_comma(self) -> bool:
        """`;` and tab files come from spreadsheets that write `1234,56`."""
        return self.delimiter != ","


def decode(data: bytes) -> tuple[str, str]:
    """The text and the encoding's name: UTF-8 (BOM or not), UTF-16 with BOM, cp1252.

    cp1252 is tried only when the bytes are not UTF-8; latin-1, which reads
    any bytes, is the last resort for the five bytes cp1252 leaves undefined.
    """
    candidates = ["utf-8", "cp1252"]
    if data.startswith(codecs.BOM_UTF8):
        candidates.insert(0, "utf-8-sig")
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        candidates.insert(0, "utf-16")
    for encoding in candidates:
        try:
            return data.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1"), "latin-1"


def delimiter_of(header: str) -> str:
    """The delimiter found most often in the header line; a tie is refused."""
    counts = {delimiter: header.count(delimiter) for delimiter in DELIMITERS}
    best = max(counts.values())
    winners = [delimiter for delimiter, count in counts.items() if count == best]
    if best == 0:
        raise SniffError("the header has no ';', ',' or tab between its columns")
    if len(winners) > 1:
        names = " and ".join(_shown(delimiter) for delimiter in winners)
        raise SniffError(f"cannot tell the delimiter: the header has as many {names}")
    return winners[0]


def _shown(delimiter: str) -> str:
    return "tabs" if delimiter == "\t" else f"'{delimiter}'"
