"""The HTTP pieces every service shares: keys, error bodies, idempotency."""

from datetime import UTC, datetime

import pytest
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient
from pydantic import BaseModel, Field
from sqlalchemy.orm import registry
from sqlmodel import SQLModel

from shared.db.engine import make_engine
from shared.http.auth import creditor_of_key
from shared.http.errors import field_path, install_error_handlers
from shared.http.idempotency import (
    IdempotencyRecord,
    IdempotencyStore,
    KeyReusedForAnotherRequest,
    StoredResponse,
    fingerprint,
)

KEYS = {"odk_acme": "acme"}
NOW = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)


class Refused(Exception):
    def __init__(self, field: str, message: str) -> None:
        self.status, self.field, self.message = 404, field, message


class Line(BaseModel):
    amount: int = Field(gt=0)


class Order(BaseModel):
    lines: list[Line]


def api() -> TestClient:
    app = FastAPI()
    install_error_handlers(app, Refused)
    who = creditor_of_key(KEYS.get)

    @app.post("/orders")
    def place(order: Order, creditor: str = Depends(who)) -> dict[str, str]:
        return {"creditor": creditor}

    @app.get("/debtors/{debtor}")
    def debtor(debtor: str, creditor: str = Depends(who)) -> dict[str, str]:
        raise Refused("debtor", f"no debtor {debtor}")

    return TestClient(app)


def test_a_request_without_a_key_is_refused_with_401_naming_the_header() -> None:
    response = api().post("/orders", json={"lines": []})

    assert response.status_code == 401
    assert response.json()["error"]["field"] == "Authorization"
    assert response.headers["WWW-Authenticate"] == "Bearer"


def test_an_unknown_key_is_refused_with_401() -> None:
    response = api().post(
        "/orders", json={"lines": []}, headers={"Authorization": "Bearer nope"}
    )

    assert response.status_code == 401
    assert response.json()["error"]["message"] == "the API key is not valid"


def test_a_valid_key_acts_for_its_creditor() -> None:
    response = api().post(
        "/orders", json={"lines": []}, headers={"Authorization": "Bearer odk_acme"}
    )

    assert response.json() == {"creditor": "acme"}


def test_an_invalid_body_gets_422_naming_the_field_by_its_path() -> None:
    response = api().post(
        "/orders",
        json={"lines": [{"amount": 1}, {"amount": 0}]},
        headers={"Authorization": "Bearer odk_acme"},
    )

    assert response.status_code == 422
    assert response.json()["error"]["field"] == "lines[1].amount"


def test_a_domain_error_is_shown_with_its_status_field_and_message() -> None:
    response = api().get("/debtors/d-1", headers={"Authorization": "Bearer odk_acme"})

    assert response.status_code == 404
    assert response.json() == {"error": {"field": "debtor", "message": "no debtor d-1"}}


@pytest.mark.parametrize(
    ("location", "path"),
    [
        (("body", "amount"), "amount"),
        (("body", "lines", 0, "amount"), "lines[0].amount"),
        (("query", "days"), "days"),
        (("body",), "request"),
    ],
)
def test_a_validation_location_reads_as_a_field_path(
    location: tuple[object, ...], path: str
) -> None:
    assert field_path(location) == path


def test_requests_differing_in_method_path_or_body_have_different_fingerprints() -> (
    None
):
    base = fingerprint("POST", "/v1/invoices", b"{}")

    assert base == fingerprint("post", "/v1/invoices", b"{}")
    assert base != fingerprint("PUT", "/v1/invoices", b"{}")
    assert base != fingerprint("POST", "/v1/payments", b"{}")
    assert base != fingerprint("POST", "/v1/invoices", b'{"a": 1}')


class _Base(SQLModel, registry=registry()):
    pass


class _Keys(IdempotencyRecord, _Base, table=True):
    __tablename__ = "idempotency_keys"


@pytest.fixture
def store() -> IdempotencyStore:
    engine = make_engine("sqlite://")
    _Base.metadata.create_all(engine)
    return IdempotencyStore(engine, _Keys)


def test_a_new_key_has_nothing_to_replay(store: IdempotencyStore) -> None:
    assert store.replay("acme", "k-1", "f1") is None


def test_a_replayed_key_gets_the_first_response_back(store: IdempotencyStore) -> None:
    store.remember("acme", "k-1", "f1", StoredResponse(201, {"number": "INV-1"}), NOW)

    replayed = store.replay("acme", "k-1", "f1")

    assert replayed == StoredResponse(201, {"number": "INV-1"})


def test_a_key_reused_for_another_request_is_a_conflict(
    store: IdempotencyStore,
) -> None:
    store.remember("acme", "k-1", "f1", StoredResponse(201, {}), NOW)

    with pytest.raises(KeyReusedForAnotherRequest):
        store.replay("acme", "k-1", "f2")


def test_the_same_key_of_two_creditors_is_two_keys(store: IdempotencyStore) -> None:
    store.remember("acme", "k-1", "f1", StoredResponse(201, {"a": 1}), NOW)

    assert store.replay("beta", "k-1", "f1") is None


def test_a_second_remember_of_one_key_keeps_the_first_response(
    store: IdempotencyStore,
) -> None:
    store.remember("acme", "k-1", "f1", StoredResponse(201, {"first": True}), NOW)

    kept = store.remember(
        "acme", "k-1", "f1", StoredResponse(201, {"first": False}), NOW
    )

    assert kept.body == {"first": True}


def test_a_body_that_is_not_json_is_422_naming_the_body() -> None:
    response = api().post(
        "/orders",
        content=b'{"lines": [',
        headers={
            "Authorization": "Bearer odk_acme",
            "Content-Type": "application/json",
        },
    )

    assert response.status_code == 422
    assert response.json()["error"]["field"] == "body"
    assert response.json()["error"]["message"].startswith("is not valid JSON")


def test_an_unknown_route_and_a_wrong_method_answer_with_the_error_body() -> None:
    missing = api().get("/nowhere")
    wrong_method = api().delete("/orders")

    assert missing.status_code == 404
    assert missing.json() == {"error": {"field": None, "message": "Not Found"}}
    assert wrong_method.status_code == 405
    assert wrong_method.json()["error"]["message"] == "Method Not Allowed"
