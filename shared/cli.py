"""The `overdue` command: one entry point that mounts every service's commands.

A command's module is imported only when that command runs: the services
pull in Kafka clients, WeasyPrint and the web framework, seconds of imports
that `overdue clock` or `overdue infra down` have no use for. Only
`overdue --help`, which lists every command with its help, imports them all.
"""

from importlib import import_module
from typing import Any

import typer
import typer.main
from typer.core import TyperGroup

MOUNTS: dict[str, tuple[str, str]] = {
    "infra": ("shared.devstack.cli", "app"),
    "up": ("shared.devstack.services_cli", "up"),
    "ps": ("shared.devstack.services_cli", "ps"),
    "down": ("shared.devstack.services_cli", "down"),
    "clock": ("shared.clock_cli", "app"),
    "ledger": ("services.ledger.cli", "app"),
    "scheduler": ("services.scheduler.cli", "app"),
    "notifier": ("services.notifier.cli", "app"),
    "simulate": ("shared.simulation.cli", "simulate_command"),
    "preview": ("services.notifier.preview", "preview"),
    "contracts": ("shared.contracts_cli", "app"),
    "policy": ("shared.policy.cli", "app"),
}
"""Each command's name, and the module and attribute that hold it: a Typer
app of subcommands, or the function of a single command."""


class Commands(TyperGroup):
    """The `overdue` group, whose commands are imported when they are asked for."""

    def list_commands(self, ctx: Any) -> list[str]:
        return list(MOUNTS)

    def get_command(self, ctx: Any, name: str) -> Any:
        if name not in MOUNTS:
            return None
        module, attribute = MOUNTS[name]
        mounted = getattr(import_module(module), attribute)
        command: Any
        if isinstance(mounted, typer.Typer):
            command = typer.main.get_group(mounted)
        else:
            single = typer.Typer(add_completion=False)
            single.command(name=name)(mounted)
            command = typer.main.get_command(single)
        command.name = name
        return command


app = typer.Typer(cls=Commands, no_args_is_help=True)


@app.callback()
def overdue() -> None:
    """overdue: the debt-collection conversation, run systematically and with tact."""


def main() -> None:
    app()


if __name__ == "__main__":
    main()
