from datetime import UTC, datetime
from email import message_from_bytes

import aiosmtplib
import pytest

from shared.devstack.smtp_sink import file_stem, listening, store, unreachable

ARRIVAL = datetime(2026, 1, 5, 10, 12, 0, 123456, tzinfo=UTC)
MESSAGE = (
    b"From: collections@acme.test\r\n"
    b"To: debtor@example.test\r\n"
    b"Subject: Reminder\r\n"
    b"Message-ID: <c-42.reminder@acme.test>\r\n"
    b"\r\n"
    b"Your invoice is overdue.\r\n"
)


def test_a_stored_message_is_named_by_arrival_time_and_message_id():
    assert file_stem("<c-42.reminder@acme.test>", ARRIVAL) == (
        "20260105T101200123456Z-c-42.reminder@acme.test"
    )


def test_characters_unsafe_in_a_file_name_are_replaced():
    stem = file_stem("<../../etc/passwd x>", ARRIVAL)

    assert "/" not in stem and " " not in stem
    assert stem.startswith("20260105T101200123456Z-")


def test_a_message_without_message_id_still_gets_a_unique_name():
    assert file_stem(None, ARRIVAL) != file_stem(None, ARRIVAL)


def test_the_outbox_holds_the_whole_message_and_its_envelope(tmp_path):
    path = store(tmp_path, MESSAGE, "bounce@acme.test", ["debtor@example.test"])

    stored = message_from_bytes(path.read_bytes())
    assert path.suffix == ".eml"
    assert stored["Message-ID"] == "<c-42.reminder@acme.test>"
    assert stored["X-Envelope-To"] == "<debtor@example.test>"
    assert stored.get_payload() == "Your invoice is overdue.\n"


def test_no_temporary_file_is_left_beside_a_stored_message(tmp_path):
    store(tmp_path, MESSAGE, "bounce@acme.test", ["debtor@example.test"])

    assert [p.suffix for p in tmp_path.iterdir()] == [".eml"]


def test_the_same_message_id_twice_makes_two_files(tmp_path):
    first = store(tmp_path, MESSAGE, "a@acme.test", ["b@example.test"])
    second = store(tmp_path, MESSAGE, "a@acme.test", ["b@example.test"])

    assert first != second
    assert len(list(tmp_path.glob("*.eml"))) == 2


def test_a_message_with_a_date_is_named_by_that_date(tmp_path):
    dated = MESSAGE.replace(
        b"Subject:", b"Date: Tue, 20 Jan 2026 09:00:00 +0100\r\nSubject:"
    )

    path = store(tmp_path, dated, "a@acme.test", ["b@example.test"])

    assert path.name.startswith("20260120T080000000000Z-c-42.reminder@acme.test")


def test_an_address_under_the_invalid_domain_is_unreachable():
    assert unreachable("ap@gone.invalid")
    assert unreachable("ap@INVALID")
    assert not unreachable("ap@beta.example")
    assert not unreachable("ap@invalid.example")


async def test_the_sink_refuses_an_unreachable_recipient_and_takes_the_others(
    tmp_path,
):
    server = await listening("127.0.0.1", 0, tmp_path)
    port = server.sockets[0].getsockname()[1]
    try:
        client = aiosmtplib.SMTP(hostname="127.0.0.1", port=port)
        async with client:
            with pytest.raises(aiosmtplib.SMTPRecipientsRefused) as refused:
                await client.sendmail("a@acme.test", ["x@gone.invalid"], MESSAGE)
            await client.sendmail("a@acme.test", ["b@example.test"], MESSAGE)
    finally:
        server.close()
        await server.wait_closed()

    assert refused.value.recipients[0].code == 550
    assert len(list(tmp_path.glob("*.eml"))) == 1
