"""Configuration read from the environment, one `BaseSettings` per service.

Every variable is prefixed `OVERDUE_`; two well-known names are honoured as
well, because users already have them set: `KAFKA_BOOTSTRAP_SERVERS` (use that
cluster, start none) and `DATABASE_URL` (use that database).
"""

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class CommonSettings(BaseSettings):
    """What every service and command needs: where Kafka is, how to log."""

    model_config = SettingsConfigDict(env_prefix="OVERDUE_", extra="ignore")

    kafka_bootstrap_servers: str = Field(
        default="127.0.0.1:9092",
        validation_alias=AliasChoices(
            "OVERDUE_KAFKA_BOOTSTRAP_SERVERS", "KAFKA_BOOTSTRAP_SERVERS"
        ),
        description="Kafka brokers, comma-separated host:port.",
    )
    topic_partitions: int = Field(
        default=6, ge=1, description="Partitions of every topic the project creates."
    )
    log_level: str = Field(default="INFO", description="Python logging level name.")
    log_format: str = Field(
        default="json", pattern="^(json|text)$", description="`json` or `text`."
    )


class ServiceSettings(CommonSettings):
    """A service's own database and HTTP address; subclassed per service."""

    database_url: str = Field(
        default="sqlite:///var/overdue.db",
        validation_alias=AliasChoices("OVERDUE_DATABASE_URL", "DATABASE_URL"),
        description="SQLAlchemy URL of the service's own database.",
    )
    host: str = Field(default="127.0.0.1", description="Address the HTTP API binds.")
    port: int = Field(default=8000, ge=0, le=65535, description="HTTP API port.")
