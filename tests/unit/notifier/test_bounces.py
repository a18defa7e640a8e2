"""Reading bounce reports (RFC 3464) into which contact failed, and how."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.notifier.domain.bounces import RecipientStatus, parse_bounce
from services.notifier.domain.verp import contact_id_in_verp, verp_sender
from tests.unit.notifier.bounce_samples import (
    AUTO_REPLY,
    CONTACT,
    DELAYED,
    EXCHANGE_HEADERS_ONLY,
    MULTIPLE_RECIPIENTS,
    NO_ORIGINAL_NO_STATUS,
    PLAIN_REPLY,
    POSTFIX_USER_UNKNOWN,
    READ_RECEIPT,
)


def test_a_postfix_user_unknown_report_names_the_contact_and_fails_for_good():
    report = parse_bounce(POSTFIX_USER_UNKNOWN)

    assert report is not None
    assert report.contact_id == CONTACT
    assert report.message_id == f"<{CONTACT}@acme.test>"
    assert report.permanent and not report.delayed
    [recipient] = report.recipients
    assert recipient.recipient == "jane.debtor@example.test"
    assert (recipient.action, recipient.status) == ("failed", "5.1.1")
    assert recipient.diagnostic is not None
    assert recipient.diagnostic.startswith("smtp; 550 5.1.1")


def test_an_exchange_report_with_only_the_original_headers_is_read():
    report = parse_bounce(EXCHANGE_HEADERS_ONLY)

    assert report is not None
    assert report.contact_id == CONTACT
    assert report.permanent
    assert [r.status for r in report.recipients] == ["5.1.10"]


def test_a_delayed_report_is_not_permanent():
    report = parse_bounce(DELAYED)

    assert report is not None
    assert report.contact_id == CONTACT
    assert report.delayed and not report.permanent
    assert report.recipients[0].status == "4.4.1"


def test_a_report_without_status_takes_it_from_the_diagnostic_and_the_envelope():
    report = parse_bounce(
        NO_ORIGINAL_NO_STATUS, envelope_recipients=["bounces+c-77@acme.test"]
    )

    assert report is not None
    assert report.message_id is None
    assert report.contact_id == "c-77"
    assert report.recipients == (
        RecipientStatus(
            recipient="someone@example.test",
            action="failed",
            status="5.0.0",
            diagnostic="smtp; 554 mailbox disabled",
        ),
    )
    assert report.permanent


def test_one_failed_recipient_among_delivered_ones_makes_the_report_permanent():
    report = parse_bounce(MULTIPLE_RECIPIENTS)

    assert report is not None
    assert [(r.action, r.permanent) for r in report.recipients] == [
        ("delivered", False),
        ("failed", True),
    ]
    assert report.permanent
    assert report.contact_id == CONTACT


@pytest.mark.parametrize(
    "raw",
    [PLAIN_REPLY, AUTO_REPLY, READ_RECEIPT],
    ids=["reply", "auto-reply", "read receipt"],
)
def test_a_message_that_is_no_delivery_report_is_none(raw):
    assert parse_bounce(raw) is None


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"\x00\xff\xfe garbage",
        b"Content-Type: multipart/report; report-type=delivery-status\r\n\r\nno parts",
        b"Content-Type: multipart/report; report-type=delivery-status;"
        b' boundary="x"\r\n\r\n--x\r\nContent-Type: message/delivery-status\r\n\r\n'
        b"\r\n--x--\r\n",
        POSTFIX_USER_UNKNOWN[: len(POSTFIX_USER_UNKNOWN) // 3],
    ],
    ids=["empty", "binary", "no parts", "empty status", "truncated"],
)
def test_garbage_is_none(raw):
    assert parse_bounce(raw) is None


@given(st.binary(max_size=2000))
def test_no_bytes_make_the_parser_raise(raw):
    parse_bounce(raw)


@given(st.integers(min_value=0, max_value=len(POSTFIX_USER_UNKNOWN)))
def test_a_report_cut_anywhere_never_raises(cut):
    parse_bounce(POSTFIX_USER_UNKNOWN[:cut])


def test_a_contact_id_rides_the_envelope_sender_and_back():
    sender = verp_sender("bounces@acme.test", CONTACT)

    assert sender == f"bounces+{CONTACT}@acme.test"
    assert contact_id_in_verp(sender) == CONTACT
    assert contact_id_in_verp("bounces@acme.test") is None


def test_an_id_unfit_for_an_address_leaves_the_bounce_address_untagged():
    assert verp_sender("bounces@acme.test", 'a"b') == "bounces@acme.test"
