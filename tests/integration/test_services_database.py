"""`overdue up`'s databases: one per service on the stack's PostgreSQL server."""

import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from shared.db.engine import make_engine, normalise_url
from shared.devstack.paths import Paths
from shared.devstack.services import service_database
from tests.support.databases import _drop, server_url

pytestmark = pytest.mark.integration


def test_a_service_database_is_made_once_and_then_found_again(tmp_path: Path) -> None:
    name = f"probe_{uuid.uuid4().hex[:8]}"
    layout = Paths(tmp_path / "var")
    admin = make_engine(server_url())

    try:
        first = service_database(server_url(), name, layout)
        again = service_database(server_url(), name, layout)
        engine = make_engine(first)
        with engine.connect() as connection:
            answer = connection.execute(sa.text("SELECT 1")).scalar()
        engine.dispose()
    finally:
        _drop(admin, f"overdue_{name}")
        admin.dispose()

    assert first == again
    assert normalise_url(first).database == f"overdue_{name}"
    assert answer == 1
