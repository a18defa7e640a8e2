"""`overdue scheduler` commands."""

import typer

app = typer.Typer(help="The scheduler service.", no_args_is_help=True)
