"""The collector API on the real PostgreSQL: one key, two requests at one instant."""

import threading
import time
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from services.scheduler.http.app import api_app
from services.scheduler.service import Scheduler
from services.scheduler.service.scheduler import _Creditor, _Loaded, _Work
from services.scheduler.service.views import Recorded
from shared.clock import VirtualClock
from shared.db.engine import make_engine
from shared.http.keys import hash_key
from tests.support.scheduler import (
    at,
    creditor_updated,
    debtor_upserted,
    invoice_issued,
    outbox,
)

pytestmark = pytest.mark.integration

KEY = "odk_acme-test-key"
PROMISE = {"amount": "1200.00", "promised_on": "2026-02-10"}
HEADERS = {"Authorization": f"Bearer {KEY}", "Idempotency-Key": "same-instant"}


@pytest.fixture
def clock(engine: Engine) -> VirtualClock:
    """Tuesday 20 January: the debtor's case is open, its reminder sent."""
    clock = VirtualClock(at("2026-01-05", "08:00"))
    scheduler = Scheduler(engine, clock)
    scheduler.follow_creditor(
        creditor_updated(clock.now(), api_key_hashes=[hash_key(KEY)])
    )
    scheduler.follow_ledger(debtor_upserted(clock.now()))
    scheduler.follow_ledger(invoice_issued(clock.now()))
    clock.advance_to(at("2026-01-20", "10:00"))
    scheduler.fire_due(clock.now())
    return clock


class SlowScheduler(Scheduler):
    """Holds its command's transaction open until the other request is waiting."""

    def __init__(self, engine: Engine, clock: VirtualClock) -> None:
        super().__init__(engine, clock)
        self.inside = threading.Event()

    def _done(
        self,
        work: _Work,
        creditor: _Creditor,
        loaded: _Loaded,
        effects: list[Any],
        kind: str,
        id_: str | None,
    ) -> Recorded:
        self.inside.set()
        time.sleep(0.5)  # the other request's claim of the key waits meanwhile
        return super()._done(work, creditor, loaded, effects, kind, id_)


def race(
    database_url: str, clock: VirtualClock, bodies: tuple[Any, Any]
) -> tuple[httpx.Response, httpx.Response]:
    """The first request is inside its transaction when the second arrives."""
    first = SlowScheduler(make_engine(database_url), clock)
    second = Scheduler(make_engine(database_url), clock)
    answers: dict[str, httpx.Response] = {}

    def send(name: str, scheduler: Scheduler, body: Any) -> None:
        if name == "second":
            first.inside.wait(timeout=10)
        with TestClient(api_app(scheduler)) as client:
            answers[name] = client.post(
                "/v1/cases/d1/promises", json=body, headers=HEADERS
            )

    threads = [
        threading.Thread(target=send, args=("first", first, bodies[0])),
        threading.Thread(target=send, args=("second", second, bodies[1])),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    first.engine.dispose()
    second.engine.dispose()
    return answers["first"], answers["second"]


def test_two_requests_with_one_key_at_one_instant_record_once(
    database_url: str, engine: Engine, clock: VirtualClock
) -> None:
    before = len(outbox(engine))

    first, second = race(database_url, clock, (PROMISE, PROMISE))

    assert first.status_code == second.status_code == 201
    assert second.json() == first.json()
    assert "Idempotent-Replayed" not in first.headers
    assert second.headers["Idempotent-Replayed"] == "true"
    enqueued = [(e.type, e.data.get("template")) for e in outbox(engine)[before:]]
    assert enqueued == [
        ("promise.recorded", None),
        ("contact.due", "promise_confirmation"),
    ]
    timeline = Scheduler(engine, clock).case("acme", "d1")
    assert [p.promise_id for p in timeline.promises] == ["d1#1/promise-1"]


def test_one_key_with_another_body_at_the_same_instant_is_a_409(
    database_url: str, engine: Engine, clock: VirtualClock
) -> None:
    other = PROMISE | {"amount": "600.00"}

    first, second = race(database_url, clock, (PROMISE, other))

    assert first.status_code == 201
    assert second.status_code == 409
    assert second.json()["error"]["field"] == "Idempotency-Key"
    assert [e.type for e in outbox(engine)].count("promise.recorded") == 1


def test_many_requests_with_one_key_at_once_record_one_promise(
    database_url: str, engine: Engine, clock: VirtualClock
) -> None:
    schedulers = [Scheduler(make_engine(database_url), clock) for _ in range(4)]
    start = threading.Barrier(len(schedulers))
    answers: list[httpx.Response] = []

    def send(scheduler: Scheduler) -> None:
        with TestClient(api_app(scheduler)) as client:
            start.wait()
            answers.append(
                client.post("/v1/cases/d1/promises", json=PROMISE, headers=HEADERS)
            )

    threads = [threading.Thread(target=send, args=(s,)) for s in schedulers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert [a.status_code for a in answers] == [201] * len(schedulers)
    assert len({a.text for a in answers}) == 1
    replayed = [a.headers.get("Idempotent-Replayed") for a in answers]
    assert replayed.count(None) == 1
    assert [e.type for e in outbox(engine)].count("promise.recorded") == 1
    for scheduler in schedulers:
        scheduler.engine.dispose()
