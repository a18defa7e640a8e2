"""`overdue notifier` commands, and `overdue preview`."""

from datetime import date

import typer

from services.notifier.app import DESCRIPTION, SERVICE, create_app
from services.notifier.settings import NotifierSettings
from shared.db.migrations import upgrade
from shared.messaging.commands import add_service_commands, database_option


def _create_http(settings: NotifierSettings):  # type: ignore[no-untyped-def]
    from services.notifier.http.app import create_http

    return create_http(settings)


app = typer.Typer(help="The notifier service.", no_args_is_help=True)

add_service_commands(
    app,
    service=SERVICE,
    settings_cls=NotifierSettings,
    create_app=create_app,
    description=DESCRIPTION,
    create_http=_create_http,
)


@app.command()
def bind(
    day: str | None = typer.Option(
        None,
        "--day",
        metavar="YYYY-MM-DD",
        help="Bind every day up to and including this one, today's letters so far "
        "too (default: only the days that are over).",
    ),
    database: str | None = database_option(SERVICE),
) -> None:
    """Bind each day's letters into its print batch PDF and CSV manifest."""
    from services.notifier.service.batches import bind_now

    through = None
    if day is not None:
        try:
            through = date.fromisoformat(day)
        except ValueError:
            raise typer.BadParameter("--day: expected YYYY-MM-DD") from None
    settings = NotifierSettings()
    if database is not None:
        settings = settings.model_copy(update={"database_url": database})
    upgrade(SERVICE, settings.database_url)
    for batch in bind_now(settings, through=through):
        typer.echo(
            f"{batch.creditor_id} {batch.day}: {batch.letters} letters, "
            f"{batch.pages} pages -> {settings.letters_dir / batch.path}"
        )
