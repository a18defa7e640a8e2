"""The checked-in AsyncAPI documents are the ones the services generate."""

from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from services.ledger.app import create_app as ledger_app
from services.ledger.settings import LedgerSettings
from services.notifier.app import create_app as notifier_app
from services.notifier.settings import NotifierSettings
from services.scheduler.app import create_app as scheduler_app
from services.scheduler.settings import SchedulerSettings
from shared.cli import app as cli
from shared.messaging.commands import asyncapi_yaml

DOCS = Path(__file__).resolve().parents[2] / "docs" / "asyncapi"
SERVICES = {
    "ledger": (LedgerSettings, ledger_app),
    "scheduler": (SchedulerSettings, scheduler_app),
    "notifier": (NotifierSettings, notifier_app),
}


@pytest.mark.parametrize("service", SERVICES)
def test_the_checked_in_asyncapi_document_matches_the_generated_one(service):
    settings_cls, create_app = SERVICES[service]

    generated = asyncapi_yaml(settings_cls, create_app)

    checked_in = (DOCS / f"{service}.yaml").read_text(encoding="utf-8")
    assert generated == checked_in, f"run `overdue {service} asyncapi` and commit"


@pytest.mark.parametrize("service", SERVICES)
def test_the_document_ignores_the_environment(service, monkeypatch):
    settings_cls, create_app = SERVICES[service]
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "elsewhere:9092")
    monkeypatch.setenv(f"OVERDUE_{service.upper()}_CONSUMER_GROUP", "other")

    generated = asyncapi_yaml(settings_cls, create_app)

    assert generated == (DOCS / f"{service}.yaml").read_text(encoding="utf-8")


def test_the_scheduler_document_names_what_it_consumes_and_produces():
    document = yaml.safe_load((DOCS / "scheduler.yaml").read_text(encoding="utf-8"))

    actions = {
        (
            op["action"],
            document["channels"][op["channel"]["$ref"].split("/")[-1]]["address"],
        )
        for op in document["operations"].values()
    }

    assert document["info"]["title"] == "overdue scheduler"
    assert {
        ("receive", "ledger.events"),
        ("receive", "ledger.creditors"),
        ("receive", "notifier.events"),
        ("send", "collections.contacts"),
        ("send", "collections.events"),
        ("send", "ledger.events.dlq"),
    } <= actions


@pytest.mark.parametrize(
    ("service", "address"),
    [("ledger", "ledger.inbound"), ("scheduler", "ledger.events")],
)
def test_a_batch_subscriber_documents_the_envelope_as_its_message(service, address):
    document = yaml.safe_load((DOCS / f"{service}.yaml").read_text(encoding="utf-8"))

    channel = next(
        c
        for c in document["channels"].values()
        if c["address"] == address and "Subscribe" in str(c["messages"])
    )
    message_ref = next(iter(channel["messages"].values()))["$ref"].split("/")[-1]
    message = document["components"]["messages"][message_ref]

    assert message["payload"] == {"$ref": "#/components/schemas/Envelope"}
    assert "EmptyPayload" not in document["components"]["schemas"]


def test_the_asyncapi_command_writes_the_document_and_checks_it(tmp_path):
    out = tmp_path / "ledger.yaml"
    runner = CliRunner()

    written = runner.invoke(cli, ["ledger", "asyncapi", "--out", str(out)])
    checked = runner.invoke(cli, ["ledger", "asyncapi", "--out", str(out), "--check"])
    out.write_text("stale", encoding="utf-8")
    stale = runner.invoke(cli, ["ledger", "asyncapi", "--out", str(out), "--check"])

    assert written.exit_code == 0 and out.exists()
    assert checked.exit_code == 0
    assert stale.exit_code == 1
    assert "out of date" in stale.output


@pytest.mark.parametrize("service", SERVICES)
def test_serve_explains_its_options(service):
    result = CliRunner().invoke(cli, [service, "serve", "--help"])

    assert result.exit_code == 0
    for option in ("--host", "--port", "--database", "--kafka"):
        assert option in result.output


def test_ledger_relay_explains_its_options():
    result = CliRunner().invoke(cli, ["ledger", "relay", "--help"])

    assert result.exit_code == 0
    for option in ("--database", "--kafka", "--poll-interval", "--parent"):
        assert option in result.output
