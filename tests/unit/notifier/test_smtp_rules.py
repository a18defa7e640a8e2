"""The SMTP adapter's rules that need no server: waits, replies, refusals."""

import pytest

from services.notifier.adapters.smtp import SmtpPool, backoff_delay, reply_summary
from services.notifier.errors import (
    DeliveryError,
    NotifierError,
    PermanentDeliveryError,
    RetriesExhausted,
    TransientDeliveryError,
)
from services.notifier.settings import NotifierSettings


def test_the_waits_double_from_the_base_up_to_the_cap():
    waits = [backoff_delay(n, base=1.0, cap=60.0) for n in range(1, 9)]

    assert waits == [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 60.0, 60.0]


def test_a_zero_base_never_waits():
    assert backoff_delay(5, base=0.0, cap=60.0) == 0.0


@pytest.mark.parametrize(
    ("code", "text", "summary", "status"),
    [
        (550, "5.1.1 <jane@example.test>: user unknown", "550 5.1.1", "5.1.1"),
        (451, "4.7.1 Greylisted, try again", "451 4.7.1", "4.7.1"),
        (250, "Ok: queued as 4Tq9Zk", "250", None),
        (550, "User jane@example.test 5.1.1 unknown", "550", None),
        (None, None, "no reply", None),
    ],
)
def test_a_reply_is_summarised_by_its_codes_alone(code, text, summary, status):
    assert reply_summary(code, text) == (summary, status)


def test_every_delivery_error_has_the_notifiers_root():
    exhausted = RetriesExhausted("connection failed", attempts=5)

    assert isinstance(exhausted, TransientDeliveryError)
    assert isinstance(exhausted, DeliveryError) and isinstance(exhausted, NotifierError)
    assert issubclass(PermanentDeliveryError, DeliveryError)
    assert not issubclass(PermanentDeliveryError, TransientDeliveryError)


@pytest.mark.parametrize(
    ("stage", "status", "address_refused"),
    [
        ("rcpt", "5.1.1", True),
        ("rcpt", None, True),
        ("rcpt", "5.7.1", False),
        ("data", "5.1.1", True),
        ("data", None, False),
        ("connect", None, False),
    ],
)
def test_only_a_refusal_of_the_address_blames_the_address(
    stage, status, address_refused
):
    error = PermanentDeliveryError("refused", code=550, stage=stage, status=status)

    assert error.address_refused is address_refused


def test_the_pool_takes_its_shape_from_the_settings():
    pool = SmtpPool.from_settings(
        NotifierSettings(smtp_host="mx.test", smtp_port=587, smtp_pool_size=2)
    )

    assert (pool.host, pool.port, pool.size, pool.retries) == ("mx.test", 587, 2, 4)
    assert (pool.backoff_base, pool.backoff_max) == (1.0, 60.0)


def test_starttls_and_implicit_tls_together_are_refused():
    with pytest.raises(ValueError, match="exclude"):
        SmtpPool("mx.test", 465, starttls=True, tls=True)


def test_jitter_moves_a_wait_by_at_most_its_share_either_way() -> None:
    shortest = backoff_delay(3, base=1.0, cap=60.0, jitter=0.1, spread=-1.0)
    longest = backoff_delay(3, base=1.0, cap=60.0, jitter=0.1, spread=1.0)

    assert (shortest, longest) == (3.6, 4.4)
