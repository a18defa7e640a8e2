"""The scheduler's database on SQLite, migrated, and a clock the tests move."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from shared.clock import VirtualClock
from shared.db.engine import make_engine
from shared.db.migrations import upgrade
from tests.support.databases import sqlite_url
from tests.support.scheduler import at


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    url = sqlite_url(tmp_path)
    upgrade("scheduler", url)
    engine = make_engine(url)
    yield engine
    engine.dispose()


@pytest.fixture
def clock() -> VirtualClock:
    """Monday 5 January 2026, 08:00 in Berlin: before the send window opens."""
    return VirtualClock(at("2026-01-05", "08:00"))
