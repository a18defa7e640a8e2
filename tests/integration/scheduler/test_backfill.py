"""Revision 0004 fills its new table and columns from what the scheduler stored."""

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy import Engine

from services.scheduler.service import Scheduler
from shared.clock import VirtualClock
from shared.db.engine import make_engine
from shared.db.migrations import alembic_config, upgrade
from shared.http.keys import hash_key
from tests.support.databases import fresh_postgres_database, sqlite_url
from tests.support.scheduler import (
    at,
    creditor_updated,
    debtor_upserted,
    invoice_issued,
)

pytestmark = pytest.mark.integration

KEY = "odk_acme-test-key"

collections = sa.table(
    "collections",
    sa.column("debtor_id", sa.String()),
    sa.column("state", sa.JSON()),
)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield sqlite_url(tmp_path)
        return
    with fresh_postgres_database() as url:
        yield url


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    upgrade("scheduler", database_url)
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


def stored_before_0004(database_url: str, engine: Engine) -> VirtualClock:
    """A creditor with a key, d1 in an open case with a dispute, d2 with none; the
    database back at 0003, its dispute saved without a reason as 0003 saved it."""
    clock = VirtualClock(at("2026-01-05", "08:00"))
    scheduler = Scheduler(engine, clock)
    scheduler.follow_creditor(
        creditor_updated(clock.now(), api_key_hashes=[hash_key(KEY)])
    )
    scheduler.follow_ledger(debtor_upserted(clock.now()))
    scheduler.follow_ledger(invoice_issued(clock.now()))
    scheduler.follow_ledger(invoice_issued(clock.now(), number="INV-2"))
    scheduler.follow_ledger(invoice_issued(clock.now(), debtor="d2", due="2026-03-02"))
    clock.advance_to(at("2026-01-20", "10:00"))
    scheduler.fire_due(clock.now())
    scheduler.open_dispute("acme", "d1", invoice="INV-2", reason="goods damaged")
    engine.dispose()

    command.downgrade(alembic_config("scheduler", database_url), "0003")
    with engine.begin() as connection:
        [state] = connection.execute(
            sa.select(collections.c.state).where(collections.c.debtor_id == "d1")
        ).scalars()
        log = [d | {"reason": ""} for d in state["dispute_log"]]
        connection.execute(
            collections.update()
            .where(collections.c.debtor_id == "d1")
            .values(state=state | {"dispute_log": log})
        )
    engine.dispose()
    return clock


def test_0004_finds_each_creditor_by_the_hashes_it_had_published(
    database_url: str, engine: Engine
) -> None:
    clock = stored_before_0004(database_url, engine)

    upgrade("scheduler", database_url)

    scheduler = Scheduler(engine, clock)
    assert scheduler.authenticate(KEY) == "acme"
    assert scheduler.authenticate("odk_nobody") is None


def test_0004_lists_the_cases_stored_before_it_by_state_and_stage(
    database_url: str, engine: Engine
) -> None:
    clock = stored_before_0004(database_url, engine)

    upgrade("scheduler", database_url)

    scheduler = Scheduler(engine, clock)
    listed = scheduler.cases("acme", state="open", stage="second").cases
    assert [(c.debtor, c.case_id) for c in listed] == [("d1", "d1#1")]
    assert [c.debtor for c in scheduler.cases("acme").cases] == ["d1"]


def test_0004_gives_a_dispute_saved_without_its_reason_the_one_history_kept(
    database_url: str, engine: Engine
) -> None:
    stored_before_0004(database_url, engine)

    upgrade("scheduler", database_url)

    with engine.connect() as connection:
        [state] = connection.execute(
            sa.select(collections.c.state).where(collections.c.debtor_id == "d1")
        ).scalars()
    assert [(d["invoice"], d["reason"]) for d in state["dispute_log"]] == [
        ("INV-2", "goods damaged")
    ]
