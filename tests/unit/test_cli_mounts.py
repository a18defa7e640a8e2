"""The `overdue` command mounts every command, and imports one only when it runs."""

import subprocess
import sys

import pytest
import typer.main

from shared.cli import MOUNTS, app


@pytest.mark.parametrize("name", list(MOUNTS))
def test_every_command_is_mounted_under_its_name(name):
    group = typer.main.get_command(app)

    command = group.get_command(None, name)  # type: ignore[attr-defined]

    assert command is not None and command.name == name
    assert command.help


def test_a_command_outside_the_services_does_not_import_them():
    probe = (
        "import sys\n"
        "from shared.cli import app\n"
        "try:\n"
        "    app(['clock', '--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(sorted(m for m in sys.modules if m.startswith('services')))\n"
    )

    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )

    assert done.stdout.strip().splitlines()[-1] == "[]"
