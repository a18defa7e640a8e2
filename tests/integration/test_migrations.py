"""Each service's migrations build its database on SQLite and PostgreSQL."""

import importlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import inspect

from shared.db.engine import make_engine
from shared.db.migrations import current_revision, head_revision, schema_drift, upgrade
from tests.support.databases import fresh_postgres_database, sqlite_url

SERVICES = ["ledger", "scheduler", "notifier"]

pytestmark = pytest.mark.integration


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield sqlite_url(tmp_path)
        return
    with fresh_postgres_database() as url:
        yield url


@pytest.mark.parametrize("service", SERVICES)
def test_migrating_an_empty_database_reaches_head_with_the_models_tables(
    service: str, database_url: str
) -> None:
    upgrade(service, database_url)

    assert current_revision(service, database_url) == head_revision(service)
    tables = set(inspect(make_engine(database_url)).get_table_names())
    assert "processed_messages" in tables


@pytest.mark.parametrize("service", SERVICES)
def test_migrations_and_models_describe_the_same_schema(
    service: str, database_url: str
) -> None:
    metadata = importlib.import_module(f"services.{service}.adapters.tables").metadata

    upgrade(service, database_url)

    assert schema_drift(database_url, metadata) == [], (
        f"the {service} models differ from its migrations: add a revision"
    )


@pytest.mark.parametrize("service", SERVICES)
def test_migrating_twice_is_harmless(service: str, database_url: str) -> None:
    upgrade(service, database_url)

    upgrade(service, database_url)

    assert current_revision(service, database_url) == head_revision(service)
