"""The HTTP face of a service: health, OpenAPI docs, its AsyncAPI document."""

import httpx
from faststream.kafka import TestKafkaBroker

from services.ledger.app import create_app
from services.ledger.settings import LedgerSettings
from shared.messaging.http import http_app


def _client(stream) -> httpx.AsyncClient:
    web = http_app(stream, title="overdue ledger", description="d", version="0.1.0")
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=web), base_url="http://t"
    )


async def test_health_is_503_while_the_broker_is_not_connected():
    stream = create_app(LedgerSettings())

    async with _client(stream) as client:
        response = await client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["kafka"] == "unreachable"


async def test_health_is_200_once_the_broker_is_connected():
    stream = create_app(LedgerSettings())

    async with TestKafkaBroker(stream.broker), _client(stream) as client:
        response = await client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "kafka": "connected"}


async def test_the_api_serves_openapi_docs_and_the_asyncapi_document():
    stream = create_app(LedgerSettings())

    async with _client(stream) as client:
        docs = await client.get("/docs")
        asyncapi = await client.get("/asyncapi.yaml")

    assert docs.status_code == 200
    assert "title: overdue ledger" in asyncapi.text
    assert "ledger.inbound" in asyncapi.text
