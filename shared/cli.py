"""The `overdue` command: one entry point that mounts every service's commands."""

import typer

app = typer.Typer(help="overdue: debt collection that runs itself, with tact.", no_args_is_help=True)


def main() -> None:
    app()
