"""The ledger's settings: the shared ones, its own HTTP address, database and group."""

from pydantic import AliasChoices, Field
from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class LedgerSettings(ServiceSettings):
    """`OVERDUE_LEDGER_*` first, then the shared `OVERDUE_*` (and `DATABASE_URL`)."""

    model_config = SettingsConfigDict(
        env_prefix="OVERDUE_", extra="ignore", populate_by_name=True
    )

    host: str = Field(
        default="127.0.0.1",
        validation_alias=AliasChoices("OVERDUE_LEDGER_HOST", "OVERDUE_HOST"),
        description="Address the HTTP API binds.",
    )
    port: int = Field(
        default=8001,
        ge=0,
        le=65535,
        validation_alias=AliasChoices("OVERDUE_LEDGER_PORT", "OVERDUE_PORT"),
        description="HTTP API port.",
    )
    database_url: str = Field(
        default="sqlite:///var/ledger.db",
        validation_alias=AliasChoices(
            "OVERDUE_LEDGER_DATABASE_URL", "OVERDUE_DATABASE_URL", "DATABASE_URL"
        ),
        description="SQLAlchemy URL of the ledger's own database.",
    )
    consumer_group: str = Field(
        default="overdue-ledger",
        min_length=1,
        validation_alias=AliasChoices("OVERDUE_LEDGER_CONSUMER_GROUP"),
        description="Kafka consumer group of every subscriber of the ledger.",
    )
