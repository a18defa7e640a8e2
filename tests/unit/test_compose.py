"""The container set-up: docker-compose.yml, the Dockerfile and the Postgres init.

Nothing here starts a container; the files are read and checked against the
Compose Specification schema shipped in docs/compose/ and against the real
`overdue` command line, so a renamed command or option fails here first.
"""

import json
import re
import shlex
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jsonschema
import pytest
import typer
import yaml

from shared.settings import CommonSettings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
SCHEMA_FILE = ROOT / "docs" / "compose" / "compose-spec.json"
DOCKERFILE = ROOT / "Dockerfile"
POSTGRES_INIT = ROOT / "docker" / "postgres-init.sql"

OVERDUE_IMAGE = "overdue:local"


def load_compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE_FILE.read_text())
    return loaded


COMPOSE = load_compose()
SERVICES: dict[str, dict[str, Any]] = COMPOSE["services"]
OVERDUE_SERVICES = sorted(
    name for name, service in SERVICES.items() if service.get("image") == OVERDUE_IMAGE
)


def compose_validator() -> jsonschema.protocols.Validator:
    """A validator of the draft the schema declares, formats left unchecked."""
    schema = json.loads(SCHEMA_FILE.read_text())
    validator_class = jsonschema.validators.validator_for(schema)
    validator_class.check_schema(schema)
    return validator_class(schema)


class UnknownCommand(LookupError):
    """The tokens do not name a command of the application."""


def is_group(command: Any) -> bool:
    """A command that dispatches to sub-commands.

    Typer 0.27 ships its own copy of click, so its groups are not instances of
    `click.Group`; what makes a group is that it can look a sub-command up.
    """
    return callable(getattr(command, "get_command", None))


def resolve_command(root: Any, tokens: Sequence[str]) -> Any:
    """Follow the leading words of `tokens` down the groups to the command they run.

    Words after the leaf command are its arguments; every token that starts with
    `-` must be one of the leaf's options, written alone or as `--name=value`.
    """
    command = root
    path: list[str] = []
    position = 0
    while is_group(command) and position < len(tokens):
        word = tokens[position]
        if word.startswith("-"):
            break
        found = command.get_command(command.context_class(command), word)
        if found is None:
            raise UnknownCommand(f"no command {' '.join([*path, word])!r}")
        command = found
        path.append(word)
        position += 1

    if is_group(command):
        raise UnknownCommand(f"{' '.join(path) or 'the root'!r} needs a sub-command")

    known = {
        opt
        for param in command.params
        for opt in (*param.opts, *param.secondary_opts)
        if opt.startswith("-")
    }
    for token in tokens[position:]:
        option = token.split("=", 1)[0]
        if token.startswith("-") and option not in known:
            raise UnknownCommand(f"{' '.join(path)!r} has no option {option!r}")
    return command


def overdue_cli() -> Any:
    from shared.cli import app

    return typer.main.get_command(app)


def command_tokens(service: dict[str, Any]) -> list[str]:
    command = service["command"]
    return shlex.split(command) if isinstance(command, str) else list(command)


def environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment", {})
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {key: str(value) for key, value in env.items()}


def database_urls(service: dict[str, Any]) -> list[str]:
    """The databases a service is told to use, on its command line or in its env."""
    urls = [
        token.split("=", 1)[1]
        for token in command_tokens(service)
        if token.startswith("--database=")
    ]
    if "DATABASE_URL" in environment(service):
        urls.append(environment(service)["DATABASE_URL"])
    return urls


def option_value(tokens: Sequence[str], name: str) -> str:
    for index, token in enumerate(tokens):
        if token.startswith(name + "="):
            return token.split("=", 1)[1]
        if token == name:
            return tokens[index + 1]
    raise AssertionError(f"no {name} in {tokens}")


def final_stage(dockerfile: str) -> list[str]:
    """The instructions of the last build stage, continuation lines joined."""
    joined = re.sub(r"\\\n", " ", dockerfile)
    lines = [
        line.strip()
        for line in joined.splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    last_from = max(
        i for i, line in enumerate(lines) if line.upper().startswith("FROM ")
    )
    return lines[last_from:]


# --- the command walker itself ----------------------------------------------


def tiny_cli() -> Any:
    app = typer.Typer()
    group = typer.Typer()

    @group.command("b")
    def b(x: int = typer.Option(0, "--x")) -> None:
        """A leaf with one option."""

    @group.command("c")
    def c() -> None:
        """A second leaf, so that `a` stays a group."""

    app.add_typer(group, name="a")
    return typer.main.get_command(app)


def test_the_walker_resolves_a_sub_command_and_accepts_its_option() -> None:
    cli = tiny_cli()

    command = resolve_command(cli, ["a", "b", "--x", "1"])

    assert command.name == "b"


def test_the_walker_accepts_an_option_written_with_its_value() -> None:
    cli = tiny_cli()

    command = resolve_command(cli, ["a", "b", "--x=1"])

    assert command.name == "b"


def test_the_walker_rejects_a_command_the_application_does_not_have() -> None:
    cli = tiny_cli()

    with pytest.raises(UnknownCommand, match="no command 'a z'"):
        resolve_command(cli, ["a", "z"])


def test_the_walker_rejects_an_option_the_command_does_not_take() -> None:
    cli = tiny_cli()

    with pytest.raises(UnknownCommand, match="no option '--y'"):
        resolve_command(cli, ["a", "b", "--y", "1"])


def test_the_walker_rejects_a_group_that_is_not_followed_by_a_command() -> None:
    cli = tiny_cli()

    with pytest.raises(UnknownCommand, match="needs a sub-command"):
        resolve_command(cli, ["a", "--x", "1"])


# --- docker-compose.yml -----------------------------------------------------


def test_the_compose_file_is_valid_against_the_compose_specification() -> None:
    validator = compose_validator()

    errors = [
        f"{'/'.join(map(str, error.absolute_path))}: {error.message}"
        for error in validator.iter_errors(COMPOSE)
    ]

    assert errors == []


def test_the_shipped_schema_rejects_a_dependency_condition_compose_does_not_know() -> (
    None
):
    validator = compose_validator()
    broken = {
        "services": {
            "a": {"image": "x", "depends_on": {"b": {"condition": "service_ready"}}},
            "b": {"image": "x"},
        }
    }

    assert not validator.is_valid(broken)


def test_the_compose_file_has_no_obsolete_version_key() -> None:
    assert "version" not in COMPOSE


def test_the_overdue_image_runs_the_topic_init_and_the_three_services() -> None:
    assert OVERDUE_SERVICES == ["init", "ledger", "notifier", "scheduler"]


@pytest.mark.parametrize("name", OVERDUE_SERVICES)
def test_every_overdue_service_runs_a_command_the_overdue_cli_has(name: str) -> None:
    tokens = command_tokens(SERVICES[name])

    command = resolve_command(overdue_cli(), tokens)

    assert command.callback is not None


@pytest.mark.parametrize("name", OVERDUE_SERVICES)
def test_every_overdue_service_is_built_from_the_dockerfile_at_the_root(
    name: str,
) -> None:
    assert SERVICES[name]["build"] == "."


@pytest.mark.parametrize("name", ["ledger", "scheduler", "notifier"])
def test_each_api_is_published_on_the_port_its_server_binds(name: str) -> None:
    service = SERVICES[name]
    tokens = command_tokens(service)

    published = [str(port).rsplit(":", 1) for port in service["ports"]]

    assert option_value(tokens, "--host") == "0.0.0.0"
    assert published[0][1] == option_value(tokens, "--port")


def test_the_notifiers_bounce_endpoint_is_published_where_it_listens() -> None:
    notifier = SERVICES["notifier"]
    environment = notifier["environment"]

    published = [str(port).rsplit(":", 1)[1] for port in notifier["ports"]]

    assert environment["OVERDUE_BOUNCE_HOST"] == "0.0.0.0"
    assert environment["OVERDUE_BOUNCE_PORT"] in published


def test_the_notifiers_letters_outlive_its_container() -> None:
    notifier = SERVICES["notifier"]
    letters = notifier["environment"]["OVERDUE_LETTERS_DIR"]

    assert any(str(v).endswith(f":{letters}") for v in notifier["volumes"])


def test_the_apis_are_reachable_from_the_host_on_8001_to_8003() -> None:
    host_ports = {
        name: str(SERVICES[name]["ports"][0]).split(":")[-2]
        for name in ("ledger", "scheduler", "notifier")
    }

    assert host_ports == {"ledger": "8001", "scheduler": "8002", "notifier": "8003"}


@pytest.mark.parametrize("name", OVERDUE_SERVICES)
def test_every_overdue_service_finds_kafka_on_its_in_network_listener(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("KAFKA_BOOTSTRAP_SERVERS", raising=False)
    for key, value in environment(SERVICES[name]).items():
        monkeypatch.setenv(key, value)
    advertised = environment(SERVICES["kafka"])["KAFKA_ADVERTISED_LISTENERS"]

    settings = CommonSettings()

    assert settings.kafka_bootstrap_servers == "kafka:9092"
    assert "://kafka:9092" in advertised


def test_the_notifier_sends_its_mail_to_mailpit() -> None:
    env = environment(SERVICES["notifier"])

    assert (env["OVERDUE_SMTP_HOST"], env["OVERDUE_SMTP_PORT"]) == ("mailpit", "1025")


@pytest.mark.parametrize("name", ["ledger", "scheduler", "notifier"])
def test_each_service_starts_only_once_the_topics_exist(name: str) -> None:
    depends_on = SERVICES[name]["depends_on"]

    assert depends_on["init"]["condition"] == "service_completed_successfully"


def test_the_topic_init_waits_until_kafka_answers() -> None:
    depends_on = SERVICES["init"]["depends_on"]

    assert {name: dep["condition"] for name, dep in depends_on.items()} == {
        "kafka": "service_healthy",
    }


def test_every_service_waited_on_for_health_declares_a_healthcheck() -> None:
    awaited = {
        dependency
        for service in SERVICES.values()
        for dependency, spec in service.get("depends_on", {}).items()
        if spec["condition"] == "service_healthy"
    }

    missing = sorted(name for name in awaited if "healthcheck" not in SERVICES[name])

    assert missing == []


# --- PostgreSQL -------------------------------------------------------------


def test_postgres_has_a_database_for_every_database_a_service_names() -> None:
    postgres = environment(SERVICES["postgres"])
    created = set(
        re.findall(r"CREATE DATABASE\s+(\w+)", POSTGRES_INIT.read_text(), re.I)
    )
    available = created | {postgres["POSTGRES_DB"]}

    named = {
        urlsplit(url).path.lstrip("/")
        for name in OVERDUE_SERVICES
        for url in database_urls(SERVICES[name])
    }

    assert {"ledger", "scheduler", "notifier"} <= named
    assert named <= available


def test_each_of_the_three_services_has_a_database_of_its_own() -> None:
    databases = [
        urlsplit(url).path.lstrip("/")
        for name in ("ledger", "scheduler", "notifier")
        for url in database_urls(SERVICES[name])
    ]

    assert databases == ["ledger", "scheduler", "notifier"]


@pytest.mark.parametrize("name", OVERDUE_SERVICES)
def test_every_database_url_logs_in_as_the_postgres_user(name: str) -> None:
    postgres = environment(SERVICES["postgres"])

    for url in database_urls(SERVICES[name]):
        parts = urlsplit(url)
        assert parts.scheme == "postgresql+psycopg"
        assert (parts.hostname, parts.port) == ("postgres", 5432)
        assert (parts.username, parts.password) == (
            postgres["POSTGRES_USER"],
            postgres["POSTGRES_PASSWORD"],
        )


def test_the_postgres_init_script_is_mounted_where_the_image_runs_it() -> None:
    volumes = [str(volume) for volume in SERVICES["postgres"]["volumes"]]

    assert any(
        volume.startswith("./docker/postgres-init.sql:/docker-entrypoint-initdb.d/")
        for volume in volumes
    )


# --- Dockerfile -------------------------------------------------------------


def test_the_image_entrypoint_is_the_overdue_command() -> None:
    stage = final_stage(DOCKERFILE.read_text())

    entrypoints = [line for line in stage if line.upper().startswith("ENTRYPOINT ")]

    assert len(entrypoints) == 1
    assert json.loads(entrypoints[0].split(None, 1)[1]) == ["overdue"]


def test_the_image_does_not_run_as_root() -> None:
    stage = final_stage(DOCKERFILE.read_text())

    users = [
        line.split(None, 1)[1] for line in stage if line.upper().startswith("USER ")
    ]

    assert users
    assert users[-1] not in {"root", "0"}


def test_the_image_installs_the_locked_dependencies_without_dev_tools() -> None:
    dockerfile = re.sub(r"\\\n", " ", DOCKERFILE.read_text())

    syncs = re.findall(r"^RUN .*\buv sync\b.*$", dockerfile, re.M)

    assert syncs
    assert all("--frozen" in sync and "--no-dev" in sync for sync in syncs)


def test_the_image_copies_the_lock_file_before_the_source() -> None:
    copies = [
        line
        for line in DOCKERFILE.read_text().splitlines()
        if line.upper().startswith("COPY ") and "--from" not in line
    ]

    lock = next(i for i, line in enumerate(copies) if "uv.lock" in line)
    source = next(i for i, line in enumerate(copies) if "shared" in line)

    assert lock < source
