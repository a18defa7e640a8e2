"""One process, two faces: the FastStream app's consumers and an HTTP API beside them.

The FastAPI app starts and stops the FastStream app in its lifespan, so uvicorn
runs both on one event loop; services add their routers under `/v1` later.
"""

from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager

from fastapi import FastAPI
from fastapi.responses import JSONResponse, PlainTextResponse
from faststream import FastStream

HEALTH_TIMEOUT = 2.0
"""Seconds `/healthz` waits for the broker's answer before calling it down."""


Background = Callable[[FastAPI], AbstractAsyncContextManager[object]]
"""Work that runs beside the consumers for the app's lifetime, e.g. an outbox relay."""


def http_app(
    stream: FastStream,
    *,
    title: str,
    description: str,
    version: str,
    background: Sequence[Background] = (),
) -> FastAPI:
    """A FastAPI app with `/healthz`, `/docs` and `/asyncapi.yaml`, running `stream`."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as running:
            for start in background:
                await running.enter_async_context(start(app))
            await stream.start()
            running.push_async_callback(stream.stop)
            yield

    app = FastAPI(
        title=title, description=description, version=version, lifespan=lifespan
    )

    @app.get("/healthz", summary="200 while the Kafka broker answers, else 503")
    async def healthz() -> JSONResponse:
        broker = stream.broker
        if broker is not None and await broker.ping(timeout=HEALTH_TIMEOUT):
            return JSONResponse({"status": "ok", "kafka": "connected"})
        return JSONResponse({"status": "unavailable", "kafka": "unreachable"}, 503)

    @app.get(
        "/asyncapi.yaml",
        summary="The service's AsyncAPI document: what it consumes and produces",
        response_class=PlainTextResponse,
    )
    async def asyncapi() -> PlainTextResponse:
        return PlainTextResponse(
            stream.schema.to_specification().to_yaml(), media_type="application/yaml"
        )

    return app
