"""`overdue notifier` commands."""

import typer

from services.notifier.app import DESCRIPTION, SERVICE, create_app
from services.notifier.settings import NotifierSettings
from shared.messaging.commands import add_service_commands

app = typer.Typer(help="The notifier service.", no_args_is_help=True)

add_service_commands(
    app,
    service=SERVICE,
    settings_cls=NotifierSettings,
    create_app=create_app,
    description=DESCRIPTION,
)
