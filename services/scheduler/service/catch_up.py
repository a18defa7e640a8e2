"""Up to which moment timers may fire: the ledger's events before it are applied.

SPEC §6: a payment the ledger recorded two seconds or more before a
contact's moment prevents the contact. A timer therefore waits until every
consumer of `ledger.events` has applied what the broker held at its moment.
Each consumer reports, per partition it owns, the moment of its last fetch
after which it had applied everything; the slowest partition bounds all.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

STALE_AFTER = timedelta(seconds=30)
"""A partition whose owner has not reported for this long is taken as orphaned.

Three times the consumer's session timeout: a dead owner's partitions have
been handed over, and their new owner has reported, well within it.
"""


@dataclass(frozen=True)
class Watermark:
    """One partition's progress, as its owner last reported it: caught up on
    the timers' clock, reported on the real one behind it."""

    partition: int
    caught_up_at: datetime | None
    reported_at: datetime


@dataclass(frozen=True)
class Horizon:
    """Timers due by `until` may fire; none may while `until` is None."""

    until: datetime | None
    ignored: tuple[int, ...] = ()
    """Partitions whose owner went silent, left out so firing goes on."""
    unreported: bool = False
    """No consumer has reported yet, and the wait for one is over."""
    by_partition: Mapping[int, datetime | None] = field(default_factory=dict)
    """Each live partition's own horizon (None while it is behind): a debtor's
    events are all on its partition, so only that one bounds its timers.
    `until` bounds a collection whose partition is not known."""


def horizon(
    marks: Sequence[Watermark],
    now: datetime,
    since: datetime,
    stale_after: timedelta = STALE_AFTER,
    *,
    alive_now: datetime | None = None,
) -> Horizon:
    """The moment up to which the consumers have applied `ledger.events`.

    - The slowest partition bounds it, and `now` does; each live partition's
      own moment is given too, for the collections known to be on it.
    - A partition never caught up (its owner is still reading its backlog)
      holds every timer: `until` is None.
    - A partition whose owner has been silent for `stale_after` is left
      out. Silence counts from `since` at the earliest, the start of the
      caller: after a restart the consumers get that long to report.
    - With no partition reported at all, nothing fires for `stale_after`
      from `since`; then timers fire as if the consumers were current.

    Silence is measured on the clock `reported_at` and `since` are told on,
    whose present is `alive_now` (by default `now`): the real clock behind a
    virtual one, whose jump forward would otherwise age every report at once
    and let timers fire without waiting for the consumers.
    """
    alive_now = now if alive_now is None else alive_now
    if not marks:
        if alive_now - since <= stale_after:
            return Horizon(None)
        return Horizon(now, unreported=True)

    live = [m for m in marks if alive_now - max(m.reported_at, since) <= stale_after]
    ignored = tuple(sorted(m.partition for m in marks if m not in live))
    own = {
        m.partition: None if m.caught_up_at is None else min(m.caught_up_at, now)
        for m in live
    }
    moments = list(own.values())
    if any(moment is None for moment in moments):
        return Horizon(None, ignored, by_partition=own)
    until = min([now, *(m for m in moments if m is not None)])
    return Horizon(until, ignored, by_partition=own)
