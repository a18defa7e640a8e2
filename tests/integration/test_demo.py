"""`make demo`'s main job, run as the README's first command runs it."""

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


def test_the_demo_walks_through_the_ledger_and_the_scheduler_on_the_real_stack(
    kafka_topics: None,
) -> None:
    run = subprocess.run(
        [sys.executable, "-m", "shared.devstack.demo"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    out = run.stdout
    assert run.returncode == 0, out[-2000:] + run.stderr[-2000:]
    assert "6 facts recorded" in out
    assert "replayed: true" in " ".join(out.split())
    assert "GET /v1/cases on the scheduler" in out
    assert "d-1001#1" in out
    # Which stage comes next depends on the hour the demo runs; the agency
    # comes within the forecast's 60 days whatever the hour.
    assert any(stage in out for stage in ("reminder", "second", "final"))
    assert "escalate" in out
    assert "ledger.inbound.dlq: Invalid JSON" in out
    assert "does not match the invoice currency" in " ".join(out.split())
