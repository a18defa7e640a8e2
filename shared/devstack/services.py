"""The ledger, the scheduler and the notifier as detached `serve` processes.

`overdue up` and `make demo` start them here: each with its port, database,
consumer group and log, and each waited for until its `/healthz` answers.
`overdue up` also keeps a PID file per service and `var/run/services.json`,
so that `overdue ps` and `overdue down` find them again.
"""

import asyncio
import contextlib
import json
import os
import signal
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import httpx
import sqlalchemy as sa

from shared.db.engine import make_engine, normalise_url
from shared.devstack.errors import InfraError
from shared.devstack.paths import Paths
from shared.devstack.process import (
    is_alive,
    port_is_free,
    read_pid,
    spawn,
    tail,
    write_pid,
)
from shared.devstack.process import terminate as stop_pid
from shared.devstack.topics import skip_to_end
from shared.topics import (
    COLLECTIONS_CONTACTS,
    LEDGER_CREDITORS,
    LEDGER_EVENTS,
    LEDGER_INBOUND,
    NOTIFIER_EVENTS,
)

SERVICES = ("ledger", "scheduler", "notifier")
DEFAULT_PORTS = {"ledger": 8001, "scheduler": 8002, "notifier": 8003}
"""The ports each service's own settings default to."""

INPUTS = {
    "ledger": (LEDGER_INBOUND.name,),
    "scheduler": (LEDGER_EVENTS.name, LEDGER_CREDITORS.name, NOTIFIER_EVENTS.name),
    "notifier": (COLLECTIONS_CONTACTS.name, LEDGER_CREDITORS.name, LEDGER_EVENTS.name),
}
"""The topics each service's consumer group reads."""

HOST = "127.0.0.1"
WAIT_SECONDS = 60.0


@dataclass
class Launch:
    """How one service process is to run."""

    name: str
    port: int
    database: str
    kafka: str
    log: Path
    env: dict[str, str] = field(default_factory=dict)
    host: str = HOST

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def argv(self) -> list[str]:
        overdue = str(Path(sys.executable).with_name("overdue"))
        return [
            *(overdue, self.name, "serve", "--host", self.host),
            *("--port", str(self.port), "--kafka", self.kafka),
            *("--database", self.database),
        ]


@dataclass
class Running:
    """A service process that was started, as `services.json` keeps it."""

    name: str
    pid: int
    port: int
    log: str
    database: str
    clock: str = "system"
    host: str = HOST

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"


def marker(name: str) -> str:
    """What a service process's command line holds, to tell it from a recycled PID."""
    return f"{name} serve"


def start(launch: Launch) -> Running:
    """Spawn the process; it runs on after the caller exits."""
    process = spawn(launch.argv, log=launch.log, env=launch.env)
    return Running(
        name=launch.name,
        pid=process.pid,
        port=launch.port,
        log=str(launch.log),
        database=safe_url(launch.database),
        clock=launch.env.get("OVERDUE_CLOCK", "system"),
        host=launch.host,
    )


def healthy(url: str, timeout: float = 2.0) -> bool:
    """Whether the service at `url` answers 200 on `/healthz`."""
    try:
        return httpx.get(f"{url}/healthz", timeout=timeout).status_code == 200
    except httpx.HTTPError:
        return False


def wait_healthy(services: Sequence[Running], timeout: float = WAIT_SECONDS) -> None:
    """Return once every service answers on `/healthz`; else say which did not,
    and where its log is."""
    deadline = time.monotonic() + timeout
    waiting = list(services)
    while waiting:
        for service in list(waiting):
            if healthy(service.url):
                waiting.remove(service)
            elif not is_alive(service.pid):
                raise InfraError(
                    f"{service.name} exited at start; see {service.log}:\n"
                    f"{tail(Path(service.log))}"
                )
        if waiting and time.monotonic() > deadline:
            names = ", ".join(s.name for s in waiting)
            logs = ", ".join(s.log for s in waiting)
            raise InfraError(
                f"{names} did not answer on /healthz within {timeout:.0f} s; see {logs}"
            )
        if waiting:
            time.sleep(0.3)


def start_at_the_end(bootstrap: str, groups: Mapping[str, str]) -> None:
    """Commit each service's group at the end of its topics: it reads only what
    comes next, not what earlier runs and tests left on a shared broker."""

    async def skip() -> None:
        for name, group in groups.items():
            for topic in INPUTS[name]:
                await skip_to_end(bootstrap, group, topic)

    asyncio.run(skip())


# -- the databases of `overdue up` ------------------------------------------------


def service_database(server_url: str, name: str, layout: Paths) -> str:
    """The service's own database beside the stack's: `overdue_<name>` on its
    PostgreSQL server, created when missing; a file under var/ for SQLite."""
    server = normalise_url(server_url)
    if server.get_backend_name() == "sqlite":
        return f"sqlite:///{layout.var / name}.db"
    database = f"overdue_{name}"
    admin = make_engine(server.render_as_string(hide_password=False))
    try:
        with admin.connect().execution_options(
            isolation_level="AUTOCOMMIT"
        ) as connection:
            exists = connection.execute(
                sa.text("SELECT 1 FROM pg_database WHERE datname = :name"),
                {"name": database},
            ).first()
            if exists is None:
                connection.execute(sa.text(f'CREATE DATABASE "{database}"'))
    except sa.exc.DBAPIError as error:
        raise InfraError(
            f"cannot create the {name}'s database on {safe_url(server_url)}: "
            f"{error.orig or error}"
        ) from None
    finally:
        admin.dispose()
    return server.set(database=database).render_as_string(hide_password=False)


def safe_url(url: str) -> str:
    """The URL without its password, fit for a terminal or a state file."""
    return normalise_url(url).render_as_string(hide_password=True)


# -- what `overdue up` started ------------------------------------------------------


def pid_file(layout: Paths, name: str) -> Path:
    return layout.run / f"{name}.pid"


def log_file(layout: Paths, name: str) -> Path:
    return layout.log / f"{name}.log"


def state_file(layout: Paths) -> Path:
    return layout.run / "services.json"


def recorded(layout: Paths) -> dict[str, Running]:
    """The services `up` recorded, whether or not they still run."""
    try:
        document = json.loads(state_file(layout).read_text())
        found = {name: Running(**entry) for name, entry in document.items()}
    except (OSError, ValueError, TypeError):
        return {}
    return {name: found[name] for name in SERVICES if name in found}


def record(layout: Paths, services: Mapping[str, Running]) -> None:
    """Keep the services' PID files and `services.json`, the latter atomically."""
    for service in services.values():
        write_pid(pid_file(layout, service.name), service.pid)
    target = state_file(layout)
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    document = {name: asdict(service) for name, service in services.items()}
    temporary.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n")
    os.replace(temporary, target)


def running(layout: Paths) -> dict[str, Running]:
    """The recorded services whose process still runs."""
    return {
        name: service
        for name, service in recorded(layout).items()
        if is_alive(read_pid(pid_file(layout, name)), marker(name))
    }


def stop(
    layout: Paths, *, timeout: float, only: Sequence[str] = SERVICES
) -> dict[str, bool]:
    """SIGTERM each recorded service (or those named), SIGKILL after `timeout`;
    forget them. Returns, per service, whether it was running.
    """
    pids = {name: read_pid(pid_file(layout, name)) for name in only}
    alive = {
        name: pid
        for name, pid in pids.items()
        if pid is not None and is_alive(pid, marker(name))
    }
    for pid in alive.values():
        # All are told at once, so that they wind down side by side.
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    for pid in alive.values():
        stop_pid(pid, timeout=timeout)
    for name in only:
        pid_file(layout, name).unlink(missing_ok=True)
    kept = {k: v for k, v in recorded(layout).items() if k not in only}
    if kept:
        record(layout, kept)
    else:
        state_file(layout).unlink(missing_ok=True)
    return {name: name in alive for name in only}


def taken(ports: Mapping[str, int], host: str = HOST) -> dict[str, int]:
    """The ports of `ports` somebody else holds already."""
    return {name: port for name, port in ports.items() if not port_is_free(host, port)}
