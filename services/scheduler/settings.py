"""The scheduler's settings: the shared ones, its HTTP address, database and group."""

from pydantic import AliasChoices, Field
from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class SchedulerSettings(ServiceSettings):
    """`OVERDUE_SCHEDULER_*` first, then the shared `OVERDUE_*` (and `DATABASE_URL`)."""

    model_config = SettingsConfigDict(
        env_prefix="OVERDUE_", extra="ignore", populate_by_name=True
    )

    host: str = Field(
        default="127.0.0.1",
        validation_alias=AliasChoices("OVERDUE_SCHEDULER_HOST", "OVERDUE_HOST"),
        description="Address the HTTP API binds.",
    )
    port: int = Field(
        default=8002,
        ge=0,
        le=65535,
        validation_alias=AliasChoices("OVERDUE_SCHEDULER_PORT", "OVERDUE_PORT"),
        description="HTTP API port.",
    )
    database_url: str = Field(
        default="sqlite:///var/scheduler.db",
        validation_alias=AliasChoices(
            "OVERDUE_SCHEDULER_DATABASE_URL", "OVERDUE_DATABASE_URL", "DATABASE_URL"
        ),
        description="SQLAlchemy URL of the scheduler's own database.",
    )
    consumer_group: str = Field(
        default="overdue-scheduler",
        min_length=1,
        validation_alias=AliasChoices("OVERDUE_SCHEDULER_CONSUMER_GROUP"),
        description="Kafka consumer group of every subscriber of the scheduler.",
    )
