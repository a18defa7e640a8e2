"""`overdue notifier` commands."""

import typer

app = typer.Typer(help="The notifier service.", no_args_is_help=True)
