"""The ledger's outbox relay in a child process of the serving one.

In a child process the relay has a core of its own: recording and publishing
no longer share one interpreter lock. A commit in the parent cannot wake it,
so it polls often instead. (In the serving process it is `relay_on_commit`.)
"""

import asyncio
import contextlib
import logging
import os
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import Engine

from services.ledger.adapters.tables import OutboxMessage
from services.ledger.settings import LedgerSettings
from shared.outbox import start_relay

# How often a relay in its own process looks for new rows when it found none.
CHILD_POLL_INTERVAL = 0.02
# How long a stopping relay may take to finish its batch before it is killed.
STOP_TIMEOUT = 10.0
# How long to wait before starting a relay process again after it died.
RESTART_DELAY = 1.0
# How often a relay process checks that the process serving beside it lives.
PARENT_CHECK_INTERVAL = 1.0
# How long the serving process waits for its relay to be ready before it
# serves anyway (the outbox keeps what the relay has not published yet).
READY_TIMEOUT = 120.0

logger = logging.getLogger(__name__)


async def relay_until_stopped(
    engine: Engine,
    bootstrap_servers: str,
    *,
    poll_interval: float,
    parent: int | None = None,
    ready_fd: int | None = None,
) -> None:
    """Run the relay until SIGTERM or SIGINT, or until process `parent` is gone:
    the body of `overdue ledger relay`. Once its producer is connected it
    writes a line to `ready_fd`, if given, and closes it."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)

    async with start_relay(
        engine,
        OutboxMessage,
        bootstrap_servers=bootstrap_servers,
        poll_interval=poll_interval,
    ):
        if ready_fd is not None:
            os.write(ready_fd, b"ready\n")  # a pipe: never blocks for one line
            os.close(ready_fd)
        while not stop.is_set():
            # A parent killed outright cannot stop its relay: it is adopted.
            if parent is not None and os.getppid() != parent:
                logger.warning("serving process gone, outbox relay stopping")
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), PARENT_CHECK_INTERVAL)


@asynccontextmanager
async def relay_in_child(settings: LedgerSettings) -> AsyncIterator[None]:
    """Run `overdue ledger relay` beside this process, and stop it on the way out.

    Entering waits until the child says it publishes (its start-up takes
    seconds of CPU, better spent before this process reports itself healthy
    than while it records). The database URL goes to the child in its
    environment, not on its command line, where any user of the host could
    read it. A child that dies is started again; the outbox keeps what it had
    not published.
    """
    environment = {
        **os.environ,
        "OVERDUE_LEDGER_DATABASE_URL": settings.database_url,
        "OVERDUE_KAFKA_BOOTSTRAP_SERVERS": settings.kafka_bootstrap_servers,
    }
    argv = [sys.executable, "-m", "shared.cli", "ledger", "relay"]
    argv += ["--poll-interval", str(CHILD_POLL_INTERVAL), "--parent", str(os.getpid())]
    stopping = asyncio.Event()
    started = asyncio.Event()
    child: asyncio.subprocess.Process | None = None

    async def supervise() -> None:
        nonlocal child
        while not stopping.is_set():
            child, ready = await _start_child(argv, environment)
            logger.info("outbox relay process started", extra={"pid": child.pid})
            await _until_ready(ready, child.pid)
            started.set()
            code = await child.wait()
            if stopping.is_set():
                return
            logger.error(
                "outbox relay process ended, starting it again",
                extra={"pid": child.pid, "exit_code": code},
            )
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(stopping.wait(), RESTART_DELAY)

    supervisor = asyncio.create_task(supervise(), name="ledger-relay-process")
    await started.wait()
    try:
        yield
    finally:
        stopping.set()
        if child is not None and child.returncode is None:
            child.terminate()
            try:
                await asyncio.wait_for(child.wait(), STOP_TIMEOUT)
            except TimeoutError:
                logger.error("outbox relay process did not stop, killed")
                child.kill()
                await child.wait()
        await supervisor


async def _start_child(
    argv: list[str], environment: dict[str, str]
) -> tuple[asyncio.subprocess.Process, int]:
    """Start the relay process; return it and the end of the pipe it reports on."""
    read_end, write_end = os.pipe()
    try:
        child = await asyncio.create_subprocess_exec(
            *argv,
            "--ready-fd",
            str(write_end),
            env=environment,
            pass_fds=(write_end,),
        )
    except BaseException:
        os.close(read_end)
        raise
    finally:
        os.close(write_end)
    return child, read_end


async def _until_ready(read_end: int, pid: int) -> None:
    """Wait for the child's line on `read_end` (or its end), then close it."""

    def read_line() -> bytes:
        with open(read_end, "rb") as pipe:
            return pipe.readline()

    try:
        line = await asyncio.wait_for(asyncio.to_thread(read_line), READY_TIMEOUT)
    except TimeoutError:
        logger.warning("outbox relay process slow to start", extra={"pid": pid})
        return
    if line:
        logger.info("outbox relay process ready", extra={"pid": pid})
