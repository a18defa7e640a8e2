"""Where a letter's parts sit on the page, so the address shows in the envelope window.

All lengths are millimetres from the page's top-left corner. The letter
layout positions its blocks from these numbers and the tests measure the PDF
against them, so the two cannot drift apart.

A4 follows DIN 5008 form B (checked 2026-12-04): the address field is
85 x 45 mm, 20 mm from the left edge and 45 mm from the top; a 17.7 mm zone
for the return address and remarks sits above a 27.3 mm zone of up to six
address lines. Fold marks at 105 and 210 mm, the punch mark at 148.5 mm. It
fits a DL or C6/5 envelope with a DIN 680 window (90 x 45 mm, 20 mm from the
left).

US Letter is tri-folded into three panels of 11/3 in (93.13 mm) and slid into
a #10 envelope (4 1/8 x 9 1/2 in) with its window of 1 1/8 x 4 1/2 in, 7/8 in
from the left and 1/2 in from the bottom. The folded sheet rests on the
envelope's bottom edge and against its left edge, so on the sheet the window
spans 7/8 to 5 3/8 in from the left and 2.042 to 3.167 in from the top. The
address block is kept 1/8 in inside it, as USPS asks of window clearance.
"""

from dataclasses import dataclass
from typing import Literal

INCH = 25.4
"""Millimetres per inch."""

Paper = Literal["A4", "Letter"]


@dataclass(frozen=True, slots=True)
class Box:
    """A rectangle on the page, in millimetres from the top-left corner."""

    left: float
    top: float
    width: float
    height: float

    @property
    def right(self) -> float:
        return self.left + self.width

    @property
    def bottom(self) -> float:
        return self.top + self.height


@dataclass(frozen=True, slots=True)
class PageGeometry:
    """One paper's page size, window, address blocks and marks."""

    paper: Paper
    css_size: str
    width: float
    height: float
    window: Box
    """What the envelope window shows of the folded sheet."""
    remark: Box | None
    """The return-address line above the recipient, inside the window."""
    address: Box
    """The recipient's lines."""
    info: Box
    """Customer number, reference and date, beside the address."""
    body_top: float
    """Where the subject line starts on page one."""
    margin_left: float
    margin_right: float
    margin_top: float
    margin_bottom: float
    fold_marks: tuple[float, ...]
    punch_mark: float | None


A4 = PageGeometry(
    paper="A4",
    css_size="A4",
    width=210.0,
    height=297.0,
    window=Box(left=20.0, top=45.0, width=85.0, height=45.0),
    remark=Box(left=20.0, top=45.0, width=85.0, height=17.7),
    address=Box(left=20.0, top=62.7, width=85.0, height=27.3),
    info=Box(left=125.0, top=50.0, width=65.0, height=40.0),
    body_top=98.46,
    margin_left=25.0,
    margin_right=20.0,
    margin_top=20.0,
    margin_bottom=30.0,
    fold_marks=(105.0, 210.0),
    punch_mark=148.5,
)

_US_PANEL = 11 * INCH / 3
_US_ENVELOPE_HEIGHT = 4.125 * INCH
_US_DROP = _US_ENVELOPE_HEIGHT - _US_PANEL
"""How far the sheet's top sits below the envelope's top when it rests on the bottom."""
_US_WINDOW_TOP = _US_ENVELOPE_HEIGHT - 0.5 * INCH - 1.125 * INCH - _US_DROP
_CLEARANCE = 0.125 * INCH

LETTER = PageGeometry(
    paper="Letter",
    css_size="letter",
    width=8.5 * INCH,
    height=11 * INCH,
    window=Box(
        left=0.875 * INCH, top=_US_WINDOW_TOP, width=4.5 * INCH, height=1.125 * INCH
    ),
    remark=None,
    address=Box(
        left=0.875 * INCH + _CLEARANCE,
        top=_US_WINDOW_TOP + _CLEARANCE,
        width=4.5 * INCH - 2 * _CLEARANCE,
        height=1.125 * INCH - 2 * _CLEARANCE,
    ),
    info=Box(left=5.25 * INCH, top=_US_WINDOW_TOP, width=2.5 * INCH, height=1.1 * INCH),
    body_top=_US_PANEL + 0.25 * INCH,
    margin_left=1.0 * INCH,
    margin_right=0.75 * INCH,
    margin_top=0.75 * INCH,
    margin_bottom=1.0 * INCH,
    fold_marks=(),
    punch_mark=None,
)


def geometry_for(paper: Paper) -> PageGeometry:
    """The page geometry of A4 or US Letter."""
    return A4 if paper == "A4" else LETTER
