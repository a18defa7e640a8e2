"""`overdue clock`: show and move the virtual clock the services share."""

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import typer
from rich.console import Console

from shared.clock import SYSTEM, ClockError, parse_duration, read_offset, write_offset
from shared.devstack import services
from shared.devstack.paths import paths

app = typer.Typer(
    help="Show and move the virtual clock in a clock file, which the processes "
    "of `overdue up --virtual-clock` (or `--clock FILE`) read. It only ever "
    "moves forward, and runs on with the real time in between.",
    no_args_is_help=True,
)
console = Console(highlight=False)

FileOption = typer.Option(
    None,
    "--file",
    "-f",
    metavar="FILE",
    help="The clock file [default: OVERDUE_CLOCK, else the clock of the running "
    "`overdue up`, else var/clock].",
)


def clock_file(given: Path | None) -> Path:
    """The file to act on: as given, else the one the services are told of."""
    if given is not None:
        return given
    configured = os.environ.get("OVERDUE_CLOCK", "").strip()
    if configured and configured != SYSTEM:
        return Path(configured).expanduser()
    layout = paths()
    for service in services.running(layout).values():
        if service.clock != SYSTEM:
            return Path(service.clock)
    return default_clock_file()


def default_clock_file() -> Path:
    return paths().var / "clock"


@app.command()
def show(file: Path | None = FileOption) -> None:
    """The moment the clock tells now, and how far it is from the real time."""
    path = clock_file(file)
    offset = _offset(path)
    real = datetime.now(UTC)
    if offset is None:
        console.print(f"{path}: no clock file; a clock on it tells the real time.")
        offset = timedelta(0)
    console.print(f"now:    {(real + offset).isoformat(timespec='seconds')}")
    console.print(f"real:   {real.isoformat(timespec='seconds')}")
    console.print(f"offset: {_signed(offset)}")
    console.print(f"file:   {path}")


@app.command(name="set")
def set_(
    moment: str = typer.Argument(
        ..., metavar="MOMENT", help="ISO 8601 with a UTC offset: 2027-03-01T08:00+01:00"
    ),
    file: Path | None = FileOption,
) -> None:
    """Move the clock to MOMENT; from there it runs on with the real time.

    A new clock file may start at any moment, past or future; an existing one
    only moves forward.
    """
    path = clock_file(file)
    target = _moment(moment)
    real = datetime.now(UTC)
    current = _offset(path)
    if current is not None and target < real + current:
        raise _refuse(
            f"the clock never goes back: it tells "
            f"{(real + current).isoformat(timespec='seconds')} already. "
            "Stop the services (`overdue down`) and remove the file to start over."
        )
    _write(path, target - real, real)


@app.command()
def advance(
    duration: str = typer.Argument(
        ..., metavar="DURATION", help="How far: 3d, 2h, 90s, 15m, 1w, 1d12h."
    ),
    file: Path | None = FileOption,
) -> None:
    """Move the clock forward by DURATION."""
    path = clock_file(file)
    try:
        span = parse_duration(duration)
    except ClockError as error:
        raise _refuse(str(error)) from None
    _write(path, (_offset(path) or timedelta(0)) + span, datetime.now(UTC))


def _write(path: Path, offset: timedelta, real: datetime) -> None:
    write_offset(path, offset, now=real)
    console.print(f"now:    {(real + offset).isoformat(timespec='seconds')}")
    console.print(f"offset: {_signed(offset)}")
    console.print(f"file:   {path}")


def _offset(path: Path) -> timedelta | None:
    try:
        return read_offset(path)
    except ClockError as error:
        raise _refuse(str(error)) from None


def _moment(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise _refuse(f"{text!r} is no ISO 8601 moment") from None
    if moment.tzinfo is None:
        raise _refuse(f"{text!r} has no UTC offset: write e.g. {text}+00:00")
    return moment


def _signed(offset: timedelta) -> str:
    sign = "-" if offset < timedelta(0) else "+"
    return f"{sign}{abs(offset)}"


def _refuse(message: str) -> typer.Exit:
    console.print(f"[red]error:[/red] {message}")
    return typer.Exit(code=1)
