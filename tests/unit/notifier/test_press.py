"""The letter press: a pool that outlives a dead worker; retries that stay in range."""

import os
from datetime import timedelta
from pathlib import Path

from services.notifier.adapters.press import LetterPress
from services.notifier.rendering.pdf import RenderedPdf
from services.notifier.service.work_list import retry_wait


def die_the_first_time(marker: str, base_url: str | None) -> RenderedPdf:
    """Kill the worker on the first letter, as the OOM killer would; then print."""
    if not Path(marker).exists():
        Path(marker).touch()
        os._exit(9)
    return RenderedPdf(data=b"%PDF-1.7 fake", pages=1)


async def test_a_dead_worker_breaks_the_pool_and_a_fresh_one_prints_the_letter(
    tmp_path,
):
    with LetterPress(1, render=die_the_first_time) as press:
        printed = await press.render(str(tmp_path / "died"))

    assert printed.data.startswith(b"%PDF")
    assert (tmp_path / "died").exists()


def test_retries_double_from_5_seconds_and_stop_at_15_minutes():
    assert [retry_wait(n) for n in (1, 2, 3)] == [
        timedelta(seconds=5),
        timedelta(seconds=10),
        timedelta(seconds=20),
    ]
    assert retry_wait(9) == timedelta(minutes=15)


def test_a_contact_tried_for_days_still_waits_15_minutes():
    assert retry_wait(40) == retry_wait(10**6) == timedelta(minutes=15)
