from shared.events.contacts import SendContact
from shared.events.examples import EXAMPLES
from shared.events.ids import contact_id, stable_id


def test_the_same_step_of_a_case_always_gets_the_same_contact_id() -> None:
    first = contact_id("acme", "d1", "c-1", "ladder:1")
    again = contact_id("acme", "d1", "c-1", "ladder:1")

    assert first == again


def test_another_step_case_debtor_or_creditor_gets_another_contact_id() -> None:
    base = contact_id("acme", "d1", "c-1", "ladder:1")

    assert base != contact_id("acme", "d1", "c-1", "ladder:2")
    assert base != contact_id("acme", "d1", "c-2", "ladder:1")
    assert base != contact_id("acme", "d2", "c-1", "ladder:1")
    assert base != contact_id("beta", "d1", "c-1", "ladder:1")


def test_parts_do_not_run_into_each_other() -> None:
    assert stable_id("a/b", "c") != stable_id("a", "b/c")


def test_a_contact_id_is_accepted_by_the_contact_command() -> None:
    data = {
        **EXAMPLES["contact.due"],
        "contact_id": contact_id("a", "d", None, "pre_due"),
    }

    assert SendContact.model_validate(data).contact_id == data["contact_id"]
