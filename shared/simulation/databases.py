"""The services' databases for one run: SQLite files, or PostgreSQL databases.

SQLite is the default, as for the services themselves. On PostgreSQL, as in
production, a run creates a database of its own per service on the server
given, migrates it, and drops it at the end.
"""

import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from shared.db.engine import make_engine, normalise_url
from shared.db.migrations import upgrade

logger = logging.getLogger(__name__)

SERVICES = ("ledger", "scheduler", "notifier")


@contextmanager
def run_databases(
    workdir: Path, server: str | None = None
) -> Iterator[dict[str, Engine]]:
    """Each service's engine on a fresh, migrated database: a SQLite file in
    `workdir`, or with `server` (a PostgreSQL URL) a database there, dropped
    when the block ends."""
    if server is None:
        engines = {}
        for service in SERVICES:
            url = f"sqlite:///{workdir / service}.db"
            upgrade(service, url)
            engines[service] = make_engine(url)
        try:
            yield engines
        finally:
            for engine in engines.values():
                engine.dispose()
        return

    admin_url = normalise_url(server)
    admin = make_engine(admin_url.render_as_string(hide_password=False))
    run = uuid.uuid4().hex[:12]
    names = {service: f"sim_{run}_{service}" for service in SERVICES}
    engines = {}
    try:
        for service, name in names.items():
            _execute(admin, f'CREATE DATABASE "{name}"')
            url = admin_url.set(database=name).render_as_string(hide_password=False)
            upgrade(service, url)
            engines[service] = make_engine(url)
        yield engines
    finally:
        for engine in engines.values():
            engine.dispose()
        for name in names.values():
            try:
                _execute(admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            except DBAPIError:
                logger.warning("simulation database not dropped", extra={"run": run})
        admin.dispose()


def _execute(admin: Engine, statement: str) -> None:
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text(statement))
