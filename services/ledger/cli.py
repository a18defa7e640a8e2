"""`overdue ledger` commands."""

import typer

from services.ledger.app import DESCRIPTION, SERVICE, create_app
from services.ledger.settings import LedgerSettings
from shared.messaging.commands import add_service_commands

app = typer.Typer(help="The ledger service.", no_args_is_help=True)

add_service_commands(
    app,
    service=SERVICE,
    settings_cls=LedgerSettings,
    create_app=create_app,
    description=DESCRIPTION,
)
