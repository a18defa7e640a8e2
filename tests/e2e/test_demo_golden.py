"""The demo's timeline, pinned: examples/demo/ gives tests/e2e/golden/demo.jsonl.

The golden file was reviewed by hand, debtor by debtor, against SPEC §3 to §5
and the cast in examples/demo/README.md; what was checked is in
tests/e2e/golden/REVIEW.md. This test runs the scenario on the in-process
broker, which gives the same timeline as Kafka (`make demo` runs it on Kafka).

A change that moves the timeline on purpose: rerun with
`OVERDUE_UPDATE_GOLDEN=1`, then review the diff of demo.jsonl as carefully
as the first time.
"""

import difflib
import json
import os
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import holidays
import pytest

from shared.simulation.bus import InProcessBus
from shared.simulation.run import Outcome, Where, simulate
from shared.simulation.scenario import load_scenario
from shared.simulation.timeline import render

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "examples" / "demo"
GOLDEN = Path(__file__).parent / "golden" / "demo.jsonl"


@pytest.fixture(scope="module")
async def demo_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Outcome, Path]:
    """One run of the demo on the in-process broker, shared by the tests below."""
    artifacts = tmp_path_factory.mktemp("demo")
    scenario = load_scenario(DEMO / "scenario.yaml")
    where = Where(artifacts, templates=DEMO / "branding")
    return await simulate(scenario, InProcessBus(), where), artifacts


def test_the_demo_scenario_gives_the_reviewed_timeline(
    demo_run: tuple[Outcome, Path],
) -> None:
    outcome, _ = demo_run

    produced = render(outcome.timeline.lines())

    assert [str(refusal) for refusal in outcome.refusals] == []
    if os.environ.get("OVERDUE_UPDATE_GOLDEN"):
        GOLDEN.write_text(produced, encoding="utf-8")
    expected = GOLDEN.read_text(encoding="utf-8")
    difference = "".join(
        difflib.unified_diff(
            expected.splitlines(keepends=True),
            produced.splitlines(keepends=True),
            fromfile="golden/demo.jsonl",
            tofile="this run",
        )
    )
    assert produced == expected, "the demo's timeline moved:\n" + difference


def test_the_demo_leaves_its_emails_letters_batches_and_agency_files(
    demo_run: tuple[Outcome, Path],
) -> None:
    outcome, artifacts = demo_run
    sent = Counter(
        line["channel"]
        for line in outcome.timeline.lines()
        if line["kind"] == "contact"
    )

    letters = list(artifacts.glob("letters/kranich-voss/*/letters/*.pdf"))
    batches = list(artifacts.glob("letters/kranich-voss/*/batch-*.pdf"))
    manifests = list(artifacts.glob("letters/kranich-voss/*/manifest-*.csv"))
    agency = sorted(p.name.split("-")[0] for p in artifacts.glob("agency/*/*.json"))
    emails = [p.read_text() for p in artifacts.glob("emails/*.eml")]

    assert len(letters) == sent["letter"] == 22
    assert len(batches) == len(manifests) == 13
    assert agency == ["d11", "d15", "d19", "d20", "d21", "d25"]
    assert len(emails) == sent["email"] == 149
    assert not any("fahrradwerk-ostermann.invalid" in email for email in emails)
    assert sum("fahrradwerk-ostermann.example" in email for email in emails) == 3


def test_the_golden_timeline_keeps_the_ladders_rules() -> None:
    """What the hand review checked line by line, checked again by machine:
    send window and allowed days in the debtor's own time, stages in order,
    the gap between demands, and thanks only for a case a ladder contact went
    out in (SPEC §3, §4)."""
    scenario = load_scenario(DEMO / "scenario.yaml")
    window = scenario.policy.send_window
    debtors = {d.id: d.upserted for d in scenario.debtors}
    lines = [json.loads(text) for text in GOLDEN.read_text().splitlines()]
    broken: list[str] = []

    for debtor, own in _by_debtor(lines).items():
        details = debtors[debtor]
        zone = ZoneInfo(details.timezone or scenario.creditor.timezone)
        days_off = holidays.country_holidays(details.country or "DE", years=2026)
        stage, ladder_sent, last_demand = -1, False, None
        for line in own:
            at = datetime.fromisoformat(line["at"])
            if at.utcoffset() != at.astimezone(zone).utcoffset():
                broken.append(f"{debtor} {line['at']}: not in the debtor's local time")
            if line["kind"] == "resolved":
                stage, last_demand = -1, None
                continue
            if line["kind"] == "escalated":
                continue
            if not (window.start <= at.time() < window.end):
                broken.append(f"{debtor} {line['at']}: outside the send window")
            if at.weekday() >= 5 or at.date() in days_off:
                broken.append(f"{debtor} {line['at']}: not an allowed day")
            template = line["template"]
            if template == "thank_you":
                if not ladder_sent:
                    broken.append(f"{debtor} {line['at']}: thanks without a demand")
                ladder_sent = False
            if template in LADDER:
                if LADDER.index(template) not in (stage, stage + 1):
                    broken.append(f"{debtor} {line['at']}: {template} skips a stage")
                stage = LADDER.index(template)
                ladder_sent = True
            if template in DEMANDS and line["kind"] == "contact":
                if last_demand and at != last_demand and (at - last_demand).days < 5:
                    broken.append(f"{debtor} {line['at']}: within 5 days of a demand")
                last_demand = at

    assert broken == []


LADDER = ("reminder", "second", "final")
DEMANDS = (*LADDER, "promise_broken", "plan_broken")


def _by_debtor(lines: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    grouped: dict[str, list[dict[str, Any]]] = {}
    for line in lines:
        grouped.setdefault(line["debtor"], []).append(line)
    return grouped
