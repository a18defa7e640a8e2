"""A collection's state as JSON and back: the same state, whatever its history."""

import contextlib
import json
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Literal

from hypothesis import given, settings
from hypothesis import strategies as st

from services.scheduler.adapters import documents
from services.scheduler.domain.calendar import DebtorCalendar
from services.scheduler.domain.collection import (
    Collection,
    NoOpenCase,
    Reachability,
)
from tests.support.scheduler import at
from tests.unit.scheduler.test_collection import STANDARD

NOT_STATE = ("policy", "calendar")


class Colour(StrEnum):
    RED = "red"


@dataclass(frozen=True, slots=True)
class Leaf:
    on: date
    amount: Decimal


@dataclass
class Everything:
    """A field of every kind the domain uses, and a few it may come to use."""

    text: str
    count: int
    flag: bool
    moment: datetime
    colour: Colour
    kind: Literal["a", "b"]
    leaf: Leaf | None
    leaves: tuple[Leaf, ...]
    pair: tuple[str, int]
    seen: set[str]
    by_day: dict[date, Leaf]
    either: Leaf | Colour
    later: list[str] = field(default_factory=list)


def test_every_kind_of_field_comes_back_as_it_went() -> None:
    leaf = Leaf(date(2026, 1, 5), Decimal("12.50"))
    original = Everything(
        text="x",
        count=3,
        flag=True,
        moment=at("2026-01-05"),
        colour=Colour.RED,
        kind="b",
        leaf=None,
        leaves=(leaf, leaf),
        pair=("p", 2),
        seen={"b", "a"},
        by_day={date(2026, 1, 6): leaf},
        either=leaf,
        later=["y"],
    )

    document = json.loads(json.dumps(documents.dump(original)))

    assert documents.load(Everything, document) == original


def test_a_field_missing_from_an_older_document_takes_its_default() -> None:
    original = Everything(
        "x",
        1,
        False,
        at("2026-01-05"),
        Colour.RED,
        "a",
        None,
        (),
        ("p", 1),
        set(),
        {},
        Colour.RED,
    )
    document = documents.dump(original)
    del document["later"]

    assert documents.load(Everything, document).later == []


Step = tuple[str, int, int]
"""(what, day offset, amount index): one event of a debtor's history."""

steps = st.lists(
    st.tuples(
        st.sampled_from(["issue", "pay", "write_off", "dispute", "reject", "promise"]),
        st.integers(0, 90),
        st.integers(0, 3),
    ),
    max_size=12,
)


def drive(history: list[Step]) -> Collection:
    calendar = DebtorCalendar.for_policy(
        STANDARD, timezone="Europe/Berlin", country="DE"
    )
    collection = Collection("acme", "d1", STANDARD, calendar, reach=Reachability(True))
    start = at("2026-01-05")
    moment = start
    issued: list[str] = []
    for what, offset, n in sorted(history, key=lambda s: s[1]):
        moment = max(moment, start + timedelta(days=offset))
        collection.advance(moment)
        number = f"INV-{n}"
        if what == "issue" and number not in issued:
            issued.append(number)
            collection.invoice_issued(
                number=number,
                currency="EUR",
                amount=Decimal("100.00") * (n + 1),
                balance=Decimal("100.00") * (n + 1),
                issued_on=moment.date(),
                due_on=moment.date() + timedelta(days=14),
                at=moment,
            )
        elif what == "pay" and number in issued:
            collection.balance_changed(
                {number: Decimal(0)},
                at=moment,
                by="payment",
                paid=("EUR", Decimal("100.00")),
            )
        elif what == "write_off" and number in issued:
            collection.invoice_written_off(number, at=moment)
        elif what == "dispute" and number in issued:
            collection.dispute_opened(number, at=moment, reason="Wrong amount")
        elif what == "reject" and number in issued:
            collection.dispute_resolved(number, "rejected", at=moment)
        elif what == "promise":
            with contextlib.suppress(NoOpenCase):
                collection.promise_recorded(
                    Decimal("50.00"), moment.date() + timedelta(days=7), at=moment
                )
    collection.advance(moment + timedelta(days=3))
    return collection


@settings(max_examples=60, deadline=None)
@given(steps)
def test_a_collection_after_any_history_comes_back_the_same(
    history: list[Step],
) -> None:
    collection = drive(history)

    document = json.loads(json.dumps(documents.dump(collection, exclude=NOT_STATE)))
    loaded = documents.load(
        Collection, document, policy=collection.policy, calendar=collection.calendar
    )

    assert loaded == collection
    now = at("2026-06-01")
    assert loaded.next_moment(now) == collection.next_moment(now)
    assert loaded.advance(now) == collection.advance(now)
