"""Alembic, driven from code: each service keeps its own migrations and database."""

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import MetaData

from shared.db.engine import make_engine, normalise_url

SERVICES_DIR = Path(__file__).resolve().parents[2] / "services"


def alembic_config(service: str, database_url: str) -> Config:
    """The Alembic configuration of one service (`ledger`, `scheduler`, `notifier`)."""
    config = Config()
    config.set_main_option(
        "script_location", str(SERVICES_DIR / service / "migrations")
    )
    url = normalise_url(database_url).render_as_string(hide_password=False)
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(service: str, database_url: str, revision: str = "head") -> None:
    """Bring the service's database to `revision`; a no-op when it is there already."""
    command.upgrade(alembic_config(service, database_url), revision)


def current_revision(service: str, database_url: str) -> str | None:
    with make_engine(database_url).connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision(service: str) -> str | None:
    script = ScriptDirectory.from_config(alembic_config(service, "sqlite://"))
    return script.get_current_head()


def schema_drift(database_url: str, metadata: MetaData) -> list[object]:
    """Differences between a migrated database and the models; empty when they agree."""
    from alembic.autogenerate import compare_metadata

    with make_engine(database_url).connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, metadata))
