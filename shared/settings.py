"""Configuration read from the environment, one `BaseSettings` per service.

Every variable is prefixed `OVERDUE_`; two well-known names are honoured as
well, because users already have them set: `KAFKA_BOOTSTRAP_SERVERS` (use that
cluster, start none) and `DATABASE_URL` (use that database). A service also
reads `OVERDUE_<SERVICE>_HOST`, `_PORT`, `_DATABASE_URL` and `_CONSUMER_GROUP`
before the shared names, so three services can share one environment.
"""

import os
from typing import Any, ClassVar, Self

from pydantic import AliasChoices, Field, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)


class CommonSettings(BaseSettings):
    """What every service and command needs: where Kafka is, how to log."""

    model_config = SettingsConfigDict(
        env_prefix="OVERDUE_", extra="ignore", populate_by_name=True
    )

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
    clock: str = Field(
        default="system",
        description="`system`, or the path of a clock file: the virtual clock that "
        "`overdue clock` moves and the processes of `overdue up` share.",
    )
    log_level: str = Field(default="INFO", description="Python logging level name.")
    log_format: str = Field(
        default="json", pattern="^(json|text)$", description="`json` or `text`."
    )


SERVICE_SCOPED = ("host", "port", "database_url", "consumer_group")
"""Settings a service reads under its own prefix first."""


class ServiceSettings(CommonSettings):
    """A service's HTTP address, database and consumer group; subclassed per service.

    A subclass names its `service` and `default_port`; the database and the
    consumer group default from the name (`sqlite:///var/ledger.db`,
    `overdue-ledger`).
    """

    service: ClassVar[str] = "service"
    default_port: ClassVar[int] = 8000

    host: str = Field(default="127.0.0.1", description="Address the HTTP API binds.")
    port: int = Field(default=8000, ge=0, le=65535, description="HTTP API port.")
    database_url: str = Field(
        default="",
        validation_alias=AliasChoices("OVERDUE_DATABASE_URL", "DATABASE_URL"),
        description="SQLAlchemy URL of the service's own database.",
    )
    consumer_group: str = Field(
        default="", description="Kafka consumer group of the service's subscribers."
    )

    @model_validator(mode="after")
    def _defaults_named_after_the_service(self) -> Self:
        if "port" not in self.model_fields_set:
            self.port = self.default_port
        if not self.database_url:
            self.database_url = f"sqlite:///var/{self.service}.db"
        if not self.consumer_group:
            self.consumer_group = f"overdue-{self.service}"
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        scoped = _ServiceScopedEnv(
            settings_cls, prefix=f"OVERDUE_{cls.service.upper()}_"
        )
        return (
            init_settings,
            scoped,
            env_settings,
            dotenv_settings,
            file_secret_settings,
        )


class _ServiceScopedEnv(PydanticBaseSettingsSource):
    """`OVERDUE_LEDGER_PORT` and the like, read before `OVERDUE_PORT`."""

    def __init__(self, settings_cls: type[BaseSettings], *, prefix: str) -> None:
        super().__init__(settings_cls)
        self.prefix = prefix

    def get_field_value(
        self, field: FieldInfo, field_name: str
    ) -> tuple[Any, str, bool]:
        name = self.prefix + field_name.upper()
        return os.environ.get(name), name, False

    def __call__(self) -> dict[str, Any]:
        values = {}
        for field_name in SERVICE_SCOPED:
            value, _, _ = self.get_field_value(FieldInfo(), field_name)
            if value is not None:
                values[self._key(field_name)] = value
        return values

    def _key(self, field_name: str) -> str:
        """The name a value goes under so that it beats the later sources: a
        field's first alias where it has some, for the environment's value
        comes under an alias, and an alias is read before the field's name."""
        alias = self.settings_cls.model_fields[field_name].validation_alias
        if isinstance(alias, AliasChoices) and isinstance(alias.choices[0], str):
            return alias.choices[0]
        return field_name
