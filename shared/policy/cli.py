"""`overdue policy` commands: check policy files, show them as they are read."""

from pathlib import Path

import typer
import yaml

from shared.policy.loading import PolicyError, Problem, load_policy

app = typer.Typer(
    help="Collection policies: the ladder and the rules around it (docs/policy.md).",
    no_args_is_help=True,
)


@app.callback()
def policy() -> None:
    """Collection policies: the ladder and the rules around it (docs/policy.md)."""


@app.command()
def check(
    files: list[Path] = typer.Argument(
        ..., metavar="FILE...", help="Policy YAML files to check."
    ),
) -> None:
    """Check policy files; print every problem with its path, exit 1 if any.

    A good file prints `FILE: ok (NAME, N stages)`; a bad one prints one line
    per problem, `FILE: path: message (line N)`, unknown keys included.
    """
    failed = False
    for file in files:
        try:
            policy = load_policy(file)
        except PolicyError as error:
            failed = True
            for problem in error.problems:
                typer.echo(f"{file}: {_describe(problem)}")
            continue
        stages = len(policy.ladder)
        plural = "stage" if stages == 1 else "stages"
        typer.echo(f"{file}: ok ({policy.name}, {stages} {plural})")
    if failed:
        raise typer.Exit(1)


@app.command()
def show(
    file: Path = typer.Argument(..., metavar="FILE", help="A policy YAML file."),
) -> None:
    """Print the policy as the system reads it, every default written out."""
    try:
        policy = load_policy(file)
    except PolicyError as error:
        for problem in error.problems:
            typer.echo(f"{file}: {_describe(problem)}", err=True)
        raise typer.Exit(1) from None
    data = policy.to_data()
    for stage in data["ladder"]:
        if stage["action"] is None:
            del stage["action"]
    typer.echo(
        yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True), nl=False
    )


class _Dumper(yaml.SafeDumper):
    """Safe YAML that quotes times and amounts, as the policy docs write them."""


def _quoted_text(dumper: yaml.SafeDumper, text: str) -> yaml.ScalarNode:
    style = '"' if text[:1].isdigit() else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style=style)


_Dumper.add_representer(str, _quoted_text)


def _describe(problem: Problem) -> str:
    # A syntax error names its line in the message already.
    if problem.line is None or not problem.path:
        return str(problem)
    return f"{problem} (line {problem.line})"
