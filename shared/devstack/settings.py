"""Ports and sizes of the local stack, from `OVERDUE_INFRA_*` variables."""

import os

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

KAFKA_BOOTSTRAP_ENVS = ("KAFKA_BOOTSTRAP_SERVERS", "OVERDUE_KAFKA_BOOTSTRAP_SERVERS")
DATABASE_URL_ENV = "DATABASE_URL"


class InfraSettings(BaseSettings):
    """Where `overdue infra up` makes each part listen when it starts it."""

    model_config = SettingsConfigDict(env_prefix="OVERDUE_INFRA_", extra="ignore")

    host: str = Field(default="127.0.0.1", description="Address every part binds.")
    kafka_port: int = Field(default=9092, ge=1, le=65535)
    kafka_controller_port: int = Field(default=9093, ge=1, le=65535)
    kafka_heap: str = Field(default="768m", description="JVM -Xmx of the broker.")
    postgres_port: int = Field(
        default=54329, ge=1, le=65535, description="Tried first; else any free port."
    )
    smtp_port: int = Field(default=2525, ge=1, le=65535)
    kafka_timeout: float = Field(
        default=120.0, description="Seconds to wait for Kafka."
    )


def external_kafka() -> str | None:
    """The user's own Kafka cluster, when one is named in the environment."""
    for name in KAFKA_BOOTSTRAP_ENVS:
        value = os.environ.get(name, "").strip()
        if value:
            return value
    return None


def external_database() -> str | None:
    """The user's own database, when `DATABASE_URL` names one."""
    return os.environ.get(DATABASE_URL_ENV, "").strip() or None
