"""The notifier's settings: the shared ones, its HTTP address, database and group."""

from pydantic import AliasChoices, Field
from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class NotifierSettings(ServiceSettings):
    """`OVERDUE_NOTIFIER_*` first, then the shared `OVERDUE_*` (and `DATABASE_URL`)."""

    model_config = SettingsConfigDict(
        env_prefix="OVERDUE_", extra="ignore", populate_by_name=True
    )

    host: str = Field(
        default="127.0.0.1",
        validation_alias=AliasChoices("OVERDUE_NOTIFIER_HOST", "OVERDUE_HOST"),
        description="Address the HTTP API binds.",
    )
    port: int = Field(
        default=8003,
        ge=0,
        le=65535,
        validation_alias=AliasChoices("OVERDUE_NOTIFIER_PORT", "OVERDUE_PORT"),
        description="HTTP API port.",
    )
    database_url: str = Field(
        default="sqlite:///var/notifier.db",
        validation_alias=AliasChoices(
            "OVERDUE_NOTIFIER_DATABASE_URL", "OVERDUE_DATABASE_URL", "DATABASE_URL"
        ),
        description="SQLAlchemy URL of the notifier's own database.",
    )
    consumer_group: str = Field(
        default="overdue-notifier",
        min_length=1,
        validation_alias=AliasChoices("OVERDUE_NOTIFIER_CONSUMER_GROUP"),
        description="Kafka consumer group of every subscriber of the notifier.",
    )
