"""The loop that fires due timers: each collection whose next moment has come.

The timers themselves live in the database (a collection's `next_moment`), so
a restart loses none; this loop only asks, again and again, for those due.
"""

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime

from shared.clock import Clock

# How often the loop looks for due timers when the last look found few. SPEC §6
# counts a payment two seconds before a contact's moment: a contact fires at
# most this late, and the payment's own consumer is no slower.
TICK = 0.5
# How long to wait after a failed look before the next one.
RETRY_AFTER = 2.0

logger = logging.getLogger(__name__)

FireDue = Callable[[datetime], int]
"""Fire every timer due at the moment given; return how many fired."""


async def fire_timers(
    fire_due: FireDue, clock: Clock, stop: asyncio.Event, *, tick: float = TICK
) -> None:
    """Fire due timers until `stop`; at once again while a look finds a full batch."""
    while not stop.is_set():
        try:
            fired = await asyncio.to_thread(fire_due, clock.now())
        except Exception:
            logger.exception("firing due timers failed, retry scheduled")
            await _pause(stop, RETRY_AFTER)
            continue
        if fired:
            logger.info("timers fired", extra={"count": fired})
        else:
            await _pause(stop, tick)


@asynccontextmanager
async def timers_running(
    fire_due: FireDue, clock: Clock, *, tick: float = TICK
) -> AsyncIterator[None]:
    """Run `fire_timers` in the background while the block runs."""
    stop = asyncio.Event()
    task = asyncio.create_task(
        fire_timers(fire_due, clock, stop, tick=tick), name="scheduler-timers"
    )
    try:
        yield
    finally:
        stop.set()
        await task


async def _pause(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
