"""The README is the newcomer's map: it must name every setting the code reads."""

import re
from pathlib import Path

import pytest
from pydantic import AliasChoices
from pydantic_settings import BaseSettings

from services.ledger.settings import LedgerSettings
from services.notifier.settings import NotifierSettings
from services.scheduler.settings import SchedulerSettings
from shared.devstack.paths import VAR_DIR_ENV
from shared.devstack.settings import InfraSettings
from shared.settings import SERVICE_SCOPED

README = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
SETTINGS = [LedgerSettings, SchedulerSettings, NotifierSettings, InfraSettings]


def environment_names(settings: type[BaseSettings]) -> set[str]:
    """Every variable name a settings class reads, aliases included."""
    prefix = settings.model_config.get("env_prefix", "")
    names = set()
    for field_name, field in settings.model_fields.items():
        alias = field.validation_alias
        if isinstance(alias, AliasChoices):
            names.update(str(choice) for choice in alias.choices)
        else:
            names.add(f"{prefix}{field_name}".upper())
    service = getattr(settings, "service", None)
    if service:
        names.update(f"OVERDUE_{service}_{name}".upper() for name in SERVICE_SCOPED)
    return names


def documented(name: str) -> bool:
    generic = re.sub(
        r"^OVERDUE_(LEDGER|SCHEDULER|NOTIFIER)_", "OVERDUE_<SERVICE>_", name
    )
    return f"`{name}`" in README or f"`{generic}`" in README


@pytest.mark.parametrize("settings", SETTINGS, ids=lambda cls: cls.__name__)
def test_the_readme_names_every_environment_variable_of(
    settings: type[BaseSettings],
) -> None:
    missing = sorted(n for n in environment_names(settings) if not documented(n))

    assert missing == [], f"add these to the README's configuration table: {missing}"


def test_the_readme_names_the_folder_of_the_local_stack() -> None:
    assert f"`{VAR_DIR_ENV}`" in README


def test_the_readme_leads_with_the_two_commands() -> None:
    first_commands = README.index("make demo"), README.index("make test")

    assert max(first_commands) < README.index("## How it fits together")
