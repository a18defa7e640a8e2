"""The collector API on SQLite: commands, their refusals, the timeline, the forecast."""

from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from services.scheduler.http.app import api_app
from services.scheduler.service import Scheduler
from shared.clock import VirtualClock
from shared.http.keys import hash_key
from tests.support.scheduler import (
    at,
    contacts,
    creditor_updated,
    debtor_upserted,
    invoice_issued,
    outbox,
    payment_received,
)

ACME_KEY = "odk_acme-test-key"
OTHER_KEY = "odk_other-test-key"

PROMISE = {"amount": "1200.00", "promised_on": "2026-02-10", "note": "by phone"}
PLAN = {
    "installments": [
        {"due_on": "2026-02-10", "amount": "600.00"},
        {"due_on": "2026-03-10", "amount": "600.00"},
    ]
}
DISPUTE = {"invoice": "INV-1", "reason": "goods damaged"}
NOTE = {"author": "Kim", "text": "called, will pay soon"}
PAUSE = {"until": "2026-02-02"}


@pytest.fixture
def scheduler(engine: Engine, clock: VirtualClock) -> Scheduler:
    scheduler = Scheduler(engine, clock)
    scheduler.follow_creditor(
        creditor_updated(clock.now(), api_key_hashes=[hash_key(ACME_KEY)])
    )
    scheduler.follow_creditor(
        creditor_updated(
            clock.now(), creditor="other", api_key_hashes=[hash_key(OTHER_KEY)]
        )
    )
    scheduler.follow_ledger(debtor_upserted(clock.now()))
    clock.advance_to(at("2026-01-05", "10:00"))
    scheduler.follow_ledger(invoice_issued(clock.now()))
    return scheduler


@pytest.fixture
def client(scheduler: Scheduler) -> TestClient:
    return TestClient(api_app(scheduler))


def overdue(scheduler: Scheduler, clock: VirtualClock, moment: str = "10:00") -> None:
    """Tuesday 20 January: INV-1 is a day overdue, its case open, a reminder sent.

    Nothing woke the scheduler on the 16th: the pre-due reminder's day passed.
    """
    clock.advance_to(at("2026-01-20", moment))
    scheduler.fire_due(clock.now())


def post(
    client: TestClient, path: str, body: Any, key: str | None = ACME_KEY
) -> httpx.Response:
    headers = {"Authorization": f"Bearer {key}"} if key is not None else {}
    return client.post(path, json=body, headers=headers)


def get(client: TestClient, path: str, key: str = ACME_KEY) -> httpx.Response:
    return client.get(path, headers={"Authorization": f"Bearer {key}"})


def types(engine: Engine) -> list[str]:
    return [e.type for e in outbox(engine)]


COMMANDS = [
    ("/v1/cases/d1/promises", PROMISE),
    ("/v1/cases/d1/plans", PLAN),
    ("/v1/cases/d1/disputes", DISPUTE),
    ("/v1/cases/d1/notes", NOTE),
    ("/v1/cases/d1/pause", PAUSE),
    ("/v1/cases/d1/escalate", {}),
]


# -- keys and isolation ---------------------------------------------------------


@pytest.mark.parametrize(("path", "body"), COMMANDS)
def test_a_command_without_a_key_is_a_401(
    client: TestClient, path: str, body: Any
) -> None:
    response = post(client, path, body, key=None)

    assert response.status_code == 401
    assert response.json()["error"]["field"] == "Authorization"


def test_an_unknown_key_is_a_401(client: TestClient) -> None:
    response = get(client, "/v1/cases", key="odk_nobody")

    assert response.status_code == 401


@pytest.mark.parametrize(("path", "body"), COMMANDS)
def test_another_creditors_debtor_is_a_404_not_a_403(
    client: TestClient, scheduler: Scheduler, clock: VirtualClock, path: str, body: Any
) -> None:
    overdue(scheduler, clock)

    response = post(client, path, body, key=OTHER_KEY)

    assert response.status_code == 404
    assert response.json()["error"]["field"] == "debtor"


def test_another_creditors_timeline_is_a_404(client: TestClient) -> None:
    response = get(client, "/v1/cases/d1", key=OTHER_KEY)

    assert response.status_code == 404
    assert response.json()["error"]["field"] == "debtor"


def test_the_key_hashes_come_from_creditor_updated(scheduler: Scheduler) -> None:
    assert scheduler.authenticate(ACME_KEY) == "acme"
    assert scheduler.authenticate(OTHER_KEY) == "other"
    assert scheduler.authenticate("odk_nobody") is None


def test_a_key_dropped_from_creditor_updated_stops_working(
    client: TestClient, scheduler: Scheduler, clock: VirtualClock
) -> None:
    scheduler.follow_creditor(
        creditor_updated(clock.now(), api_key_hashes=[hash_key("odk_acme-new-key")])
    )

    old = get(client, "/v1/cases", key=ACME_KEY)
    new = get(client, "/v1/cases", key="odk_acme-new-key")

    assert old.status_code == 401
    assert new.status_code == 200


def test_a_key_another_creditor_holds_does_not_act_for_a_second_one(
    scheduler: Scheduler, clock: VirtualClock
) -> None:
    scheduler.follow_creditor(
        creditor_updated(
            clock.now(), creditor="third", api_key_hashes=[hash_key(ACME_KEY)]
        )
    )

    assert scheduler.authenticate(ACME_KEY) == "acme"


# -- promises -------------------------------------------------------------------


def test_a_promise_pauses_the_ladder_and_is_confirmed_at_the_next_slot(
    client: TestClient, scheduler: Scheduler, clock: VirtualClock, engine: Engine
) -> None:
    overdue(scheduler, clock)
    clock.advance_to(at("2026-01-20", "18:00"))  # the window has closed

    response = post(client, "/v1/cases/d1/promises", PROMISE)
    before = [c["template"] for c in contacts(engine)]
    scheduler.fire_due(at("2026-01-21", "09:00"))
    confirmed = [c["template"] for c in contacts(engine)]
    scheduler.fire_due(at("2026-02-02", "12:00"))  # "second" would be due by now

    assert response.status_code == 201
    assert response.json()["recorded"] == "promise"
    assert response.json()["id"] == "d1#1/promise-1"
    assert response.json()["state"] == "paused"
    assert before == ["reminder"]
    assert confirmed == ["reminder", "promise_confirmation"]
    assert contacts(engine)[-1]["amount_due"] == "1200.00"
    assert contacts(engine)[-1]["pay_by"] == "2026-02-10"
    assert [c["template"] for c in contacts(engine)] == confirmed
    recorded = [e for e in outbox(engine) if e.type == "promise.recorded"]
    assert [e.data["promise_id"] for e in recorded] == ["d1#1/promise-1"]


def test_a_second_promise_replaces_the_first(
    client: TestClient, scheduler: Scheduler, clock: VirtualClock, engine: Engine
) -> None:
    overdue(scheduler, clock)
    post(client, "/v1/cases/d1/promises", PROMISE)

    response = post(client, "/v1/cases/d1/promises", PROMISE | {"amount": "500.00"})

    recorded = [e.data for e in outbox(engine) if e.type == "promise.recorded"]
    assert response.json()["id"] == "d1#1/promise-2"
    assert recorded[-1]["replaces"] == "d1#1/promise-1"
    promises = get(client, "/v1/cases/d1").json()["promises"]
    assert [p["outcome"] for p in promises] == ["replaced", "active"]


def test_a_promise_without_an_open_case_is_a_409(client: TestClient) -> None:
    response = post(client, "/v1/cases/d1/promises", PROMISE)

    assert response.status_code == 409
    assert response.json()["error"]["field"] == "debtor"


def test_a_promise_on_an_escalated_case_is_a_409(
    client: TestClient, scheduler: Scheduler, clock: VirtualClock
) -> None:
    overdue(scheduler, clock)
    post(client, "/v1/cases/d1/escalate", {"reason": "no answer"})

    response = post(client, "/v1/cases/d1/promises", PROMISE)

    assert response.status_code == 409


def test_a_promise_without_an_amount_is_a_422_naming_it(
    client: TestClient, scheduler: Scheduler, clock: VirtualClock
) -> None:
    overdue(scheduler, clock)

    response = post(client, "/v1/cases/d1/promises", {"promised_on": "2026-02-10"})

    assert response.status_code == 422
    assert response.json()["error"]["field"] == "amount"


def test_a_promise_in_another_currency_is_a_422_naming_it(
    client: TestClient, scheduler: Scheduler, clock: VirtualClock, engine: Engine
) -> None:
    overdue(scheduler, clock)

    response = post(client, "/v1/cases/d1/promises", PROMISE | {"currency": "USD"})

    assert response.status_code == 422
    assert response.json()["error"]["field"] == "currency"
    assert "promise.recorded" not in types(engine)


def test_a_replayed_idempotency_key_records_once(
    client: TestClient, scheduler: Scheduler, clock: VirtualClock, engine: Engine
) -> None:
    overdue(scheduler, clock)
    headers = {"Authorization": f"Bearer {ACME_KEY}", "Idempotency-Key": "k-1"}

    first = client.post("/v1/cases/d1/promises", json=PROMISE, headers=headers)
    again = client.post("/v1/cases/d1/promises", json=PROMISE, headers=headers)
    other = client.post(
        "/v1/cases/d1/promises", json=PROMISE | {"amount": "1.00"}, headers=headers
    )

    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert types(engine).count("promise.recorded") == 1
    assert other.status_code == 409
    assert other.json()["error"]["field"] == "Idempotency-Key"


def test_a_refused_command_keeps_no_idempotency_key(
    client: TestClient, scheduler: Scheduler, clock: VirtualClock, engine: Engine
) -> None:
    headers = {"Authorization": f"Bearer {ACME_KEY}", "Idempotency-Key": "k-2"}
    refused = client.post("/v1/cases/d1/promises", json=PROMISE, headers=headers)
    overdue(scheduler, clock)

    again = client.post("/v1/cases/d1/promises", json=PROMISE, headers=headers)

    assert refused.status_code == 409
    assert again.status_code == 201
    assert "Idempotent-Replayed" not in again.headers
    assert types(engine).count("promise.recorded") == 1


def test_one_idempotency_key_serves_one_creditor_only(
    client: TestClient, scheduler: Scheduler, clock: VirtualClock, engine: Engine
) -> None:
    scheduler.follow_ledger(invoice_issued(clock.now(), debtor="d2", number="INV-2"))
    overdue(scheduler, clock)
    acme = {"Authorization": f"Bearer {ACME_KEY}", "Idempotency-Key": "k-3"}
    other = {"Authorization": f"Bearer {OTHER_KEY}", "Idempotency-Key": "k-3"}
    client.post("/v1/cases/d1/notes", json=NOTE, headers=acme)

    response = client.post("/v1/cases/d1/notes", json=NOTE, headers=other)

    assert response.status_code == 404
    assert "Idempotent-Replayed" not in response.headers


# -- plans ----------------------------------------------------------------------


def test_a_plan_pauses_the_ladder_and_announces_its_installments(
    client: TestClient, scheduler: Scheduler, clock: VirtualClock, engine: Engine
) -> None:
    overdue(scheduler, clock)

    response = post(client, "/v1/cases/d1/plans", PLAN)
    scheduler.fire_due(at("2026-02-06", "12:00"))
    held = [c["template"] for c in contacts(engine)]
    # Three days before 10 February is a Saturday: the reminder waits for Monday.
    scheduler.fire_due(at("2026-02-09", "12:00"))

    assert response.status_code == 201
    assert response.json()["id"] == "d1#1/plan-1"
    assert response.json()["state"] == "paused"
    agreed = [e.data for e in outbox(engine) if e.type == "plan.agreed"]
    assert agreed[0]["installments"][0] == {"due_on": "2026-02-10", "amount": "600.00"}
    assert held == ["reminder"]
    assert [c["template"] for c in contacts(engine)] == [
        "reminder",
        "installment_due",
    ]


def test_a_plan_without_an_open_case_is_a_409(client: TestClient) -> None:
    response = post(client, "/v1/cases/d1/plans", PLAN)

    assert response.status_code == 409


def test_a_plan_out_of_date_order_is_a_422_naming_its_installments(
    client: TestClient, scheduler: Scheduler, clock: VirtualClock
) -> None:
    overdue(scheduler, clock)
    backwards = {"installments": list(reversed(PLAN["installments"]))}

    response = post(client, "/v1/cases/d1/plans", backwards)

    assert response.status_code == 422
    assert response.json()["error"]["field"] == "installments"


# -- disputes -------------------------------------------------------------------


def test_a_dispute_is_acknowledged_and_stops_the_ladder(
    client: TestClient, scheduler: Scheduler, clock: VirtualClock, engine: Engine
) -> None:
    overdue(scheduler, clock)

    response = post(client, "/v1/cases/d1/disputes", DISPUTE)
    scheduler.fire_due(at("2026-02-20", "12:00"))

    assert response.status_code == 201
    assert response.json()["id"] == "d1/dispute-INV-1-1"
    opened = [e.data for e in outbox(engine) if e.type == "dispute.opened"]
    assert opened == [
        {
            "dispute_id": "d1/dispute-INV-1-1",
            "case_id": "d1#1",
            "invoice": "INV-1",
            "reason": "goods damaged",
        }
    ]
    assert [c["template"] for c in contacts(engine)] == [
        "reminder",
        "dispute_ack",
    ]


def test_a_rejected_dispute_lets_the_ladder_go_on(
    client: TestClient, scheduler: Scheduler, clock: VirtualClock, engine: Engine
) -> None:
    overdue(scheduler, clock)
    post(client, "/v1/cases/d1/disputes", DISPUTE)
    clock.advance_to(at("2026-02-02", "10:00"))

    response = post(
        client, "/v1/cases/d1/disputes/INV-1/resolution", {"resolution": "rejected"}
    )

    assert response.status_code == 201
    resolved = [e.data for e in outbox(engine) if e.type == "dispute.resolved"]
    assert resolved[0]["resolution"] == "rejected"
    assert resolved[0]["dispute_id"] == "d1/dispute-INV-1-1"
    # "second" fell due on 29 January while the invoice was disputed: sent now.
    assert contacts(engine)[-1]["template"] == "second"
    timeline = get(client, "/v1/cases/d1").json()
    assert timeline["disputes"][0]["resolution"] == "rejected"
    assert timeline["disputes"][0]["reason"] == "goods damaged"


def test_a_dispute_of_an_unknown_invoice_is_a_404_naming_it(
    client: TestClient,
) -> None:
    response = post(client, "/v1/cases/d1/disputes", DISPUTE | {"invoice": "NOPE"})

    assert response.status_code == 404
    assert response.json()["error"]["field"] == "invoice"


def test_resolving_an_unknown_invoice_is_a_404(client: TestClient) -> None:
    response = post(
        client, "/v1/cases/d1/disputes/NOPE/resolution", {"resolution": "upheld"}
    )

    assert response.status_code == 404
    assert response.json()["error"]["field"] == "invoice"


def test_resolving_an_invoice_without_a_dispute_is_a_409(client: TestClient) -> None:
    response = post(
        client, "/v1/cases/d1/disputes/INV-1/resolution", {"resolution": "upheld"}
    )

    assert response.status_code == 409
    assert response.json()["error"]["field"] == "invoice"


def test_disputing_a_disputed_invoice_again_is_a_409(client: TestClient) -> None:
    post(client, "/v1/cases/d1/disputes", DISPUTE)

    response = post(client, "/v1/cases/d1/disputes", DISPUTE)

    assert response.status_code == 409


def test_a_resolution_that_is_neither_upheld_nor_rejected_is_a_422(
    client: TestClient,
) -> None:
    response = post(
        client, "/v1/cases/d1/disputes/INV-1/resolution", {"resolution": "maybe"}
    )

    assert response.status_code == 422
    assert response.json()["error"]["field"] == "resolution"


def test_a_dispute_without_a_reason_is_a_422_naming_it(client: TestClient) -> None:
    response = post(client, "/v1/cases/d1/disputes", {"invoice": "INV-1"})

    assert response.status_code == 422
    assert response.json()["error"]["field"] == "reason"


# -- notes, pauses, escalation ------------------------------------------------


def test_a_note_goes_with_the_case_and_shows_in_the_timeline(
    client: TestClient, scheduler: Scheduler, clock: VirtualClock
) -> None:
    overdue(scheduler, clock)

    response = post(client, "/v1/cases/d1/notes", NOTE)

    assert response.status_code == 201
    assert response.json()["case_id"] == "d1#1"
    notes = get(client, "/v1/cases/d1").json()["notes"]
    assert [(n["case_id"], n["author"], n["text"]) for n in notes] == [
        ("d1#1", "Kim", "called, will pay soon")
    ]


def test_a_note_before_any_case_is_a_409(client: TestClient) -> None:
    response = post(client, "/v1/cases/d1/notes", NOTE)

    assert response.status_code == 409


def test_a_note_without_an_author_is_a_422_naming_it(client: TestClient) -> None:
    response = post(client, "/v1/cases/d1/notes", {"text": "hello"})

    assert response.status_code == 422
    assert response.json()["error"]["field"] == "author"


def test_a_pause_holds_the_ladder_until_its_date(
    client: TestClient, scheduler: Scheduler, clock: VirtualClock, engine: Engine
) -> None:
    overdue(scheduler, clock)

    response = post(client, "/v1/cases/d1/pause", {"until": "2026-02-09"})
    scheduler.fire_due(at("2026-02-06", "12:00"))
    held = [c["template"] for c in contacts(engine)]
    scheduler.fire_due(at("2026-02-09", "09:00"))

    assert response.status_code == 201
    assert response.json()["state"] == "paused"
    paused = [e.data for e in outbox(engine) if e.type == "case.paused"]
    assert paused == [{"case_id": "d1#1", "until": "2026-02-09", "note": None}]
    assert held == ["reminder"]
    assert contacts(engine)[-1]["template"] == "second"


def test_a_pause_without_an_open_case_is_a_409(client: TestClient) -> None:
    response = post(client, "/v1/cases/d1/pause", PAUSE)

    assert response.status_code == 409


def test_a_pause_until_today_is_a_422_naming_until(
    client: TestClient, scheduler: Scheduler, clock: VirtualClock
) -> None:
    overdue(scheduler, clock)

    response = post(client, "/v1/cases/d1/pause", {"until": "2026-01-20"})

    assert response.status_code == 422
    assert response.json()["error"]["field"] == "until"


def test_a_pause_with_no_date_is_a_422_naming_until(client: TestClient) -> None:
    response = post(client, "/v1/cases/d1/pause", {"until": "soon"})

    assert response.status_code == 422
    assert response.json()["error"]["field"] == "until"


def test_escalation_hands_the_case_file_to_the_agency(
    client: TestClient, scheduler: Scheduler, clock: VirtualClock, engine: Engine
) -> None:
    overdue(scheduler, clock)
    post(client, "/v1/cases/d1/notes", NOTE)

    response = post(client, "/v1/cases/d1/escalate", {"reason": "no answer"})

    assert response.status_code == 201
    assert response.json()["state"] == "escalated"
    escalated = [e.data for e in outbox(engine) if e.type == "case.escalated"]
    assert escalated[0]["trigger"] == "collector"
    assert escalated[0]["case_file"]["notes"][0]["author"] == "Kim"


def test_the_case_file_gives_each_dispute_its_reason_and_its_id(
    client: TestClient, scheduler: Scheduler, clock: VirtualClock, engine: Engine
) -> None:
    scheduler.follow_ledger(invoice_issued(clock.now(), number="INV-2"))
    overdue(scheduler, clock)
    price = post(
        client, "/v1/cases/d1/disputes", {"invoice": "INV-2", "reason": "price"}
    )
    post(client, "/v1/cases/d1/disputes/INV-2/resolution", {"resolution": "rejected"})
    again = post(
        client, "/v1/cases/d1/disputes", {"invoice": "INV-2", "reason": "late"}
    )
    damaged = post(client, "/v1/cases/d1/disputes", DISPUTE)

    post(client, "/v1/cases/d1/escalate", {})

    [escalated] = [e.data for e in outbox(engine) if e.type == "case.escalated"]
    disputes = escalated["case_file"]["disputes"]
    assert [(d["dispute_id"], d["reason"]) for d in disputes] == [
        (price.json()["id"], "price"),
        (again.json()["id"], "late"),
        (damaged.json()["id"], "goods damaged"),
    ]
    assert damaged.json()["id"] == "d1/dispute-INV-1-1"


def test_escalation_without_an_open_case_is_a_409(client: TestClient) -> None:
    response = post(client, "/v1/cases/d1/escalate", {})

    assert response.status_code == 409


def test_an_escalation_body_that_is_not_json_is_a_422(client: TestClient) -> None:
    response = client.post(
        "/v1/cases/d1/escalate",
        content=b"{not json",
        headers={
            "Authorization": f"Bearer {ACME_KEY}",
            "Content-Type": "application/json",
        },
    )

    assert response.status_code == 422
    assert response.json()["error"]["field"] == "body"


# -- reading --------------------------------------------------------------------


def test_the_list_of_cases_filters_by_state_and_stage(
    client: TestClient, scheduler: Scheduler, clock: VirtualClock
) -> None:
    scheduler.follow_ledger(debtor_upserted(clock.now(), debtor="d2"))
    scheduler.follow_ledger(invoice_issued(clock.now(), debtor="d2", number="INV-2"))
    overdue(scheduler, clock)
    post(client, "/v1/cases/d2/promises", PROMISE)

    everything = get(client, "/v1/cases").json()
    paused = get(client, "/v1/cases?state=paused").json()
    second = get(client, "/v1/cases?state=open&stage=second").json()
    final = get(client, "/v1/cases?stage=final").json()
    refused = get(client, "/v1/cases?state=sleeping")

    assert [(c["debtor"], c["state"]) for c in everything] == [
        ("d1", "open"),
        ("d2", "paused"),
    ]
    assert everything[0] == {
        "debtor": "d1",
        "case_id": "d1#1",
        "state": "open",
        "next_stage": "second",
        "currency": "EUR",
        "amount_overdue": "1200.00",
        "next_moment": "2026-01-29T08:00:00Z",
        "flagged": False,
    }
    assert [c["debtor"] for c in paused] == ["d2"]
    assert [c["debtor"] for c in second] == ["d1"]
    assert final == []
    assert refused.status_code == 422
    assert refused.json()["error"]["field"] == "state"


def test_the_list_of_cases_comes_a_page_at_a_time_by_debtor(
    client: TestClient, scheduler: Scheduler, clock: VirtualClock
) -> None:
    for n in range(2, 6):
        scheduler.follow_ledger(invoice_issued(clock.now(), debtor=f"d{n}"))
    overdue(scheduler, clock)

    pages = [get(client, "/v1/cases?state=open&limit=2")]
    while "Link" in pages[-1].headers:
        following = pages[-1].headers["Link"].split(">")[0].removeprefix("<")
        pages.append(get(client, following))

    assert [[c["debtor"] for c in page.json()] for page in pages] == [
        ["d1", "d2"],
        ["d3", "d4"],
        ["d5"],
    ]
    assert pages[0].headers["Link"] == (
        '</v1/cases?state=open&limit=2&after=d2>; rel="next"'
    )


def test_a_debtor_before_its_first_case_is_not_listed(
    client: TestClient, scheduler: Scheduler, clock: VirtualClock
) -> None:
    scheduler.follow_ledger(invoice_issued(clock.now(), debtor="d2", due="2026-03-02"))
    overdue(scheduler, clock)

    listed = get(client, "/v1/cases?limit=1").json()
    rest = get(client, "/v1/cases?after=d1").json()

    assert [c["debtor"] for c in listed] == ["d1"]
    assert rest == []


def test_a_case_resolved_by_payment_is_listed_as_resolved(
    client: TestClient, scheduler: Scheduler, clock: VirtualClock
) -> None:
    overdue(scheduler, clock)
    clock.advance_to(at("2026-01-21", "10:00"))
    scheduler.follow_ledger(payment_received(clock.now()))

    resolved = get(client, "/v1/cases?state=resolved").json()
    still_open = get(client, "/v1/cases?state=open").json()

    assert [(c["debtor"], c["next_stage"]) for c in resolved] == [("d1", None)]
    assert still_open == []


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("limit=0", "limit"),
        ("limit=501", "limit"),
        ("limit=many", "limit"),
        ("after=", "after"),
        (f"stage={'x' * 101}", "stage"),
    ],
)
def test_a_list_of_cases_with_a_bad_parameter_is_a_422_naming_it(
    client: TestClient, query: str, field: str
) -> None:
    response = get(client, f"/v1/cases?{query}")

    assert response.status_code == 422
    assert response.json()["error"]["field"] == field


def test_the_list_of_cases_reads_every_chunk(
    scheduler: Scheduler, clock: VirtualClock
) -> None:
    for n in range(2, 6):
        scheduler.follow_ledger(invoice_issued(clock.now(), debtor=f"d{n}"))
    overdue(scheduler, clock)

    read = [row.debtor_id for row, _ in scheduler._collections("acme", chunk=2)]

    assert read == ["d1", "d2", "d3", "d4", "d5"]
    assert len(scheduler.cases("acme").cases) == 5


def test_the_timeline_shows_invoices_payments_contacts_and_commitments(
    client: TestClient, scheduler: Scheduler, clock: VirtualClock
) -> None:
    overdue(scheduler, clock)
    post(client, "/v1/cases/d1/promises", PROMISE)
    clock.advance_to(at("2026-01-22", "10:00"))
    scheduler.follow_ledger(
        payment_received(clock.now(), amount="200.00", balance_after="1000.00")
    )

    response = get(client, "/v1/cases/d1")

    timeline = response.json()
    assert response.status_code == 200
    assert timeline["details"]["name"] == "Beta GmbH"
    assert timeline["case"]["case_id"] == "d1#1"
    assert timeline["case"]["state"] == "paused"
    assert timeline["amount_overdue"] == "1000.00"
    assert timeline["invoices"] == [
        {
            "number": "INV-1",
            "currency": "EUR",
            "amount": "1200.00",
            "balance": "1000.00",
            "issued_on": "2026-01-05",
            "due_on": "2026-01-19",
            "status": "open",
            "overdue": True,
        }
    ]
    assert [(p["amount"], p["received_on"]) for p in timeline["payments"]] == [
        ("200.00", "2026-01-22")
    ]
    assert [c["template"] for c in timeline["contacts"]] == [
        "reminder",
        "promise_confirmation",
    ]
    assert timeline["promises"][0]["promise_id"] == "d1#1/promise-1"
    assert timeline["promises"][0]["outcome"] == "active"
    assert timeline["promises"][0]["note"] == "by phone"
    assert [c["case_id"] for c in timeline["cases"]] == ["d1#1"]


def test_a_broken_promise_shows_as_broken_in_the_timeline(
    client: TestClient, scheduler: Scheduler, clock: VirtualClock, engine: Engine
) -> None:
    overdue(scheduler, clock)
    post(client, "/v1/cases/d1/promises", PROMISE)

    scheduler.fire_due(at("2026-02-11", "09:00"))

    clock.advance_to(at("2026-02-11", "10:00"))
    promises = get(client, "/v1/cases/d1").json()["promises"]
    assert [p["outcome"] for p in promises] == ["broken"]
    assert contacts(engine)[-1]["template"] == "promise_broken"


def test_an_unknown_debtors_timeline_is_a_404(client: TestClient) -> None:
    response = get(client, "/v1/cases/nobody")

    assert response.status_code == 404


def test_the_forecast_lists_the_stages_the_ladder_would_send(
    client: TestClient, scheduler: Scheduler, clock: VirtualClock
) -> None:
    overdue(scheduler, clock)

    response = get(client, "/v1/forecast?days=30")

    items = response.json()["items"]
    assert response.status_code == 200
    assert [(i["template"], i["at"]) for i in items] == [
        ("second", "2026-01-29T08:00:00Z"),
        ("final", "2026-02-09T08:00:00Z"),
    ]
    assert items[0]["action"] == "contact"
    assert items[0]["amount_due"] == "1200.00"


def test_the_forecast_reaches_the_escalation_in_a_longer_window(
    client: TestClient, scheduler: Scheduler, clock: VirtualClock
) -> None:
    overdue(scheduler, clock)

    items = get(client, "/v1/forecast?days=60").json()["items"]

    assert [(i["action"], i["template"]) for i in items] == [
        ("contact", "second"),
        ("contact", "final"),
        ("escalate", "agency"),
    ]


def test_the_forecast_changes_nothing(
    client: TestClient, scheduler: Scheduler, clock: VirtualClock, engine: Engine
) -> None:
    overdue(scheduler, clock)
    before = outbox(engine)

    get(client, "/v1/forecast?days=60")

    assert outbox(engine) == before
    assert scheduler.cases("acme").cases[0].next_stage == "second"


def test_a_forecast_of_no_days_is_a_422_naming_days(client: TestClient) -> None:
    response = get(client, "/v1/forecast?days=0")

    assert response.status_code == 422
    assert response.json()["error"]["field"] == "days"


def test_the_api_is_documented_with_its_answers(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]

    promise = paths["/v1/cases/{debtor}/promises"]["post"]["responses"]
    assert {"201", "401", "404", "409", "422"} <= set(promise)
    assert "/v1/forecast" in paths
    assert "/v1/cases/{debtor}" in paths


def test_a_debtor_id_with_a_slash_is_one_path_segment_too(
    client: TestClient, scheduler: Scheduler, clock: VirtualClock
) -> None:
    scheduler.follow_ledger(invoice_issued(clock.now(), debtor="K/7", number="INV-7"))
    overdue(scheduler, clock)

    noted = post(client, "/v1/cases/K/7/notes", NOTE)
    disputed = post(client, "/v1/cases/K%2F7/disputes", DISPUTE | {"invoice": "INV-7"})
    resolved = post(
        client, "/v1/cases/K/7/disputes/INV-7/resolution", {"resolution": "rejected"}
    )
    timeline = get(client, "/v1/cases/K/7")

    assert noted.status_code == disputed.status_code == resolved.status_code == 201
    assert noted.json()["case_id"] == "K/7#1"
    assert timeline.json()["debtor"] == "K/7"
