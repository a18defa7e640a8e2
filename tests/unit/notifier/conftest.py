"""The notifier's database on SQLite, migrated; fakes for what it talks to; the
shipped templates, loaded once for the rendering tests."""

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from services.notifier.adapters.print_room import PrintRoom
from services.notifier.rendering.templates import Templates
from services.notifier.service import Notifier
from shared.clock import Clock, VirtualClock
from shared.db.engine import make_engine
from shared.db.migrations import upgrade
from tests.support.databases import sqlite_url
from tests.support.notifier import FakeMailer, FakePress, FakeTemplates
from tests.support.scheduler import at


@pytest.fixture
def notifier_engine(tmp_path: Path) -> Iterator[Engine]:
    url = sqlite_url(tmp_path)
    upgrade("notifier", url)
    engine = make_engine(url)
    yield engine
    engine.dispose()


@pytest.fixture
def clock() -> VirtualClock:
    """Tuesday 20 January 2026, 09:00 in Berlin: the reminder's slot."""
    return VirtualClock(at("2026-01-20", "09:00"))


@pytest.fixture
def mailer() -> FakeMailer:
    return FakeMailer()


@pytest.fixture
def press() -> FakePress:
    return FakePress()


@pytest.fixture(scope="session")
def templates() -> Templates:
    return Templates()


@pytest.fixture
def fake_templates() -> FakeTemplates:
    return FakeTemplates()


@pytest.fixture
def notifier_on(
    notifier_engine: Engine,
    fake_templates: FakeTemplates,
    press: FakePress,
    mailer: FakeMailer,
    tmp_path: Path,
) -> Callable[[Clock], Notifier]:
    """A notifier on the fakes, running on the clock given."""

    def build(clock: Clock) -> Notifier:
        return Notifier(
            notifier_engine,
            clock,
            templates=fake_templates,
            press=press,
            mailer=mailer,
            print_room=PrintRoom(tmp_path / "letters"),
            max_attempts=3,
        )

    return build


@pytest.fixture
def notifier(notifier_on: Callable[[Clock], Notifier], clock: VirtualClock) -> Notifier:
    return notifier_on(clock)
