"""A throwaway PostgreSQL cluster for the services, run as the `postgres` user.

initdb refuses to run as root, so when we are root every server command runs
through `runuser -u postgres`. The cluster lives in var/postgres unless the
postgres user cannot reach that folder; then it lives under /tmp instead.
"""

import hashlib
import os
import shlex
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg

from shared.devstack.errors import InfraError
from shared.devstack.paths import Paths
from shared.devstack.process import is_alive, tail
from shared.devstack.state import postgres_url

SERVER_USER = "postgres"
DATABASE = "overdue"
ROLE = "overdue"

# Durability is not wanted in a throwaway cluster; speed is.
SETTINGS = """
# Added by `overdue infra up`.
listen_addresses = '127.0.0.1'
unix_socket_directories = '{socket_dir}'
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 200
"""


@dataclass(frozen=True)
class Cluster:
    """Where one cluster keeps its files."""

    root: Path
    log: Path

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def socket_dir(self) -> Path:
        return self.root / "socket"

    @property
    def pid_file(self) -> Path:
        return self.data / "postmaster.pid"

    def pid(self) -> int | None:
        try:
            return int(self.pid_file.read_text().splitlines()[0])
        except (OSError, ValueError, IndexError):
            return None

    def is_running(self) -> bool:
        return is_alive(self.pid(), marker="postgres")


def bin_dir() -> Path:
    """The newest installed server binaries, 15 from Debian's package preferably."""
    candidates = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"),
        key=lambda path: int(path.parts[-3]) if path.parts[-3].isdigit() else 0,
        reverse=True,
    )
    preferred = Path("/usr/lib/postgresql/15/bin/pg_ctl")
    if preferred.exists():
        return preferred.parent
    if candidates:
        return candidates[0].parent
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).parent
    raise InfraError(
        "PostgreSQL server binaries not found: run scripts/install-system.sh"
    )


def _as_server_user(argv: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return argv
    runuser = shutil.which("runuser")
    if runuser:
        return [runuser, "-u", SERVER_USER, "--", *argv]
    return ["su", SERVER_USER, "-s", "/bin/sh", "-c", shlex.join(argv)]


def _run(argv: list[str], what: str, log: Path | None = None) -> str:
    # cwd "/": the server user may not be allowed into the caller's folder.
    completed = subprocess.run(
        _as_server_user(argv), capture_output=True, text=True, check=False, cwd="/"
    )
    if completed.returncode != 0:
        output = (completed.stdout + completed.stderr).strip()
        where = f"\n{log}:\n{tail(log)}" if log else ""
        raise InfraError(f"{what} failed:\n{output}{where}")
    return completed.stdout


def _server_user_reaches(folder: Path) -> bool:
    if os.geteuid() != 0:
        return True
    probe = subprocess.run(
        _as_server_user(["test", "-x", str(folder)]),
        capture_output=True,
        check=False,
        cwd="/",
    )
    return probe.returncode == 0


def _chown_to_server_user(path: Path) -> None:
    if os.geteuid() == 0:
        shutil.chown(path, user=SERVER_USER, group=SERVER_USER)


def locate(layout: Paths, recorded_root: str | None = None) -> Cluster:
    """The cluster's folders: the recorded ones, else var/postgres, else /tmp.

    Unix socket paths are limited to about 100 bytes, which also sends a
    deeply nested checkout to /tmp.
    """
    if recorded_root:
        root = Path(recorded_root)
        log = layout.postgres_log if root == layout.postgres else root / "postgres.log"
        return Cluster(root=root, log=log)

    layout.var.mkdir(parents=True, exist_ok=True)
    socket_path_length = len(str(layout.postgres / "socket" / ".s.PGSQL.65535"))
    if _server_user_reaches(layout.var) and socket_path_length < 100:
        return Cluster(root=layout.postgres, log=layout.postgres_log)

    digest = hashlib.sha256(str(layout.var).encode()).hexdigest()[:12]
    root = Path(tempfile.gettempdir()) / f"overdue-postgres-{digest}"
    return Cluster(root=root, log=root / "postgres.log")


def initialise(cluster: Cluster) -> bool:
    """Create the cluster once: trust authentication, local addresses only."""
    if (cluster.data / "PG_VERSION").is_file():
        return False

    for folder in (cluster.root, cluster.socket_dir):
        folder.mkdir(parents=True, exist_ok=True)
        _chown_to_server_user(folder)
    os.chmod(cluster.root, 0o700)
    _run(
        [
            str(bin_dir() / "initdb"),
            "-D",
            str(cluster.data),
            "-U",
            SERVER_USER,
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C",
        ],
        "initdb",
    )

    # Appending keeps the file's owner, so root may do it directly.
    with open(cluster.data / "postgresql.conf", "a") as conf:
        conf.write(SETTINGS.format(socket_dir=cluster.socket_dir))
    return True


def start(cluster: Cluster, port: int) -> int:
    """Start the server and wait until it accepts connections; returns its PID."""
    cluster.log.parent.mkdir(parents=True, exist_ok=True)
    cluster.log.touch()
    _chown_to_server_user(cluster.log)

    _run(
        [
            str(bin_dir() / "pg_ctl"),
            "-D",
            str(cluster.data),
            "-l",
            str(cluster.log),
            "-o",
            f"-p {port}",
            "-w",
            "-t",
            "60",
            "start",
        ],
        "starting PostgreSQL",
        log=cluster.log,
    )
    pid = cluster.pid()
    if pid is None:
        raise InfraError(f"PostgreSQL started but wrote no PID, see {cluster.log}")
    return pid


def stop(cluster: Cluster) -> bool:
    """`pg_ctl stop -m fast`; returns whether it was running."""
    if not cluster.is_running():
        return False
    _run(
        [
            str(bin_dir() / "pg_ctl"),
            "-D",
            str(cluster.data),
            "-m",
            "fast",
            "-w",
            "stop",
        ],
        "stopping PostgreSQL",
        log=cluster.log,
    )
    return True


def ensure_database(host: str, port: int) -> None:
    """The `overdue` role and its database, created when missing."""
    admin_url = f"postgresql://{SERVER_USER}@{host}:{port}/postgres"
    with psycopg.connect(admin_url, autocommit=True, connect_timeout=5) as conn:
        role = conn.execute("select 1 from pg_roles where rolname = %s", (ROLE,))
        if role.fetchone() is None:
            conn.execute(f'create role "{ROLE}" login createdb')
        exists = conn.execute(
            "select 1 from pg_database where datname = %s", (DATABASE,)
        ).fetchone()
        if not exists:
            conn.execute(f'create database "{DATABASE}" owner "{ROLE}"')


def answers(url: str, timeout: float = 2.0) -> bool:
    """Whether the database at `url` (SQLAlchemy or libpq form) runs `select 1`."""
    libpq_url = url.replace("postgresql+psycopg://", "postgresql://", 1)
    try:
        with psycopg.connect(libpq_url, connect_timeout=max(1, int(timeout))) as conn:
            conn.execute("select 1")
        return True
    except psycopg.Error:
        return False


def wait_ready(url: str, timeout: float, log: Path | None = None) -> None:
    deadline = time.monotonic() + timeout
    while not answers(url):
        if time.monotonic() > deadline:
            where = f", see {log}:\n{tail(log)}" if log else ""
            raise InfraError(f"PostgreSQL at {url} did not answer{where}")
        time.sleep(0.5)


def url_for(host: str, port: int) -> str:
    return postgres_url(host, port)
