"""Work the notifier repeats while it runs: contacts due a try, days to bind.

The work itself lives in the database (a contact's `next_attempt_at`, the
letters of a finished day), so a restart loses none; these loops only ask for
it again and again.
"""

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

logger = logging.getLogger(__name__)

RETRY_TICK = 1.0
"""Seconds between looks for contacts whose next try has come."""

AFTER_FAILURE = 5.0


async def repeat(
    work: Callable[[], Awaitable[int]], every: float, stop: asyncio.Event, name: str
) -> None:
    """Run `work` until `stop`; at once again while it found something to do."""
    while not stop.is_set():
        try:
            done = await work()
        except Exception:
            logger.exception("%s failed, retry scheduled", name)
            done, wait = 0, AFTER_FAILURE
        else:
            wait = every
        if done:
            logger.info("%s done", name, extra={"count": done})
            continue
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), wait)


@asynccontextmanager
async def repeating(
    work: Callable[[], Awaitable[int]], every: float, name: str
) -> AsyncIterator[None]:
    """`repeat` in the background while the block runs."""
    stop = asyncio.Event()
    task = asyncio.create_task(repeat(work, every, stop, name), name=name)
    try:
        yield
    finally:
        stop.set()
        await task
