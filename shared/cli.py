"""The `overdue` command: one entry point that mounts every service's commands."""

import typer

from services.ledger.cli import app as ledger_app
from services.notifier.cli import app as notifier_app
from services.notifier.preview import preview
from services.scheduler.cli import app as scheduler_app
from shared.clock_cli import app as clock_app
from shared.contracts_cli import app as contracts_app
from shared.devstack.cli import app as infra_app
from shared.devstack.services_cli import down, ps, up
from shared.policy.cli import app as policy_app
from shared.simulation.cli import simulate_command

# TODO(#6): every command imports all three services first, seconds of work
# before `overdue clock` or `overdue down` runs; mounting them lazily would not.
app = typer.Typer(
    help="overdue: the debt-collection conversation, run systematically and with tact.",
    no_args_is_help=True,
)
app.add_typer(infra_app, name="infra")
app.add_typer(ledger_app, name="ledger")
app.add_typer(scheduler_app, name="scheduler")
app.add_typer(notifier_app, name="notifier")
app.add_typer(contracts_app, name="contracts")
app.add_typer(policy_app, name="policy")
app.command(name="preview")(preview)
app.command(name="simulate")(simulate_command)
app.command(name="up")(up)
app.command(name="ps")(ps)
app.command(name="down")(down)
app.add_typer(clock_app, name="clock")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
