"""`make demo`'s main job, run as the README's first command runs it, on Kafka."""

import json
import smtplib
import subprocess
import sys
from pathlib import Path

import pytest

from shared.devstack.state import endpoints

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "tests" / "e2e" / "golden" / "demo.jsonl"
BOUNCING = "d17"
"""The debtor whose address is at an `.invalid` domain."""


def test_the_demo_simulates_its_scenario_on_kafka_and_says_what_came_of_it(
    kafka_topics: None, tmp_path: Path
) -> None:
    run = subprocess.run(
        [sys.executable, "-m", "shared.devstack.demo", "--artifacts", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )

    out = " ".join(run.stdout.split())
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    assert "Contacts sent, by template and channel" in out
    assert "cases escalated to the agency │ 6" in out
    assert "recovered while in collection │ EUR 64,071.60" in out
    assert "recovered after the hand-off │ EUR 5,000.00" in out
    assert "13 daily print batches" in out
    assert "(6 case files)" in out

    produced = _lines(tmp_path / "timeline.jsonl")
    emailed = sum(
        1 for x in produced if (x["kind"], x.get("channel")) == ("contact", "email")
    )
    assert f"({emailed} received by the SMTP sink)" in out
    expected = _lines(GOLDEN)
    if not _sink_refuses_invalid_domains():
        # A sink started before it refused `.invalid` delivers d17's mail.
        produced = [line for line in produced if line["debtor"] != BOUNCING]
        expected = [line for line in expected if line["debtor"] != BOUNCING]
    assert produced == expected


def _lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(text) for text in path.read_text().splitlines()]


def _sink_refuses_invalid_domains() -> bool:
    where = endpoints()
    with smtplib.SMTP(where.smtp_host, where.smtp_port, timeout=5) as client:
        client.ehlo("overdue-test")
        client.mail("probe@overdue.example")
        code, _ = client.rcpt("probe@bounce.invalid")
        client.rset()
    return code >= 500
