"""The scheduler's process: consumers, timer loop, outbox relay and the `/v1` API."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from services.scheduler.adapters.tables import OutboxMessage
from services.scheduler.app import DESCRIPTION, create_app
from services.scheduler.catch_up import LedgerProgress, progress_reported
from services.scheduler.http.routes import scheduler_router
from services.scheduler.service import Scheduler
from services.scheduler.service.errors import SchedulerError
from services.scheduler.settings import SchedulerSettings
from services.scheduler.timers import timers_running
from shared.clock import Clock, clock_from_settings
from shared.db.engine import make_engine
from shared.http.auth import require_keys
from shared.http.errors import install_error_handlers
from shared.http.idempotency import KeyReusedForAnotherRequest
from shared.messaging.broker import project_version
from shared.messaging.http import http_app
from shared.outbox import relay_on_commit

TITLE = "overdue scheduler"


def create_http(settings: SchedulerSettings, *, clock: Clock | None = None) -> FastAPI:
    """Everything `overdue scheduler serve` runs, on the database `settings` name."""
    clock = clock or clock_from_settings(settings)
    engine = make_engine(settings.database_url)
    # Timers wait for the consumers of ledger.events to catch up (SPEC §6).
    scheduler = Scheduler(engine, clock, wait_for_ledger=True)
    progress = LedgerProgress(clock)

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

    @asynccontextmanager
    async def caught_up(_: FastAPI) -> AsyncIterator[None]:
        async with progress_reported(progress, scheduler.report_caught_up):
            yield

    app = http_app(
        create_app(settings, scheduler=scheduler, progress=progress),
        title=TITLE,
        description=DESCRIPTION,
        version=project_version(),
        background=[relay, timers, caught_up],
    )
    install_api(app, scheduler)
    return app


def api_app(scheduler: Scheduler) -> FastAPI:
    """The `/v1` API alone, without consumers, timers or relay: for tests and tools."""
    app = FastAPI(title=TITLE, description=DESCRIPTION, version=project_version())
    install_api(app, scheduler)
    return app


def install_api(app: FastAPI, scheduler: Scheduler) -> None:
    """Mount the collector's `/v1` routes on `app`, keys required, errors as bodies."""
    install_error_handlers(app, SchedulerError, KeyReusedForAnotherRequest)
    require_keys(app, scheduler.authenticate, prefix="/v1/")
    app.include_router(scheduler_router(scheduler))
