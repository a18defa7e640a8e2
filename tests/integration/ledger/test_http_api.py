"""The ledger's `/v1` API on SQLite and the real PostgreSQL, and its relay on Kafka."""

import asyncio
import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from uuid import uuid4

import httpx
import pytest
import yaml
from aiokafka import AIOKafkaConsumer
from fastapi.testclient import TestClient
from sqlmodel import Session, delete

from services.ledger.adapters.tables import IdempotencyKeyRow
from services.ledger.http.app import api_app, create_http
from services.ledger.service import Ledger
from services.ledger.settings import LedgerSettings
from shared.clock import SystemClock
from shared.db.engine import make_engine
from shared.topics import LEDGER_CREDITORS, LEDGER_EVENTS
from tests.support.ledger import (
    BACKENDS,
    PROFILE,
    database_url,
    migrated_ledger,
    outbox,
    outbox_types,
)

pytestmark = pytest.mark.integration

DATA = Path(__file__).parents[2] / "data" / "csv"
POLICIES = Path(__file__).parents[3] / "policies"

DEBTOR = {"id": "d1", "name": "Beta GmbH", "email": "ap@beta.example"}
INVOICE = {
    "debtor": "d1",
    "number": "INV-1",
    "issued_on": "2026-01-05",
    "due_on": "2026-01-19",
    "currency": "EUR",
    "amount": "1200.00",
}
PAYMENT = {
    "debtor": "d1",
    "payment_id": "P-1",
    "currency": "EUR",
    "amount": "200.00",
    "received_on": "2026-01-20",
    "invoice": "INV-1",
}


@dataclass
class Api:
    ledger: Ledger
    client: TestClient
    acme: str
    acme_key: str
    other: str
    other_key: str

    def post(
        self, path: str, body: Any, *, key: str | None = None, as_other: bool = False
    ) -> httpx.Response:
        headers = self.auth(as_other)
        if key is not None:
            headers["Idempotency-Key"] = key
        return self.client.post(path, json=body, headers=headers)

    def get(self, path: str, *, as_other: bool = False) -> httpx.Response:
        return self.client.get(path, headers=self.auth(as_other))

    def put(self, path: str, body: Any) -> httpx.Response:
        return self.client.put(path, json=body, headers=self.auth(False))

    def auth(self, as_other: bool) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {self.other_key if as_other else self.acme_key}"
        }

    def facts(self) -> list[str]:
        return outbox_types(self.ledger, LEDGER_EVENTS.name)


@pytest.fixture(params=BACKENDS)
def api(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Api]:
    with migrated_ledger(request.param, tmp_path) as ledger:
        acme, acme_key = ledger.add_creditor(PROFILE, creditor_id="acme")
        other, other_key = ledger.add_creditor(PROFILE, creditor_id="other")
        with TestClient(api_app(ledger)) as client:
            yield Api(ledger, client, acme, acme_key, other, other_key)


@pytest.fixture
def billed(api: Api) -> Api:
    """acme's debtor d1 owes invoice INV-1 over 1200.00 EUR."""
    assert api.post("/v1/debtors", DEBTOR).status_code == 201
    assert api.post("/v1/invoices", INVOICE).status_code == 201
    return api


def error_of(response: httpx.Response) -> dict[str, Any]:
    error: dict[str, Any] = response.json()["error"]
    return error


# -- recording and reading -----------------------------------------------------


def test_a_debtor_posted_is_answered_and_can_be_read_back(api: Api) -> None:
    created = api.post("/v1/debtors", DEBTOR)

    read = api.get("/v1/debtors/d1")

    assert created.status_code == 201
    assert created.json()["name"] == "Beta GmbH"
    assert "Idempotent-Replayed" not in created.headers
    assert read.status_code == 200
    assert read.json() == created.json()
    assert api.facts() == ["debtor.upserted"]


def test_a_debtor_id_is_any_one_line_text_as_on_the_topic(api: Api) -> None:
    created = api.post("/v1/debtors", {**DEBTOR, "id": "D-1001.A"})
    refused = api.post("/v1/debtors", {**DEBTOR, "id": "two\nlines"})

    assert created.status_code == 201
    assert api.get("/v1/debtors/D-1001.A").json()["debtor"] == "D-1001.A"
    assert refused.status_code == 422
    assert error_of(refused)["field"] == "id"


def test_ids_and_numbers_with_a_slash_can_be_read_and_written_off(api: Api) -> None:
    api.post("/v1/debtors", {**DEBTOR, "id": "K/1001"})
    api.post("/v1/invoices", {**INVOICE, "debtor": "K/1001", "number": "RE/2026/1"})

    debtor = api.get("/v1/debtors/K%2F1001")
    statement = api.get("/v1/debtors/K/1001/statement")
    invoice = api.get("/v1/invoices/RE/2026/1")
    written_off = api.post(
        "/v1/invoices/RE%2F2026%2F1/write-off", {"written_off_on": "2026-03-01"}
    )

    assert debtor.json()["debtor"] == "K/1001"
    assert statement.json()["open_items"][0]["number"] == "RE/2026/1"
    assert invoice.json()["number"] == "RE/2026/1"
    assert written_off.status_code == 201
    assert written_off.json()["status"] == "written_off"


def test_posting_a_debtor_again_replaces_its_details(api: Api) -> None:
    api.post("/v1/debtors", DEBTOR)

    api.post("/v1/debtors", {**DEBTOR, "name": "Beta AG"})

    assert api.get("/v1/debtors/d1").json()["name"] == "Beta AG"


def test_an_invoice_is_answered_with_its_balance(billed: Api) -> None:
    invoice = billed.get("/v1/invoices/INV-1")

    assert invoice.status_code == 200
    assert invoice.json()["balance"] == "1200.00"
    assert invoice.json()["status"] == "open"


def test_a_payment_answers_with_the_statement_after_it(billed: Api) -> None:
    paid = billed.post("/v1/payments", PAYMENT)

    assert paid.status_code == 201
    statement = paid.json()
    assert statement["open_items"][0]["balance"] == "1000.00"
    assert statement["payments"][0]["payment_id"] == "P-1"
    assert statement["balances"] == [
        {"currency": "EUR", "open_balance": "1000.00", "unallocated_credit": "0.00"}
    ]
    assert billed.get("/v1/debtors/d1/statement").json() == statement


def test_a_credit_note_reduces_the_invoice_it_names(billed: Api) -> None:
    note = {
        "debtor": "d1",
        "number": "CN-1",
        "issued_on": "2026-01-10",
        "currency": "EUR",
        "amount": "100.00",
        "invoice": "INV-1",
    }

    credited = billed.post("/v1/credit-notes", note)

    assert credited.status_code == 201
    assert credited.json()["open_items"][0]["balance"] == "1100.00"
    assert billed.facts()[-1] == "invoice.adjusted"


def test_a_write_off_closes_the_invoice(billed: Api) -> None:
    written_off = billed.post(
        "/v1/invoices/INV-1/write-off",
        {"written_off_on": "2026-03-01", "reason": "insolvent"},
    )

    assert written_off.status_code == 201
    assert written_off.json()["status"] == "written_off"
    assert billed.get("/v1/debtors/d1/statement").json()["open_items"] == []
    assert billed.facts()[-1] == "invoice.written_off"


# -- authentication and isolation ------------------------------------------------


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer not-a-key"}])
def test_a_request_without_a_valid_key_is_401_naming_the_header(
    api: Api, headers: dict[str, str]
) -> None:
    response = api.client.get("/v1/debtors/d1", headers=headers)

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert error_of(response)["field"] == "Authorization"


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer not-a-key"}])
def test_a_body_without_a_valid_key_is_401_even_when_it_is_not_json(
    api: Api, headers: dict[str, str]
) -> None:
    response = api.client.post(
        "/v1/invoices",
        content=b"{not json",
        headers={**headers, "Content-Type": "application/json"},
    )

    assert response.status_code == 401
    assert error_of(response)["field"] == "Authorization"


@pytest.mark.parametrize(
    "path", ["/v1/debtors/d1", "/v1/debtors/d1/statement", "/v1/invoices/INV-1"]
)
def test_another_creditors_records_are_not_found(billed: Api, path: str) -> None:
    theirs = billed.get(path, as_other=True)
    missing = billed.get(path.replace("d1", "nobody").replace("INV-1", "INV-404"))

    assert theirs.status_code == 404
    assert theirs.json() == missing.json()


def test_another_creditor_cannot_write_off_or_pay_what_is_not_theirs(
    billed: Api,
) -> None:
    write_off = billed.post(
        "/v1/invoices/INV-1/write-off",
        {"written_off_on": "2026-03-01"},
        as_other=True,
    )
    payment = billed.post("/v1/payments", PAYMENT, as_other=True)

    assert write_off.status_code == 404
    assert error_of(write_off)["field"] == "number"
    assert payment.status_code == 422
    assert error_of(payment)["field"] == "debtor"
    assert billed.get("/v1/invoices/INV-1").json()["status"] == "open"


def test_the_same_debtor_id_under_two_creditors_is_two_debtors(api: Api) -> None:
    api.post("/v1/debtors", DEBTOR)
    api.post("/v1/debtors", {**DEBTOR, "name": "Someone else"}, as_other=True)

    assert api.get("/v1/debtors/d1").json()["name"] == "Beta GmbH"
    assert api.get("/v1/debtors/d1", as_other=True).json()["name"] == "Someone else"


# -- bad input -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"amount": "-5"}, "amount"),
        ({"amount": "12.345"}, "amount"),
        ({"amount": 12.5}, "amount"),
        ({"due_on": "2026-01-01"}, "due_on"),
        ({"currency": "EURO"}, "currency"),
        ({"colour": "red"}, "colour"),
        ({"number": None}, "number"),
    ],
)
def test_a_malformed_invoice_is_422_naming_the_field(
    billed: Api, change: dict[str, Any], field: str
) -> None:
    response = billed.post("/v1/invoices", {**INVOICE, "number": "INV-2", **change})

    assert response.status_code == 422
    assert error_of(response)["field"] == field
    assert error_of(response)["message"]
    assert billed.facts() == ["debtor.upserted", "invoice.issued"]


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/v1/payments", {**PAYMENT, "amount": "0"}, "amount"),
        ("/v1/payments", {**PAYMENT, "currency": "USD"}, "currency"),
        ("/v1/payments", {**PAYMENT, "invoice": "INV-404"}, "invoice"),
        ("/v1/payments", {**PAYMENT, "debtor": "nobody"}, "debtor"),
        ("/v1/invoices", {**INVOICE, "number": "INV-2", "debtor": "nobody"}, "debtor"),
        (
            "/v1/credit-notes",
            {
                "debtor": "d1",
                "number": "CN-1",
                "issued_on": "2026-01-10",
                "currency": "EUR",
                "amount": "5000.00",
                "invoice": "INV-1",
            },
            "amount",
        ),
        ("/v1/debtors", {**DEBTOR, "email": "not an address"}, "email"),
        ("/v1/debtors", {"name": "No id"}, "id"),
    ],
)
def test_a_fact_the_ledger_refuses_is_422_and_records_nothing(
    billed: Api, path: str, body: dict[str, Any], field: str
) -> None:
    before = outbox(billed.ledger)

    response = billed.post(path, body)

    assert response.status_code == 422
    assert error_of(response)["field"] == field
    assert outbox(billed.ledger) == before


def test_an_invoice_number_used_twice_is_a_409(billed: Api) -> None:
    response = billed.post("/v1/invoices", INVOICE)

    assert response.status_code == 409
    assert error_of(response)["field"] == "number"


def test_writing_off_twice_is_409_but_a_replayed_key_is_not(billed: Api) -> None:
    body = {"written_off_on": "2026-03-01"}
    first = billed.post("/v1/invoices/INV-1/write-off", body, key="wo")

    replayed = billed.post("/v1/invoices/INV-1/write-off", body, key="wo")
    again = billed.post("/v1/invoices/INV-1/write-off", body)

    assert replayed.status_code == 201
    assert replayed.json() == first.json()
    assert again.status_code == 409
    assert error_of(again)["field"] == "number"
    assert billed.facts().count("invoice.written_off") == 1


def test_writing_off_an_unknown_invoice_is_404(billed: Api) -> None:
    response = billed.post(
        "/v1/invoices/INV-404/write-off", {"written_off_on": "2026-03-01"}
    )

    assert response.status_code == 404
    assert error_of(response) == {
        "field": "number",
        "message": "no such invoice for this creditor",
    }


def test_a_body_that_is_not_json_is_422(api: Api) -> None:
    response = api.client.post(
        "/v1/debtors",
        content=b"{not json",
        headers={**api.auth(False), "Content-Type": "application/json"},
    )

    assert response.status_code == 422
    assert error_of(response)["field"] == "body"
    assert error_of(response)["message"].startswith("is not valid JSON")


def test_an_unknown_route_answers_with_the_error_body(api: Api) -> None:
    response = api.get("/v1/nothing-here")

    assert response.status_code == 404
    assert error_of(response)["message"] == "Not Found"


# -- idempotency ---------------------------------------------------------------


def test_a_replayed_key_answers_the_first_response_and_records_nothing(
    billed: Api,
) -> None:
    first = billed.post("/v1/payments", PAYMENT, key="pay-1")
    billed.post("/v1/invoices", {**INVOICE, "number": "INV-2"})

    again = billed.post("/v1/payments", PAYMENT, key="pay-1")

    assert again.status_code == first.status_code == 201
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert billed.facts().count("payment.received") == 1


def test_a_key_reused_with_another_body_is_409_naming_the_header(
    billed: Api,
) -> None:
    billed.post("/v1/payments", PAYMENT, key="pay-1")

    other = billed.post("/v1/payments", {**PAYMENT, "amount": "300.00"}, key="pay-1")
    elsewhere = billed.post("/v1/debtors", DEBTOR, key="pay-1")

    assert other.status_code == elsewhere.status_code == 409
    assert error_of(other)["field"] == "Idempotency-Key"
    assert billed.facts().count("payment.received") == 1


def test_a_key_whose_response_was_lost_records_nothing_the_second_time(
    billed: Api,
) -> None:
    # The fact was recorded but the process died before storing the response:
    # the envelope id derived from the key still makes the retry a replay.
    first = billed.post("/v1/payments", PAYMENT, key="pay-1")
    with Session(billed.ledger.engine) as session:
        session.exec(delete(IdempotencyKeyRow))  # type: ignore[call-overload]
        session.commit()

    again = billed.post("/v1/payments", PAYMENT, key="pay-1")

    assert again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert billed.facts().count("payment.received") == 1


def test_the_same_key_sent_at_once_records_once(billed: Api) -> None:
    with ThreadPoolExecutor(max_workers=8) as pool:
        responses = list(
            pool.map(lambda _: billed.post("/v1/payments", PAYMENT, key="p"), range(8))
        )

    assert {response.status_code for response in responses} == {201}
    assert len({response.text for response in responses}) == 1
    assert billed.facts().count("payment.received") == 1


def test_the_same_key_of_two_creditors_is_two_requests(billed: Api) -> None:
    billed.post("/v1/debtors", DEBTOR, as_other=True)

    ours = billed.post("/v1/debtors", {**DEBTOR, "id": "d2"}, key="k")
    theirs = billed.post("/v1/debtors", {**DEBTOR, "id": "d2"}, key="k", as_other=True)

    assert ours.status_code == theirs.status_code == 201
    assert "Idempotent-Replayed" not in theirs.headers


def test_a_refused_request_can_be_corrected_under_the_same_key(billed: Api) -> None:
    refused = billed.post("/v1/payments", {**PAYMENT, "currency": "USD"}, key="p")

    accepted = billed.post("/v1/payments", PAYMENT, key="p")

    assert refused.status_code == 422
    assert accepted.status_code == 201
    assert "Idempotent-Replayed" not in accepted.headers


# -- CSV import ------------------------------------------------------------------


def import_csv(api: Api, data: bytes, key: str | None = None) -> httpx.Response:
    headers = {**api.auth(False), "Content-Type": "text/csv"}
    if key is not None:
        headers["Idempotency-Key"] = key
    return api.client.post("/v1/imports", content=data, headers=headers)


def test_a_csv_file_is_imported_whole(api: Api) -> None:
    imported = import_csv(api, (DATA / "good-utf8-comma.csv").read_bytes())

    assert imported.status_code == 201
    assert imported.json() == {"recorded": 6, "duplicates": 0}
    assert api.get("/v1/invoices/RE-2026-001").json()["balance"] == "1034.56"


def test_importing_the_same_file_again_records_nothing_new(api: Api) -> None:
    data = (DATA / "good-utf8-comma.csv").read_bytes()
    import_csv(api, data)

    again = import_csv(api, data)

    assert again.status_code == 201
    assert again.json() == {"recorded": 0, "duplicates": 6}
    assert api.facts().count("invoice.issued") == 2


def test_an_import_replayed_under_its_key_answers_the_first_response(
    api: Api,
) -> None:
    data = (DATA / "good-utf8-comma.csv").read_bytes()
    first = import_csv(api, data, key="file-1")

    again = import_csv(api, data, key="file-1")
    other = import_csv(api, (DATA / "good-tab.tsv").read_bytes(), key="file-1")

    assert again.json() == first.json() == {"recorded": 6, "duplicates": 0}
    assert again.headers["Idempotent-Replayed"] == "true"
    assert other.status_code == 409


def test_a_bad_file_lists_every_bad_line_and_records_nothing(api: Api) -> None:
    before = outbox(api.ledger)

    refused = import_csv(api, (DATA / "bad-mixed.csv").read_bytes())

    assert refused.status_code == 422
    error = error_of(refused)
    lines = {problem["line"] for problem in error["problems"]}
    assert len(lines) >= 5
    first = error["problems"][0]
    assert error["field"].startswith(f"line {first['line']}")
    assert all(problem["message"] for problem in error["problems"])
    assert outbox(api.ledger) == before


def test_a_file_the_ledger_refuses_names_the_line(billed: Api) -> None:
    data = (
        b"record,debtor_id,invoice_number,issue_date,due_date,currency,amount\n"
        b"invoice,d1,INV-1,2026-01-05,2026-01-19,EUR,10.00\n"
    )

    refused = import_csv(billed, data)

    assert refused.status_code == 422
    assert error_of(refused)["field"] == "line 2, invoice_number"
    assert error_of(refused)["problems"] == [
        {
            "line": 2,
            "column": "invoice_number",
            "message": "an invoice with this number exists already",
        }
    ]


def test_a_file_uploaded_as_a_form_is_imported_like_a_plain_body(api: Api) -> None:
    data = (DATA / "good-utf8-comma.csv").read_bytes()

    posted = api.client.post(
        "/v1/imports", files={"file": ("open-items.csv", data)}, headers=api.auth(False)
    )

    assert posted.status_code == 201
    assert posted.json()["recorded"] > 0


def test_a_form_without_a_file_is_422_naming_the_file(api: Api) -> None:
    refused = api.client.post(
        "/v1/imports", files={"other": ("notes.txt", b"x")}, headers=api.auth(False)
    )

    assert refused.status_code == 422
    assert error_of(refused)["field"] == "file"
    assert api.facts() == []


def test_an_empty_import_is_422_naming_the_file(api: Api) -> None:
    refused = import_csv(api, b"")

    assert refused.status_code == 422
    assert error_of(refused)["field"] == "file"


# -- the creditor ---------------------------------------------------------------


def test_a_profile_put_is_published_for_the_other_services(api: Api) -> None:
    profile = PROFILE.model_dump(mode="json") | {"legal_name": "ACME Holding GmbH"}

    response = api.put("/v1/creditor", profile)

    assert response.status_code == 204
    [*_, published] = outbox(api.ledger, LEDGER_CREDITORS.name)
    assert published["creditor"] == "acme"
    assert published["data"]["legal_name"] == "ACME Holding GmbH"


def test_a_bad_profile_is_422_naming_the_field(api: Api) -> None:
    profile = PROFILE.model_dump(mode="json") | {"currency": "EURO"}

    response = api.put("/v1/creditor", profile)

    assert response.status_code == 422
    assert error_of(response)["field"] == "currency"


def test_a_valid_policy_is_kept_and_published(api: Api) -> None:
    policy = yaml.safe_load((POLICIES / "standard-b2b.yaml").read_text())
    before = len(outbox(api.ledger, LEDGER_CREDITORS.name))

    response = api.put("/v1/creditor/policy", policy)

    assert response.status_code == 204
    published = outbox(api.ledger, LEDGER_CREDITORS.name)
    assert len(published) == before + 1
    assert published[-1]["type"] == "creditor.updated"
    assert published[-1]["data"]["policy"]["name"] == "standard-b2b"


def test_an_invalid_policy_is_422_listing_each_problem_by_path(api: Api) -> None:
    policy = yaml.safe_load((POLICIES / "standard-b2b.yaml").read_text())
    policy["min_gap_days"] = -1
    policy["ladder"][0]["channels"] = ["pigeon"]
    before = outbox(api.ledger)

    response = api.put("/v1/creditor/policy", policy)

    assert response.status_code == 422
    paths = [problem["field"] for problem in error_of(response)["problems"]]
    assert "min_gap_days" in paths
    assert any(path.startswith("ladder[0]") for path in paths)
    assert outbox(api.ledger) == before


# -- the OpenAPI document ---------------------------------------------------------


def test_the_openapi_document_shows_every_route_with_auth_and_errors(
    api: Api,
) -> None:
    document = api.client.get("/openapi.json").json()
    docs = api.client.get("/docs")

    paths = document["paths"]
    assert docs.status_code == 200
    assert set(paths) >= {
        "/v1/debtors",
        "/v1/invoices",
        "/v1/payments",
        "/v1/credit-notes",
        "/v1/invoices/{number}/write-off",
        "/v1/imports",
        "/v1/debtors/{debtor_id}",
        "/v1/debtors/{debtor_id}/statement",
        "/v1/invoices/{number}",
        "/v1/creditor",
        "/v1/creditor/policy",
    }
    assert "HTTPBearer" in document["components"]["securitySchemes"]
    for path, operations in paths.items():
        for method, operation in operations.items():
            assert operation["security"] == [{"HTTPBearer": []}], (path, method)
            assert "401" in operation["responses"], (path, method)
            if method == "post":
                headers = [
                    p["name"] for p in operation["parameters"] if p["in"] == "header"
                ]
                assert headers == ["Idempotency-Key"], path
                assert "201" in operation["responses"], path
                assert "requestBody" in operation, path
    refusal = paths["/v1/invoices"]["post"]["responses"]["422"]
    assert refusal["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ErrorBody"
    }
    assert "text/csv" in paths["/v1/imports"]["post"]["requestBody"]["content"]


# -- the whole process, on Kafka ------------------------------------------------------


@pytest.mark.usefixtures("kafka_topics")
@pytest.mark.parametrize("relay", ["process", "in-process"])
async def test_a_posted_fact_reaches_ledger_events_through_the_relay(
    tmp_path: Path, kafka_bootstrap: str, relay: Literal["process", "in-process"]
) -> None:
    creditor = f"acme-{uuid4().hex[:8]}"
    with database_url("postgresql", tmp_path) as url:
        settings = LedgerSettings(
            database_url=url,
            kafka_bootstrap_servers=kafka_bootstrap,
            consumer_group=f"overdue-ledger-test-{uuid4()}",
            relay=relay,
        )
        app = create_http(settings)
        engine = make_engine(url)
        _, key = Ledger(engine, SystemClock()).add_creditor(
            PROFILE, creditor_id=creditor
        )
        engine.dispose()

        reader = AIOKafkaConsumer(
            LEDGER_EVENTS.name,
            bootstrap_servers=kafka_bootstrap,
            auto_offset_reset="latest",
            enable_auto_commit=False,
            group_id=f"overdue-http-test-{uuid4()}",
        )
        await reader.start()
        try:
            await _wait_for_assignment(reader)
            async with app.router.lifespan_context(app):
                transport = httpx.ASGITransport(app=app)
                async with httpx.AsyncClient(
                    transport=transport, base_url="http://ledger"
                ) as client:
                    posted = await client.post(
                        "/v1/debtors",
                        json=DEBTOR,
                        headers={"Authorization": f"Bearer {key}"},
                    )
                    assert posted.status_code == 201
                    envelope = await _first_of(reader, f"{creditor}/d1")
        finally:
            await reader.stop()

    assert envelope["type"] == "debtor.upserted"
    assert envelope["data"]["name"] == "Beta GmbH"
    assert envelope["creditor"] == creditor


async def _wait_for_assignment(reader: AIOKafkaConsumer) -> None:
    deadline = time.monotonic() + 30
    while not reader.assignment():
        if time.monotonic() > deadline:
            pytest.fail("the reader got no partitions of ledger.events")
        await reader.getmany(timeout_ms=200)
    # Pin the start before anything is produced: "latest" is resolved lazily.
    for partition in reader.assignment():
        await reader.position(partition)


async def _first_of(reader: AIOKafkaConsumer, key: str) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        batches = await reader.getmany(timeout_ms=500)
        for record in (r for batch in batches.values() for r in batch):
            if record.key == key.encode():
                envelope: dict[str, Any] = json.loads(record.value)
                return envelope
        await asyncio.sleep(0)
    pytest.fail(f"nothing keyed {key} on ledger.events within 60 s")
