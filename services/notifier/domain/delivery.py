"""Which channels a contact goes by, and when it is moot (SPEC §5, §6).

The scheduler chose the channels from what it knew; the notifier checks
them against the debtor's details on the send date, which may have changed.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from shared.events.contacts import SendContact

Channel = Literal["email", "letter"]

SETTLES_DEMANDS = ("pre_due",)
"""Besides demands, the contacts a paid invoice makes moot."""


@dataclass(frozen=True, slots=True)
class Reach:
    """How the debtor can be reached today."""

    email: bool
    """An address, not opted out."""
    postal: bool


@dataclass(frozen=True, slots=True)
class Standing:
    """An invoice as the notifier's projection of the ledger has it."""

    balance: Decimal
    written_off: bool = False

    @property
    def settled(self) -> bool:
        return self.written_off or self.balance <= 0


def channels_for(wanted: Sequence[Channel], reach: Reach) -> list[Channel]:
    """The channels to use: email falls back to a letter, and one letter goes at most.

    A letter stays in the list without a postal address: it then fails with
    `no_address`, which flags the case for a collector.
    """
    chosen: list[Channel] = []
    for channel in wanted:
        if channel == "email" and not reach.email:
            channel = "letter"
        if channel not in chosen:
            chosen.append(channel)
    return chosen


def fallback_after_bounce(wanted: Sequence[Channel]) -> Channel | None:
    """A refused or bounced email is followed by a letter, unless one goes anyway."""
    return None if "letter" in wanted else "letter"


def is_moot(contact: SendContact, standing: Mapping[str, Standing]) -> bool:
    """A demand or pre-due reminder whose every invoice is settled is not sent.

    An invoice the projection does not know counts as unsettled: the
    notifier would rather send a demand the scheduler decided than drop it.
    Confirmations, acknowledgements, installment reminders and thanks carry
    no demand of their own, and go out.
    """
    if not (contact.is_demand or contact.template in SETTLES_DEMANDS):
        return False
    if not contact.invoices:
        return False
    return all(
        (found := standing.get(invoice.number)) is not None and found.settled
        for invoice in contact.invoices
    )
