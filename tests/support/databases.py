"""Throwaway databases for tests: SQLite files, fresh PostgreSQL databases."""

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Connection, text

from shared.db.engine import make_engine, normalise_url
from shared.db.migrations import head_revision, upgrade


def server_url() -> str:
    """The PostgreSQL `overdue infra up` started, or the one `DATABASE_URL` names."""
    if url := os.environ.get("DATABASE_URL"):
        return url
    from shared.devstack.state import endpoints

    return endpoints().database_url


@contextmanager
def fresh_postgres_database(migrated_for: str | None = None) -> Iterator[str]:
    """Create a database, yield its URL, and drop it afterwards.

    With `migrated_for="ledger"` it starts at that service's newest schema,
    copied from a template migrated once, which is far quicker than
    migrating every test's database.
    """
    admin_url = normalise_url(server_url())
    name = f"test_{uuid.uuid4().hex[:12]}"
    admin = make_engine(admin_url.render_as_string(hide_password=False))
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        template = ""
        if migrated_for is not None:
            template = f' TEMPLATE "{_migrated_template(connection, migrated_for)}"'
        connection.execute(text(f'CREATE DATABASE "{name}"{template}'))
    try:
        yield admin_url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect().execution_options(
            isolation_level="AUTOCOMMIT"
        ) as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _migrated_template(connection: Connection, service: str) -> str:
    """A database at `service`'s head revision, made the first time it is asked for."""
    name = f"template_{service}_{head_revision(service)}"
    exists = connection.execute(
        text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
    ).first()
    if exists is None:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
        url = connection.engine.url.set(database=name)
        upgrade(service, url.render_as_string(hide_password=False))
    return name


def sqlite_url(folder: Path) -> str:
    return f"sqlite:///{folder / 'service.db'}"
