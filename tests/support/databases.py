"""Throwaway databases for tests: SQLite files, fresh PostgreSQL databases."""

import hashlib
import os
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError

from shared.db.engine import make_engine, normalise_url
from shared.db.migrations import head_revision, upgrade


def server_url() -> str:
    """The PostgreSQL `overdue infra up` started, or the one `DATABASE_URL` names."""
    if url := os.environ.get("DATABASE_URL"):
        return url
    from shared.devstack.state import endpoints

    return endpoints().database_url


DROP_ATTEMPTS = 20
_SERVICES = Path(__file__).resolve().parents[2] / "services"


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
        _drop(admin, name)
        admin.dispose()


def _drop(admin: Engine, name: str) -> None:
    """Drop a test database, waiting out an autovacuum worker still inside it.

    `WITH (FORCE)` ends the tests' own sessions, but not a worker of the
    server's, which the test role may not terminate; it leaves within moments.
    """
    for attempt in range(DROP_ATTEMPTS):
        try:
            with admin.connect().execution_options(
                isolation_level="AUTOCOMMIT"
            ) as connection:
                connection.execute(
                    text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                )
            return
        except DBAPIError:
            if attempt == DROP_ATTEMPTS - 1:
                raise
            time.sleep(0.5)


def _migrated_template(connection: Connection, service: str) -> str:
    """A database at `service`'s head revision, made the first time it is asked for.

    Named after the head and a digest of the migrations, so a migration edited
    in place, or chained anew after a merge, gets a template of its own.
    """
    digest = hashlib.sha256()
    for script in sorted(_SERVICES.joinpath(service).glob("migrations/versions/*.py")):
        digest.update(script.read_bytes())
    name = f"template_{service}_{head_revision(service)}_{digest.hexdigest()[:10]}"
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
