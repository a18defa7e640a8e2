"""The body of every service's `migrations/env.py`."""

from alembic import context
from sqlalchemy import MetaData

from shared.db.engine import make_engine


def run_migrations(target_metadata: MetaData) -> None:
    """Run online against the configured URL, or emit SQL in offline mode."""
    url = context.config.get_main_option("sqlalchemy.url")
    assert url, "sqlalchemy.url must be set by shared.db.migrations.alembic_config"

    if context.is_offline_mode():
        context.configure(url=url, target_metadata=target_metadata, literal_binds=True)
        with context.begin_transaction():
            context.run_migrations()
        return

    engine = make_engine(url)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            compare_type=True,
            render_as_batch=connection.dialect.name == "sqlite",
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()
