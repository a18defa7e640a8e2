"""A fresh PostgreSQL database at the notifier's newest schema, per test."""

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from shared.db.engine import make_engine
from tests.support.databases import fresh_postgres_database


@pytest.fixture
def database_url() -> Iterator[str]:
    with fresh_postgres_database(migrated_for="notifier") as url:
        yield url


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()
