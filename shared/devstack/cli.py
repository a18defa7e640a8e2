"""`overdue infra` commands."""

import typer

app = typer.Typer(help="Start, stop and inspect the local stack.", no_args_is_help=True)
