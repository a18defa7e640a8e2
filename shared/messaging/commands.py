"""`overdue <service> serve` and `asyncapi`, alike for every service."""

from collections.abc import Callable
from pathlib import Path
from typing import Any

import typer
import uvicorn
import yaml
from fastapi import FastAPI
from faststream import FastStream

from shared.db.engine import normalise_url
from shared.db.migrations import upgrade
from shared.events import Envelope
from shared.heap import settle_heap
from shared.logging import configure_logging
from shared.messaging.broker import project_version
from shared.messaging.http import http_app
from shared.settings import ServiceSettings

CANONICAL_KAFKA = "127.0.0.1:9092"
"""The server the checked-in AsyncAPI documents name, whatever the environment says."""


def asyncapi_yaml(
    settings_cls: type[ServiceSettings], create_app: Callable[[Any], FastStream]
) -> str:
    """The service's AsyncAPI document as YAML, independent of the environment."""
    settings = settings_cls(
        kafka_bootstrap_servers=CANONICAL_KAFKA,
        consumer_group=f"overdue-{settings_cls.service}",
    )
    document = create_app(settings).schema.to_specification().to_jsonable()
    document = _batches_carry_envelopes(document)
    return yaml.safe_dump(_sorted_sections(document), sort_keys=False, width=88)


_EMPTY = {"$ref": "#/components/schemas/EmptyPayload"}


def _batches_carry_envelopes(document: dict[str, Any]) -> dict[str, Any]:
    """Show the envelope as the message of a batch subscriber.

    A batch handler reads each record's bytes itself, so faststream sees no
    payload in its signature and documents none; yet every record on every
    topic of this project is an `Envelope`.
    """
    components = document.get("components", {})
    for message in components.get("messages", {}).values():
        if message.get("payload") == _EMPTY:
            message["payload"] = {"$ref": "#/components/schemas/Envelope"}
            components.setdefault("schemas", {}).setdefault(
                "Envelope", Envelope.model_json_schema(by_alias=True)
            )
    if _EMPTY["$ref"] not in str(document):
        components.get("schemas", {}).pop("EmptyPayload", None)
    return document


def _sorted_sections(document: dict[str, Any]) -> dict[str, Any]:
    """Channels, operations and components by name: faststream's order varies."""
    for section in ("channels", "operations"):
        if section in document:
            document[section] = dict(sorted(document[section].items()))
    for kind, entries in document.get("components", {}).items():
        document["components"][kind] = dict(sorted(entries.items()))
    return document


def database_option(service: str) -> Any:
    """`--database URL`, as every command that touches a service's database takes it."""
    return typer.Option(
        None,
        "--database",
        metavar="URL",
        help=f"SQLAlchemy URL of the {service}'s database "
        f"(env: OVERDUE_{service.upper()}_DATABASE_URL, DATABASE_URL).",
    )


def add_service_commands(
    app: typer.Typer,
    *,
    service: str,
    settings_cls: type[ServiceSettings],
    create_app: Callable[[Any], FastStream],
    description: str,
    create_http: Callable[[Any], FastAPI] | None = None,
) -> None:
    """Mount `serve`, `migrate` and `asyncapi` on a service's Typer app.

    `create_http(settings)` builds the service's whole HTTP app (its API beside
    the consumers); without it `serve` runs the consumers with `/healthz` only.
    """
    env = f"OVERDUE_{service.upper()}"
    database = database_option(service)

    @app.command(help=f"Run the {service}: its Kafka consumers and its HTTP API.")
    def serve(
        host: str | None = typer.Option(
            None, help=f"Address to bind (env: {env}_HOST, OVERDUE_HOST)."
        ),
        port: int | None = typer.Option(
            None, help=f"HTTP port (env: {env}_PORT, OVERDUE_PORT)."
        ),
        database: str | None = database,
        kafka: str | None = typer.Option(
            None,
            "--kafka",
            metavar="HOST:PORT[,...]",
            help="Kafka bootstrap servers "
            "(env: OVERDUE_KAFKA_BOOTSTRAP_SERVERS, KAFKA_BOOTSTRAP_SERVERS).",
        ),
    ) -> None:
        overrides: dict[str, Any] = {
            "host": host,
            "port": port,
            "database_url": database,
            "kafka_bootstrap_servers": kafka,
        }
        settings = settings_cls(**{k: v for k, v in overrides.items() if v is not None})
        configure_logging(settings.log_level, settings.log_format)
        upgrade(service, settings.database_url)

        if create_http is not None:
            web = create_http(settings)
        else:
            web = http_app(
                create_app(settings),
                title=f"overdue {service}",
                description=description,
                version=project_version(),
            )
        settle_heap()
        uvicorn.run(web, host=settings.host, port=settings.port, log_config=None)

    @app.command(help=f"Bring the {service}'s database to the newest schema.")
    def migrate(
        database: str | None = database,
        revision: str = typer.Option("head", help="Alembic revision to reach."),
    ) -> None:
        url = database or settings_cls().database_url
        upgrade(service, url, revision)
        typer.echo(f"{service} database at {revision}: {_safe(url)}")

    @app.command(help=f"Write the {service}'s AsyncAPI document (YAML).")
    def asyncapi(
        out: Path = typer.Option(
            Path(f"docs/asyncapi/{service}.yaml"), "--out", "-o", help="Where to write."
        ),
        check: bool = typer.Option(
            False, "--check", help="Write nothing; exit 1 if the file is out of date."
        ),
    ) -> None:
        document = asyncapi_yaml(settings_cls, create_app)
        if check:
            current = out.read_text(encoding="utf-8") if out.exists() else ""
            if current != document:
                typer.echo(f"{out} is out of date: run `overdue {service} asyncapi`")
                raise typer.Exit(1)
            typer.echo(f"{out} is up to date")
            return
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(document, encoding="utf-8")
        typer.echo(f"wrote {out}")


def _safe(url: str) -> str:
    """The URL without its password, fit for a terminal or a log."""
    return normalise_url(url).render_as_string(hide_password=True)
