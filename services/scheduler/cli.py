"""`overdue scheduler` commands."""

import typer

from services.scheduler.app import DESCRIPTION, SERVICE, create_app
from services.scheduler.http.app import create_http
from services.scheduler.settings import SchedulerSettings
from shared.messaging.commands import add_service_commands

app = typer.Typer(help="The scheduler service.", no_args_is_help=True)

add_service_commands(
    app,
    service=SERVICE,
    settings_cls=SchedulerSettings,
    create_app=create_app,
    description=DESCRIPTION,
    create_http=create_http,
)
