"""Engines for SQLite (the default) and PostgreSQL (production)."""

from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url


def normalise_url(url: str) -> URL:
    """Accept `postgres://` and `postgresql://` URLs; drive them with psycopg 3."""
    parsed = make_url(url.replace("postgres://", "postgresql://", 1))
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def make_engine(url: str) -> Engine:
    """An engine with the settings this workload needs on either backend."""
    parsed = normalise_url(url)

    if parsed.get_backend_name() != "sqlite":
        # psycopg prepares a statement on its fifth run, and PostgreSQL may then
        # keep a generic plan made while a table was small: a lookup by key
        # became a scan of the whole table for the rest of the connection.
        # Unprepared, every statement is planned with its own parameters.
        return create_engine(
            parsed, pool_pre_ping=True, connect_args={"prepare_threshold": None}
        )

    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(parsed, connect_args={"check_same_thread": False})
    event.listen(engine, "connect", _tune_sqlite)
    return engine


def _tune_sqlite(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    # WAL lets the API read while a consumer writes; foreign keys are off by
    # default in SQLite and the models rely on them.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()
