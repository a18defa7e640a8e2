"""The ledger's process: inbound consumer, outbox relay and the `/v1` API, together."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from services.ledger.adapters.tables import IdempotencyKeyRow, OutboxMessage
from services.ledger.app import DESCRIPTION, create_app
from services.ledger.domain.errors import LedgerError
from services.ledger.http.routes import ledger_router
from services.ledger.relay import relay_in_child
from services.ledger.service import Ledger
from services.ledger.settings import LedgerSettings
from shared.clock import Clock, clock_from_settings
from shared.db.engine import make_engine
from shared.http.auth import require_keys
from shared.http.errors import install_error_handlers
from shared.http.idempotency import IdempotencyStore, KeyReusedForAnotherRequest
from shared.messaging.broker import project_version
from shared.messaging.http import http_app
from shared.outbox import relay_on_commit
from shared.policy import PolicyError

TITLE = "overdue ledger"


def create_http(settings: LedgerSettings, *, clock: Clock | None = None) -> FastAPI:
    """Everything `overdue ledger serve` runs, on the database `settings` name."""
    clock = clock or clock_from_settings(settings)
    engine = make_engine(settings.database_url)
    ledger = Ledger(engine, clock)

    @asynccontextmanager
    async def relay(_: FastAPI) -> AsyncIterator[None]:
        if settings.relay == "process":
            async with relay_in_child(settings):
                yield
        else:
            async with relay_on_commit(
                engine,
                OutboxMessage,
                bootstrap_servers=settings.kafka_bootstrap_servers,
            ):
                yield

    app = http_app(
        create_app(settings, ledger=ledger),
        title=TITLE,
        description=DESCRIPTION,
        version=project_version(),
        background=[relay],
    )
    install_api(app, ledger)
    return app


def api_app(ledger: Ledger) -> FastAPI:
    """The `/v1` API alone, without consumer or relay: for tests and tools."""
    app = FastAPI(title=TITLE, description=DESCRIPTION, version=project_version())
    install_api(app, ledger)
    return app


def install_api(app: FastAPI, ledger: Ledger) -> None:
    """Mount the `/v1` routes on `app`, with the error bodies they answer with."""
    install_error_handlers(app, LedgerError, KeyReusedForAnotherRequest)
    require_keys(app, ledger.authenticate, prefix="/v1/")
    app.add_exception_handler(PolicyError, _policy_refused)
    app.include_router(
        ledger_router(
            ledger, IdempotencyStore(ledger.engine, IdempotencyKeyRow), ledger.clock
        )
    )


async def _policy_refused(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, PolicyError)
    problems = [{"field": p.path, "message": p.message} for p in exc.problems]
    first = problems[0] if problems else {"field": None, "message": str(exc)}
    return JSONResponse({"error": {**first, "problems": problems}}, status_code=422)
