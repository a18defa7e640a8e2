"""The bounce inbox as a reporting MTA sees it: a real SMTP server on a free port."""

import logging

import aiosmtplib
import pytest

from services.notifier.adapters.bounce_inbox import BounceInbox
from services.notifier.domain.bounces import BounceReport
from services.notifier.settings import NotifierSettings
from shared.logging import JsonFormatter
from tests.unit.notifier.bounce_samples import (
    CONTACT,
    DELAYED,
    NO_ORIGINAL_NO_STATUS,
    PLAIN_REPLY,
    POSTFIX_USER_UNKNOWN,
)

pytestmark = pytest.mark.integration

DEBTOR = "jane.debtor@example.test"


class Recorder:
    """An `on_bounce` that keeps the reports, or fails as told."""

    def __init__(self, *, fail: bool = False) -> None:
        self.reports: list[BounceReport] = []
        self.fail = fail

    async def __call__(self, report: BounceReport) -> None:
        if self.fail:
            raise RuntimeError("database unavailable")
        self.reports.append(report)


async def report_to(inbox: BounceInbox, raw: bytes, rcpt: str) -> str:
    """Deliver `raw` as a reporting server does, from the null sender; its reply."""
    client = aiosmtplib.SMTP(
        hostname="127.0.0.1", port=inbox.bound_port, local_hostname="mx.test"
    )
    async with client:
        _, reply = await client.sendmail("", [rcpt], raw)
    return reply


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture):
    caplog.set_level(logging.DEBUG, logger="services")
    yield caplog
    ours = [r for r in caplog.records if r.name.startswith("services.")]
    written = "\n".join(JsonFormatter().format(r) for r in ours)
    assert DEBTOR not in written


async def test_a_permanent_bounce_reaches_the_callback_with_its_contact(logs):
    recorder = Recorder()

    async with BounceInbox(recorder, port=0) as inbox:
        reply = await report_to(
            inbox, POSTFIX_USER_UNKNOWN, f"bounces+{CONTACT}@a.test"
        )

    assert reply == "2.0.0 Bounce recorded"
    [report] = recorder.reports
    assert report.contact_id == CONTACT
    assert report.permanent
    assert [getattr(r, "contact_id", None) for r in logs.records] == [None, CONTACT]


async def test_a_bounce_named_only_by_the_envelope_is_passed_on():
    recorder = Recorder()

    async with BounceInbox(recorder, port=0) as inbox:
        await report_to(inbox, NO_ORIGINAL_NO_STATUS, "bounces+c-77@acme.test")

    assert [r.contact_id for r in recorder.reports] == ["c-77"]


async def test_a_failing_callback_makes_the_reporter_try_again_later(logs):
    inbox = BounceInbox(Recorder(fail=True), port=0)
    await inbox.start()

    with pytest.raises(aiosmtplib.SMTPDataError) as refused:
        await report_to(inbox, POSTFIX_USER_UNKNOWN, "bounces@acme.test")
    await inbox.stop()

    assert refused.value.code == 451
    [error] = [r for r in logs.records if r.levelno == logging.ERROR]
    assert error.exc_info is not None and error.contact_id == CONTACT


@pytest.mark.parametrize("raw", [DELAYED, PLAIN_REPLY], ids=["delayed", "reply"])
async def test_what_is_no_permanent_bounce_is_taken_and_dropped(raw, logs):
    recorder = Recorder()

    async with BounceInbox(recorder, port=0) as inbox:
        reply = await report_to(inbox, raw, "bounces@acme.test")

    assert reply == "2.0.0 Accepted"
    assert recorder.reports == []
    assert [r.levelname for r in logs.records if r.name.endswith("inbox")] == [
        "INFO",
        "INFO",
    ]


async def test_a_report_above_the_size_limit_is_refused():
    recorder = Recorder()
    huge = POSTFIX_USER_UNKNOWN + b"x" * 2048 + b"\r\n"

    async with BounceInbox(recorder, port=0, max_size=1024) as inbox:
        with pytest.raises(aiosmtplib.SMTPResponseException) as refused:
            await report_to(inbox, huge, "bounces@acme.test")

    assert refused.value.code == 552
    assert recorder.reports == []


def test_the_inbox_is_off_when_its_port_is_zero():
    settings = NotifierSettings(bounce_port=0)

    assert BounceInbox.from_settings(settings, Recorder()) is None
    assert BounceInbox.from_settings(NotifierSettings(), Recorder()) is not None
