import textwrap
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from shared.events.inbound import (
    InboundCreditNoteIssued,
    InboundDebtorUpdated,
    InboundInvoiceIssued,
    InboundInvoiceWrittenOff,
    InboundPaymentReceived,
)
from shared.simulation.scenario import (
    DisputeToOpen,
    DisputeToResolve,
    EscalationToApply,
    PauseToApply,
    PlanToAgree,
    PromiseToRecord,
    Scenario,
    ScenarioError,
    load_scenario,
    scenario_from_text,
)

POLICIES = Path(__file__).parents[3] / "policies"
BERLIN = ZoneInfo("Europe/Berlin")

# The example of SPEC §7, as it is written there.
EXAMPLE = textwrap.dedent(
    """\
    # scenario
    start: 2026-01-05T08:00:00+01:00
    days: 120
    creditor: {id: acme, name: ACME Supplies GmbH, country: DE,
               timezone: Europe/Berlin, currency: EUR, language: de}
    policy: standard-b2b.yaml        # path relative to the scenario, or inline
    debtors:
      - {id: d1, name: Beta GmbH, email: ap@beta.example, language: de,
         address: {lines: [Beta GmbH, Hauptstr. 1], postcode: "10115",
                   city: Berlin, country: DE}}
    events:                          # applied at day N, 10:00 creditor time
      - {day: 0, type: invoice.issued, debtor: d1, invoice: INV-1,
         amount: "1200.00", issued: 2026-01-05, due: 2026-01-19}
      - {day: 20, type: payment.received, debtor: d1, amount: "200.00"}
      - {day: 25, type: promise.recorded, debtor: d1, amount: "1000.00",
         date: 2026-02-10}
    """
)


def loaded(text: str = EXAMPLE, **overrides: object) -> Scenario:
    return scenario_from_text(text, base=POLICIES, name="demo.yaml", **overrides)  # type: ignore[arg-type]


def problems_of(text: str, **overrides: object) -> list[str]:
    with pytest.raises(ScenarioError) as caught:
        loaded(text, **overrides)
    return str(caught.value).splitlines()


def replaced(old: str, new: str, text: str = EXAMPLE) -> str:
    assert old in text
    return text.replace(old, new)


def with_events(*lines: str) -> str:
    """The example with its events replaced by `lines`, one event each."""
    head = EXAMPLE[: EXAMPLE.index("events:")]
    return head + "events:\n" + "".join(f"  - {line}\n" for line in lines)


def invoice_issued(day: int, amount: str) -> str:
    """An event issuing INV-1 to d1 on 2026-01-05, due 2026-01-19."""
    return (
        f"{{day: {day}, type: invoice.issued, debtor: d1, invoice: INV-1,"
        f' amount: "{amount}", issued: 2026-01-05, due: 2026-01-19}}'
    )


# Lines 1 to 11 are the example's head; the first event of `with_events` is on 12.
FIRST_EVENT_LINE = 12


def test_the_example_of_the_spec_loads_with_its_moments_in_creditor_time() -> None:
    scenario = loaded()

    assert scenario.start == datetime(
        2026, 1, 5, 8, tzinfo=timezone(timedelta(hours=1))
    )
    assert scenario.days == 120
    assert scenario.end == datetime(2026, 5, 5, 8, tzinfo=timezone(timedelta(hours=1)))
    assert scenario.creditor_id == "acme"
    assert scenario.policy.name == "standard-b2b"
    assert [
        (event.line, event.day, event.at, event.type) for event in scenario.events
    ] == [
        (12, 0, datetime(2026, 1, 5, 10, tzinfo=BERLIN), "invoice.issued"),
        (14, 20, datetime(2026, 1, 25, 10, tzinfo=BERLIN), "payment.received"),
        (15, 25, datetime(2026, 1, 30, 10, tzinfo=BERLIN), "promise.recorded"),
    ]
    assert scenario.events[0].at.isoformat() == "2026-01-05T10:00:00+01:00"


def test_the_example_s_facts_are_inbound_payloads_ready_to_send() -> None:
    invoice, payment, promise = loaded().events

    assert invoice.fact == InboundInvoiceIssued(
        number="INV-1",
        issued_on=date(2026, 1, 5),
        due_on=date(2026, 1, 19),
        currency="EUR",
        amount=Decimal("1200.00"),
    )
    assert payment.fact == InboundPaymentReceived(
        payment_id="PAY-d1-1",
        currency="EUR",
        amount=Decimal("200.00"),
        received_on=date(2026, 1, 25),
    )
    assert (invoice.command, payment.command) == (None, None)
    assert promise.fact is None
    assert promise.command == PromiseToRecord(Decimal("1000.00"), date(2026, 2, 10))


def test_a_creditor_left_short_gets_an_address_branding_and_payment_link() -> None:
    creditor = loaded().creditor

    assert creditor.legal_name == "ACME Supplies GmbH"
    assert creditor.address.lines == ["ACME Supplies GmbH"]
    assert (creditor.address.city, creditor.address.country) == ("Berlin", "DE")
    assert creditor.branding.sender_name == "ACME Supplies GmbH"
    assert creditor.branding.sender_email == "collections@acme.example"
    assert str(creditor.payment_link) == "https://pay.example/acme"
    assert (creditor.paper, creditor.bank, creditor.late_fees) == ("A4", None, None)


def test_a_creditor_with_bank_details_gets_no_invented_payment_link() -> None:
    text = replaced(
        "language: de}\n",
        "language: de,\n"
        "           bank: {account_holder: ACME, iban: DE89370400440532013000}}\n",
    )

    creditor = loaded(text).creditor

    assert creditor.payment_link is None
    assert creditor.bank is not None and creditor.bank.iban == "DE89370400440532013000"


def test_a_debtor_s_country_is_its_address_s_else_the_creditor_s() -> None:
    text = replaced(
        "debtors:\n",
        "debtors:\n"
        "  - {id: d2, name: Gamma SARL, email_opt_out: true, reference: K-7}\n",
    )

    scenario = loaded(text)

    assert [(debtor.id, debtor.line) for debtor in scenario.debtors] == [
        ("d2", 8),
        ("d1", 9),
    ]
    gamma, beta = (debtor.upserted for debtor in scenario.debtors)
    assert (gamma.country, gamma.email_opt_out, gamma.reference) == ("DE", True, "K-7")
    assert beta.country == "DE"
    assert beta.address is not None and beta.address.city == "Berlin"


def test_start_and_days_given_on_the_command_line_override_the_file_s() -> None:
    start = datetime(2026, 3, 2, 9, tzinfo=BERLIN)

    scenario = loaded(start=start, days=30)

    assert (scenario.start, scenario.days) == (start, 30)
    assert scenario.events[0].at == datetime(2026, 3, 2, 10, tzinfo=BERLIN)
    assert scenario.events[2].at == datetime(2026, 3, 27, 10, tzinfo=BERLIN)


def test_events_are_in_time_order_and_in_file_order_at_one_moment() -> None:
    text = with_events(
        '{day: 3, type: payment.received, debtor: d1, amount: "1.00", time: "09:15"}',
        '{day: 1, type: payment.received, debtor: d1, amount: "2.00"}',
        '{day: 1, type: payment.received, debtor: d1, amount: "3.00",'
        ' time: "10:00:00"}',
    )

    events = loaded(text).events

    assert [(event.at, event.line) for event in events] == [
        (datetime(2026, 1, 6, 10, tzinfo=BERLIN), 13),
        (datetime(2026, 1, 6, 10, tzinfo=BERLIN), 14),
        (datetime(2026, 1, 8, 9, 15, tzinfo=BERLIN), 12),
    ]
    # Payment ids count each debtor's payments in file order, not time order.
    assert [event.fact.payment_id for event in events] == [  # type: ignore[union-attr]
        "PAY-d1-2",
        "PAY-d1-3",
        "PAY-d1-1",
    ]


def test_a_day_s_moment_follows_the_creditor_s_clock_across_summer_time() -> None:
    text = with_events("{day: 90, type: case.escalated, debtor: d1}")

    (event,) = loaded(text).events

    assert event.at.isoformat() == "2026-04-05T10:00:00+02:00"
    assert event.command == EscalationToApply(reason=None)


def test_every_ledger_type_becomes_its_inbound_fact_with_its_defaults() -> None:
    text = with_events(
        '{day: 0, type: invoice.issued, debtor: d1, invoice: INV-1, amount: "100",'
        " issued: 2026-01-01, due: 2026-01-31, currency: CHF}",
        '{day: 2, type: credit_note.issued, debtor: d1, amount: "10.00",'
        " invoice: INV-1}",
        "{day: 3, type: invoice.written_off, debtor: d1, invoice: INV-1, reason: lost}",
        "{day: 4, type: debtor.updated, debtor: d1, email: new@beta.example}",
        '{day: 5, type: payment.received, debtor: d1, amount: "5.00", id: BANK-77,'
        " received: 2026-01-09, currency: CHF}",
    )

    facts = [event.fact for event in loaded(text).events]

    assert facts[0] == InboundInvoiceIssued(
        number="INV-1",
        issued_on=date(2026, 1, 1),
        due_on=date(2026, 1, 31),
        currency="CHF",
        amount=Decimal("100.00"),
    )
    assert facts[1] == InboundCreditNoteIssued(
        number="CN-d1-1",
        issued_on=date(2026, 1, 7),
        currency="EUR",
        amount=Decimal("10.00"),
        invoice="INV-1",
    )
    assert facts[2] == InboundInvoiceWrittenOff(
        number="INV-1", written_off_on=date(2026, 1, 8), reason="lost"
    )
    assert isinstance(facts[3], InboundDebtorUpdated)
    assert facts[3].to_data() == {"email": "new@beta.example"}
    assert facts[4] == InboundPaymentReceived(
        payment_id="BANK-77",
        currency="CHF",
        amount=Decimal("5.00"),
        received_on=date(2026, 1, 9),
    )


def test_every_collector_type_becomes_its_command() -> None:
    text = with_events(
        invoice_issued(day=0, amount="100"),
        "{day: 1, type: dispute.opened, debtor: d1, invoice: INV-1}",
        "{day: 2, type: dispute.resolved, debtor: d1, invoice: INV-1,"
        " resolution: rejected, note: checked}",
        "{day: 3, type: plan.agreed, debtor: d1, installments:"
        ' [{date: 2026-02-01, amount: "50.00"}, {date: 2026-03-01, amount: "50"}]}',
        "{day: 4, type: case.paused, debtor: d1, until: 2026-02-01, note: holiday}",
        "{day: 5, type: case.escalated, debtor: d1, reason: no answer}",
        '{day: 6, type: promise.recorded, debtor: d1, amount: "100", date: 2026-01-20,'
        " note: by phone}",
    )

    commands = [event.command for event in loaded(text).events][1:]

    assert commands == [
        DisputeToOpen("INV-1", "disputed by the debtor"),
        DisputeToResolve("INV-1", "rejected", "checked"),
        PlanToAgree(
            ((date(2026, 2, 1), Decimal("50.00")), (date(2026, 3, 1), Decimal("50")))
        ),
        PauseToApply(date(2026, 2, 1), "holiday"),
        EscalationToApply("no answer"),
        PromiseToRecord(Decimal("100"), date(2026, 1, 20), "by phone"),
    ]
    # Amounts are held at the currency's minor unit, as the timeline shows them.
    assert str(commands[-1].amount) == "100.00"  # type: ignore[union-attr]


def test_an_inline_policy_is_read_from_the_scenario_itself() -> None:
    text = replaced(
        "policy: standard-b2b.yaml",
        "policy:\n  name: inline\n  ladder:\n"
        "    - {stage: reminder, after_days: 1, channels: [email]}",
    )

    assert loaded(text).policy.name == "inline"


def test_the_same_file_always_gives_the_same_scenario(tmp_path: Path) -> None:
    (tmp_path / "standard-b2b.yaml").write_text(
        (POLICIES / "standard-b2b.yaml").read_text()
    )
    (tmp_path / "demo.yaml").write_text(EXAMPLE)

    first = load_scenario(tmp_path / "demo.yaml")
    second = load_scenario(tmp_path / "demo.yaml")

    assert first == second
    assert first.source == str(tmp_path / "demo.yaml")


# Mistakes: each names its file, line and field.


def test_an_unknown_field_is_named_with_the_closest_known_one() -> None:
    text = replaced('amount: "200.00"}', 'amont: "200.00"}')

    assert problems_of(text) == [
        "demo.yaml:14: events[1].amount: is required",
        "demo.yaml:14: events[1].amont: unknown key; did you mean `amount`?",
    ]


def test_an_unknown_top_level_key_and_creditor_key_are_named() -> None:
    text = replaced("days: 120", "dayz: 120\ndays: 120")
    text = replaced("currency: EUR", "curency: EUR", text)

    assert problems_of(text) == [
        "demo.yaml:3: dayz: unknown key; did you mean `days`?",
        "demo.yaml:5: creditor.currency: is required",
        "demo.yaml:6: creditor.curency: unknown key; did you mean `currency`?",
    ]


def test_an_unknown_type_is_named_with_the_closest_known_one() -> None:
    text = replaced("type: promise.recorded", "type: promise.made")

    assert problems_of(text) == [
        "demo.yaml:15: events[2].type: unknown type `promise.made`; "
        "did you mean `promise.recorded`?"
    ]


@pytest.mark.parametrize(
    ("amount", "expected"),
    [
        ("200.5", 'must be quoted, like "200.5": money is never a float'),
        ('"200.555"', "200.555 has more decimals than EUR allows (2)"),
        ('"2OO"', "'2OO' is not a plain decimal number like '1250.00'"),
        ('"0.00"', "must be above zero"),
        ('"-5"', "must be above zero"),
        ("true", 'must be an amount in quotes, like "1200.00"'),
    ],
)
def test_a_bad_amount_says_what_is_wrong_with_it(amount: str, expected: str) -> None:
    text = replaced('amount: "200.00"', f"amount: {amount}")

    assert problems_of(text) == [f"demo.yaml:14: events[1].amount: {expected}"]


def test_a_missing_field_is_reported_on_its_event_s_line() -> None:
    text = replaced(', amount: "1000.00",\n     date:', ",\n     date:")

    assert problems_of(text) == ["demo.yaml:15: events[2].amount: is required"]


def test_an_undeclared_debtor_is_named_with_the_declared_ones() -> None:
    text = replaced("payment.received, debtor: d1", "payment.received, debtor: d11")

    assert problems_of(text) == [
        "demo.yaml:14: events[1].debtor: unknown debtor `d11`; did you mean `d1`?"
    ]


def test_an_event_on_or_after_the_last_day_is_refused() -> None:
    assert problems_of(EXAMPLE, days=25) == [
        "demo.yaml:15: events[2].day: must be less than days (25)"
    ]


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "day: 0,",
            "day: 0, time: '07:59',",
            "demo.yaml:12: events[0].time: falls at 2026-01-05T07:59:00+01:00, "
            "before start (2026-01-05T08:00:00+01:00)",
        ),
        (
            "08:00:00+01:00",
            "11:00:00+01:00",
            "demo.yaml:12: events[0].day: falls at 2026-01-05T10:00:00+01:00, "
            "before start (2026-01-05T11:00:00+01:00)",
        ),
        (
            "day: 20,",
            "day: 20, time: '25:00',",
            'demo.yaml:14: events[1].time: must be a time like "14:30" or "14:30:15", '
            "not '25:00'",
        ),
    ],
)
def test_an_event_before_the_start_or_at_no_time_of_day_is_refused(
    old: str, new: str, expected: str
) -> None:
    assert problems_of(replaced(old, new)) == [expected]


def test_a_start_without_offset_is_refused_from_the_file_or_the_command_line() -> None:
    naive = replaced("08:00:00+01:00", "08:00:00")

    assert problems_of(naive) == [
        "demo.yaml:2: start: has no timezone offset; "
        "write it like 2026-01-05T08:00:00+01:00"
    ]
    assert problems_of(EXAMPLE, start=datetime(2026, 1, 5, 8)) == [
        "demo.yaml: start: (--start) has no timezone offset; "
        "write it like 2026-01-05T08:00:00+01:00"
    ]


def test_missing_start_days_creditor_and_policy_are_each_reported() -> None:
    text = "debtors: []\nevents: []\n"

    assert problems_of(text) == [
        "demo.yaml:1: start: is required: the first moment, "
        "like 2026-01-05T08:00:00+01:00",
        "demo.yaml:1: days: is required: how many days the scenario runs",
        "demo.yaml:1: creditor: is required: "
        "id, name, country, timezone, currency, language",
        "demo.yaml:1: policy: is required: a policy file's path, or the policy itself",
    ]


def test_a_policy_file_that_does_not_exist_is_named() -> None:
    text = replaced("standard-b2b.yaml", "standard.yaml")

    assert problems_of(text) == [
        "demo.yaml:6: policy: standard.yaml: cannot be read: No such file or directory"
    ]


def test_a_policy_file_s_problem_names_the_policy_s_own_line(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text(
        "name: bad\nladder:\n  - {stage: reminder, after_days: 1, chanels: [email]}\n"
    )
    text = replaced("standard-b2b.yaml", "bad.yaml")

    with pytest.raises(ScenarioError) as caught:
        scenario_from_text(text, base=tmp_path, name="demo.yaml")

    assert str(caught.value) == (
        "demo.yaml:6: policy: bad.yaml:3: ladder[0].chanels: "
        "unknown key; did you mean `channels`?"
    )


def test_an_inline_policy_s_problem_is_on_its_line_in_the_scenario() -> None:
    text = replaced(
        "policy: standard-b2b.yaml",
        "policy:\n  name: inline\n  ladder:\n"
        "    - {stage: reminder, after_days: -1, channels: [email]}",
    )

    assert problems_of(text) == [
        "demo.yaml:9: policy.ladder[0].after_days: must be 0 or more"
    ]


def test_a_debtor_declared_twice_is_refused_at_its_second_line() -> None:
    text = replaced("debtors:\n", "debtors:\n  - {id: d1, name: Other AG}\n")

    assert problems_of(text) == [
        "demo.yaml:9: debtors[1].id: d1 is already a debtor (line 8)"
    ]


def test_an_invoice_issued_twice_to_one_debtor_is_refused() -> None:
    text = with_events(
        invoice_issued(day=0, amount="1"),
        invoice_issued(day=1, amount="2"),
    )

    assert problems_of(text) == [
        "demo.yaml:13: events[1].invoice: INV-1 is already issued to d1 (line 12)"
    ]


def test_an_invoice_named_before_it_is_issued_or_never_is_refused() -> None:
    text = with_events(
        "{day: 1, type: dispute.opened, debtor: d1, invoice: INV-1}",
        invoice_issued(day=2, amount="1"),
        '{day: 3, type: payment.received, debtor: d1, amount: "1", invoice: INV-2}',
    )

    assert problems_of(text) == [
        "demo.yaml:12: events[0].invoice: INV-1 is issued only later (line 13)",
        "demo.yaml:14: events[2].invoice: INV-2 is not issued to d1 in this scenario",
    ]


def test_an_invoice_due_before_it_is_issued_is_refused() -> None:
    text = replaced("due: 2026-01-19", "due: 2026-01-04")

    assert problems_of(text) == [
        "demo.yaml:13: events[0].due: is before issued (2026-01-05)"
    ]


@pytest.mark.parametrize(
    ("installments", "expected"),
    [
        ("[]", "events[0].installments: must not be empty"),
        (
            '[{date: 2026-02-01, amount: "5"}, {date: 2026-02-01, amount: "5"}]',
            "events[0].installments[1].date: "
            "must be after the installment before it (2026-02-01)",
        ),
        (
            '[{date: 2026-02-01, amount: "5.001"}]',
            "events[0].installments[0].amount: "
            "5.001 has more decimals than EUR allows (2)",
        ),
        (
            "[{date: 2026-02-01, amount: 5.5}]",
            "events[0].installments[0].amount: "
            'must be quoted, like "5.5": money is never a float',
        ),
        (
            '[{date: 2026-02-01, amout: "5"}]',
            "events[0].installments[0].amount: is required",
        ),
    ],
)
def test_bad_installments_are_refused(installments: str, expected: str) -> None:
    text = with_events(
        f"{{day: 3, type: plan.agreed, debtor: d1, installments: {installments}}}"
    )

    assert problems_of(text)[0] == f"demo.yaml:{FIRST_EVENT_LINE}: {expected}"


def test_a_pause_must_end_after_its_day() -> None:
    text = with_events("{day: 3, type: case.paused, debtor: d1, until: 2026-01-08}")

    assert problems_of(text) == [
        "demo.yaml:12: events[0].until: must be after the event's day (2026-01-08)"
    ]


def test_every_problem_is_reported_at_once_in_file_order() -> None:
    text = replaced("days: 120", "days: 10")
    text = replaced("language: de}", "languag: de}", text)
    text = replaced("policy: standard-b2b.yaml", "policy: nowhere.yaml", text)
    text = replaced(
        "payment.received, debtor: d1", "payment.received, debtor: d2", text
    )
    text = replaced('amount: "1000.00"', "amount: 1000.0", text)

    assert problems_of(text) == [
        "demo.yaml:4: creditor.language: is required",
        "demo.yaml:5: creditor.languag: unknown key; did you mean `language`?",
        "demo.yaml:6: policy: nowhere.yaml: cannot be read: No such file or directory",
        "demo.yaml:14: events[1].day: must be less than days (10)",
        "demo.yaml:14: events[1].debtor: unknown debtor `d2`; known debtors are d1",
        "demo.yaml:15: events[2].day: must be less than days (10)",
        'demo.yaml:15: events[2].amount: must be quoted, like "1000.0": '
        "money is never a float",
    ]


def test_a_file_that_is_not_yaml_says_where() -> None:
    assert problems_of("days: [1,\n") == [
        "demo.yaml:2: is not valid YAML at line 2, column 1: "
        "expected the node content, but found '<stream end>'"
    ]


def test_a_missing_file_cannot_be_read(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError) as caught:
        load_scenario(tmp_path / "none.yaml")

    assert str(caught.value) == (
        f"{tmp_path / 'none.yaml'}: cannot be read: No such file or directory"
    )


def test_an_invoice_issued_at_the_same_moment_but_later_in_the_file_is_too_late() -> (
    None
):
    text = with_events(
        "{day: 1, type: invoice.written_off, debtor: d1, invoice: INV-1}",
        invoice_issued(day=1, amount="1"),
    )

    assert problems_of(text) == [
        "demo.yaml:12: events[0].invoice: INV-1 is issued only later (line 13)"
    ]


def test_a_debtor_update_cannot_change_the_id_or_clear_the_name() -> None:
    text = with_events(
        "{day: 1, type: debtor.updated, debtor: d1, id: d9}",
        "{day: 1, type: debtor.updated, debtor: d1, name: null}",
    )

    problems = problems_of(text)

    assert problems[0].startswith("demo.yaml:12: events[0].id: unknown key; known keys")
    assert problems[1:] == [
        "demo.yaml:13: events[1]: name can be changed but not cleared"
    ]


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        (
            "{day: true, type: case.escalated, debtor: d1}",
            "events[0].day: must be a whole number, not true",
        ),
        (
            "{day: 1, type: [case.escalated], debtor: d1}",
            "events[0].type: must be the name of a type, like invoice.issued",
        ),
        (
            "[1, 2]",
            "events[0]: an event is a mapping, like {day: 0, type: ..., debtor: ...}",
        ),
    ],
)
def test_an_event_of_the_wrong_shape_is_refused(event: str, expected: str) -> None:
    assert problems_of(with_events(event)) == [f"demo.yaml:12: {expected}"]
