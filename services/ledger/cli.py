"""`overdue ledger` commands."""

import typer

app = typer.Typer(help="The ledger service.", no_args_is_help=True)
