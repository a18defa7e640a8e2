"""`overdue contracts` commands: keep docs/schemas in step with the event models."""

from pathlib import Path

import typer

from shared.events.schemas import REGENERATE, differing_files, generate_schemas

DEFAULT_DIRECTORY = Path(__file__).resolve().parent.parent / "docs" / "schemas"

app = typer.Typer(help="The event contracts shared by every service.")


@app.callback()
def contracts() -> None:
    """The event contracts shared by every service."""


@app.command()
def schemas(
    check: bool = typer.Option(
        False, "--check", help="Write nothing; exit 1 if any file is not as generated."
    ),
    directory: Path = typer.Option(
        DEFAULT_DIRECTORY, "--dir", help="Where the schema files live."
    ),
) -> None:
    """Write the JSON Schema of the envelope and of every event payload."""
    expected = generate_schemas()
    if directory.is_dir():
        differing = differing_files(directory, expected)
    else:
        differing = dict.fromkeys(expected, "missing")

    if check:
        if differing:
            for name, problem in differing.items():
                typer.echo(f"{directory / name}: {problem}", err=True)
            typer.echo(f"Run `{REGENERATE}` to regenerate them.", err=True)
            raise typer.Exit(1)
        typer.echo(f"{len(expected)} schema files are up to date.")
        return

    directory.mkdir(parents=True, exist_ok=True)
    for name in differing:
        path = directory / name
        if name in expected:
            path.write_text(expected[name], encoding="utf-8")
            typer.echo(f"wrote {path}")
        else:
            path.unlink()
            typer.echo(f"removed {path}")
    typer.echo(f"{len(expected)} schema files, {len(differing)} changed.")
