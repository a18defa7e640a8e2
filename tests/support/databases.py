"""Throwaway databases for tests: SQLite files, fresh PostgreSQL databases."""

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import text

from shared.db.engine import make_engine, normalise_url


def server_url() -> str:
    """The PostgreSQL `overdue infra up` started, or the one `DATABASE_URL` names."""
    if url := os.environ.get("DATABASE_URL"):
        return url
    from shared.devstack.state import endpoints

    return endpoints().database_url


@contextmanager
def fresh_postgres_database() -> Iterator[str]:
    """Create an empty database, yield its URL, and drop it afterwards."""
    admin_url = normalise_url(server_url())
    name = f"test_{uuid.uuid4().hex[:12]}"
    admin = make_engine(admin_url.render_as_string(hide_password=False))
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin_url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect().execution_options(
            isolation_level="AUTOCOMMIT"
        ) as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def sqlite_url(folder: Path) -> str:
    return f"sqlite:///{folder / 'service.db'}"
