"""The scheduler's process: consumers, timer loop, outbox relay and the `/v1` API."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from services.scheduler.adapters.tables import OutboxMessage
from services.scheduler.app import DESCRIPTION, create_app
from services.scheduler.service import Scheduler
from services.scheduler.settings import SchedulerSettings
from services.scheduler.timers import timers_running
from shared.clock import Clock, SystemClock
from shared.db.engine import make_engine
from shared.messaging.broker import project_version
from shared.messaging.http import http_app
from shared.outbox import relay_on_commit

TITLE = "overdue scheduler"


def create_http(settings: SchedulerSettings, *, clock: Clock | None = None) -> FastAPI:
    """Everything `overdue scheduler serve` runs, on the database `settings` name."""
    clock = clock or SystemClock()
    engine = make_engine(settings.database_url)
    scheduler = Scheduler(engine, clock)

    @asynccontextmanager
    async def relay(_: FastAPI) -> AsyncIterator[None]:
        async with relay_on_commit(
            engine, OutboxMessage, bootstrap_servers=settings.kafka_bootstrap_servers
        ):
            yield

    @asynccontextmanager
    async def timers(_: FastAPI) -> AsyncIterator[None]:
        async with timers_running(scheduler.fire_due, clock):
            yield

    return http_app(
        create_app(settings, scheduler=scheduler),
        title=TITLE,
        description=DESCRIPTION,
        version=project_version(),
        background=[relay, timers],
    )
