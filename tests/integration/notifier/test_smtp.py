"""The SMTP pool against a real aiosmtpd server started by each test."""

import asyncio
import logging
import ssl
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest
from pydantic import SecretStr

from services.notifier.adapters.smtp import SmtpPool
from services.notifier.errors import (
    PermanentDeliveryError,
    RetriesExhausted,
    TransientDeliveryError,
)
from services.notifier.settings import NotifierSettings
from shared.logging import JsonFormatter
from tests.support.smtp import (
    ScriptedHandler,
    self_signed_certificate,
    smtp_server,
    unused_port,
)

pytestmark = pytest.mark.integration

SENDER = "bounces@acme.test"
DEBTOR = "jane.debtor@example.test"
CONTACT = "5a0f3d4e-0c1b-5d8e-9a51-2f7c1d0e6b42"


def reminder(subject: str = "Your invoice is overdue") -> EmailMessage:
    message = EmailMessage()
    message["From"] = "Acme Collections <collections@acme.test>"
    message["To"] = f"Jane Debtör <{DEBTOR}>"
    message["Subject"] = subject
    message["Message-ID"] = f"<{CONTACT}@acme.test>"
    message.set_content("Bitte zahlen Sie die Rechnung RE-1 über 120,00 €.")
    message.add_alternative("<p>Bitte zahlen Sie.</p>", subtype="html")
    return message


class Sleeps:
    """A sleep that only writes down how long it was asked to wait."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


def pool_for(port: int, sleep: Sleeps | None = None, **options: object) -> SmtpPool:
    options = {
        "smtp_helo_name": "notifier.test",
        "smtp_timeout": 5.0,
        "smtp_backoff_base": 0.01,
        "smtp_backoff_max": 0.04,
        "smtp_backoff_jitter": 0.0,  # exact waits to assert on
        **options,
    }
    settings = NotifierSettings(smtp_port=port, **options)
    return SmtpPool.from_settings(settings, sleep=sleep or Sleeps())


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    caplog.set_level(logging.DEBUG, logger="services")
    yield caplog
    ours = [r for r in caplog.records if r.name.startswith("services.")]
    written = "\n".join(JsonFormatter().format(r) for r in ours)
    assert DEBTOR not in written and "jane" not in written.lower()


async def test_an_email_sent_through_the_pool_arrives_whole(logs):
    handler = ScriptedHandler()

    async with smtp_server(handler) as port, pool_for(port) as pool:
        receipt = await pool.send(
            reminder(), sender=SENDER, recipients=[DEBTOR], contact_id=CONTACT
        )

    assert receipt.attempts == 1
    assert receipt.response == "250 2.0.0"
    [received] = handler.received
    assert received.mail_from == SENDER
    assert received.rcpt_tos == [DEBTOR]
    assert received.message["Message-ID"] == f"<{CONTACT}@acme.test>"
    assert received.message["To"] == f"Jane Debtör <{DEBTOR}>"
    plain = received.message.get_body(("plain",))
    assert plain is not None and "über 120,00 €" in plain.get_content()


async def test_two_451_replies_are_retried_with_doubling_waits_and_warnings(logs):
    handler = ScriptedHandler(data_replies=["451 4.3.0 try later"] * 2)
    sleeps = Sleeps()

    async with smtp_server(handler) as port, pool_for(port, sleeps) as pool:
        receipt = await pool.send(
            reminder(), sender=SENDER, recipients=[DEBTOR], contact_id=CONTACT
        )

    assert receipt.attempts == 3
    assert sleeps.delays == [0.01, 0.02]
    assert len(handler.received) == 1
    warnings = [r for r in logs.records if r.levelno == logging.WARNING]
    assert [(r.attempt, r.smtp_code, r.smtp_status) for r in warnings] == [
        (1, 451, "4.3.0"),
        (2, 451, "4.3.0"),
    ]
    assert all(r.contact_id == CONTACT for r in warnings)


async def test_a_550_to_rcpt_is_permanent_and_not_retried(logs):
    handler = ScriptedHandler(rcpt_replies=["550 5.1.1 <jane.debtor@example.test>"])
    sleeps = Sleeps()

    async with smtp_server(handler) as port, pool_for(port, sleeps) as pool:
        with pytest.raises(PermanentDeliveryError) as refused:
            await pool.send(
                reminder(), sender=SENDER, recipients=[DEBTOR], contact_id=CONTACT
            )

    assert refused.value.code == 550
    assert refused.value.status == "5.1.1"
    assert refused.value.stage == "rcpt"
    assert refused.value.address_refused
    assert DEBTOR not in str(refused.value)
    assert sleeps.delays == []
    assert handler.received == []
    # An outcome the notifier reports and works around: a warning, no traceback.
    assert [(r.levelname, r.exc_info) for r in logs.records] == [("WARNING", None)]


async def test_a_554_to_data_is_permanent_but_not_about_the_address():
    handler = ScriptedHandler(data_replies=["554 5.7.1 rejected as spam"])

    async with smtp_server(handler) as port, pool_for(port) as pool:
        with pytest.raises(PermanentDeliveryError) as refused:
            await pool.send(reminder(), sender=SENDER, recipients=[DEBTOR])

    assert (refused.value.code, refused.value.stage) == (554, "data")
    assert not refused.value.address_refused


async def test_a_connection_dropped_mid_session_is_replaced_and_the_email_sent(logs):
    handler = ScriptedHandler(rcpt_replies=["drop"])
    sleeps = Sleeps()

    async with smtp_server(handler) as port, pool_for(port, sleeps) as pool:
        receipt = await pool.send(
            reminder(), sender=SENDER, recipients=[DEBTOR], contact_id=CONTACT
        )

    assert receipt.attempts == 2
    assert len(handler.sessions) == 2
    assert [r.session for r in handler.received] == [1]
    assert [r.levelname for r in logs.records if r.levelno >= logging.INFO] == [
        "WARNING"
    ]


async def test_a_connection_the_server_closed_while_idle_is_reopened_silently():
    handler = ScriptedHandler()

    async with smtp_server(handler) as port, pool_for(port, smtp_pool_size=1) as pool:
        await pool.send(reminder(), sender=SENDER, recipients=[DEBTOR])
        handler.close_all()
        await asyncio.sleep(0.05)
        receipt = await pool.send(reminder(), sender=SENDER, recipients=[DEBTOR])

    assert receipt.attempts == 1
    assert [r.session for r in handler.received] == [0, 1]


async def test_a_server_restarted_between_two_emails_gets_the_second_one():
    handler = ScriptedHandler()

    async with smtp_server(handler) as port:
        pool = pool_for(port, smtp_pool_size=1)
        await pool.send(reminder(), sender=SENDER, recipients=[DEBTOR])
    async with smtp_server(handler, port=port):
        receipt = await pool.send(reminder(), sender=SENDER, recipients=[DEBTOR])
        await pool.close()

    assert receipt.attempts == 1
    assert len(handler.received) == 2


async def test_a_server_silent_past_the_timeout_is_left_and_the_email_resent(logs):
    handler = ScriptedHandler(data_replies=["silence"])

    async with smtp_server(handler) as port, pool_for(port, smtp_timeout=0.2) as pool:
        receipt = await pool.send(
            reminder(), sender=SENDER, recipients=[DEBTOR], contact_id=CONTACT
        )

    assert receipt.attempts == 2
    assert len(handler.sessions) == 2
    [warning] = [r for r in logs.records if r.levelno == logging.WARNING]
    assert warning.reason == "connection failed: SMTPReadTimeoutError"


async def test_a_connection_idle_too_long_is_checked_with_noop_before_reuse():
    handler = ScriptedHandler()

    async with (
        smtp_server(handler) as port,
        pool_for(port, smtp_pool_size=1, smtp_idle_check=0.01) as pool,
    ):
        await pool.send(reminder(), sender=SENDER, recipients=[DEBTOR])
        await pool.send(reminder(), sender=SENDER, recipients=[DEBTOR])
        await asyncio.sleep(0.05)
        await pool.send(reminder(), sender=SENDER, recipients=[DEBTOR])

    assert handler.noops == 1
    assert len(handler.sessions) == 1


async def test_a_refused_connection_is_retried_until_the_retries_run_out(logs):
    sleeps = Sleeps()
    pool = pool_for(unused_port(), sleeps, smtp_retries=3)

    with pytest.raises(RetriesExhausted) as exhausted:
        await pool.send(
            reminder(), sender=SENDER, recipients=[DEBTOR], contact_id=CONTACT
        )
    await pool.close()

    assert exhausted.value.attempts == 4
    assert isinstance(exhausted.value, TransientDeliveryError)
    assert sleeps.delays == [0.01, 0.02, 0.04]
    levels = [r.levelname for r in logs.records]
    assert levels == ["WARNING", "WARNING", "WARNING", "ERROR"]
    assert logs.records[-1].exc_info is not None


async def test_real_waits_between_retries_stay_short_with_a_small_base():
    pool = SmtpPool(
        "127.0.0.1", unused_port(), retries=2, backoff_base=0.01, helo_name="t"
    )

    started = asyncio.get_running_loop().time()
    with pytest.raises(RetriesExhausted):
        await pool.send(reminder(), sender=SENDER, recipients=[DEBTOR])
    elapsed = asyncio.get_running_loop().time() - started

    assert 0.03 <= elapsed < 2.0


async def test_many_emails_share_the_pools_few_connections():
    handler = ScriptedHandler()

    async with smtp_server(handler) as port, pool_for(port, smtp_pool_size=3) as pool:
        receipts = await asyncio.gather(
            *(
                pool.send(reminder(f"#{n}"), sender=SENDER, recipients=[DEBTOR])
                for n in range(30)
            )
        )

    assert len(handler.received) == 30
    assert len(handler.sessions) == 3
    assert {r.attempts for r in receipts} == {1}


async def test_close_quits_every_connection():
    handler = ScriptedHandler()

    async with smtp_server(handler) as port:
        pool = pool_for(port, smtp_pool_size=2)
        await asyncio.gather(
            *(pool.send(reminder(), sender=SENDER, recipients=[DEBTOR]) for _ in "ab")
        )
        await pool.close()
        await asyncio.sleep(0.05)

        assert all(
            s.transport is None or s.transport.is_closing() for s in handler.sessions
        )
        with pytest.raises(RuntimeError):
            await pool.send(reminder(), sender=SENDER, recipients=[DEBTOR])


def tls_for_server(folder: Path) -> tuple[ssl.SSLContext, Path]:
    """A server's TLS context with a fresh self-signed certificate, and that
    certificate, for the client to trust."""
    cert, key = self_signed_certificate(folder)
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert, key)
    return server_tls, cert


async def test_starttls_and_auth_login_protect_the_session(tmp_path: Path):
    server_tls, cert = tls_for_server(tmp_path)
    handler = ScriptedHandler()

    async with (
        smtp_server(
            handler,
            tls_context=server_tls,
            require_starttls=True,
            authenticator=handler.authenticate,
            auth_required=True,
            auth_exclude_mechanism=["PLAIN"],
        ) as port,
        pool_for(
            port,
            smtp_starttls=True,
            smtp_ca_file=str(cert),
            smtp_username="overdue",
            smtp_password=SecretStr("s3cret"),
        ) as pool,
    ):
        receipt = await pool.send(reminder(), sender=SENDER, recipients=[DEBTOR])
        session = handler.sessions[0].session

    assert receipt.attempts == 1
    assert handler.logins == [("LOGIN", "overdue")]
    assert session is not None and session.ssl is not None
    assert len(handler.received) == 1


async def test_a_wrong_password_is_permanent_and_not_the_addresses_fault(
    tmp_path: Path,
):
    server_tls, cert = tls_for_server(tmp_path)
    handler = ScriptedHandler()

    async with (
        smtp_server(
            handler,
            tls_context=server_tls,
            require_starttls=True,
            authenticator=handler.authenticate,
            auth_required=True,
        ) as port,
        pool_for(
            port,
            smtp_starttls=True,
            smtp_ca_file=str(cert),
            smtp_username="overdue",
            smtp_password=SecretStr("wrong"),
        ) as pool,
    ):
        with pytest.raises(PermanentDeliveryError) as refused:
            await pool.send(reminder(), sender=SENDER, recipients=[DEBTOR])

    assert (refused.value.code, refused.value.stage) == (535, "connect")
    assert not refused.value.address_refused


async def test_an_address_with_a_line_break_never_reaches_the_server():
    handler = ScriptedHandler()

    async with smtp_server(handler) as port, pool_for(port) as pool:
        with pytest.raises(PermanentDeliveryError) as refused:
            await pool.send(
                reminder(), sender=SENDER, recipients=["a@b.test\r\nRCPT TO:<x@y>"]
            )

    assert refused.value.stage == "rcpt"
    assert handler.sessions == []
