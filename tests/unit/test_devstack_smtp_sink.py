from datetime import UTC, datetime
from email import message_from_bytes

from shared.devstack.smtp_sink import file_stem, store

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
