"""One realistic `data` per event type, keyed like the schema files.

They are what docs/events.md shows and what the contract tests validate, so
a change to a model that breaks a documented example fails the tests.
"""

from typing import Any, Final

_ADDRESS: Final = {
    "lines": ["Beta GmbH", "Buchhaltung", "Hauptstr. 1"],
    "postcode": "10115",
    "city": "Berlin",
    "country": "DE",
}

_DEBTOR: Final = {
    "name": "Beta GmbH",
    "email": "ap@beta.example",
    "email_opt_out": False,
    "language": "de",
    "timezone": "Europe/Berlin",
    "country": "DE",
    "address": _ADDRESS,
    "reference": "K-1001",
}

_OUTCOME: Final = {
    "contact_id": "5a0f3d4e-0c1b-5d8e-9a51-2f7c1d0e6b42",
    "case_id": "c-2026-0001",
    "step": "ladder:1",
    "template": "reminder",
    "language": "de",
    "currency": "EUR",
    "amount_due": "1200.00",
    "invoices": ["INV-1"],
}

EXAMPLES: Final[dict[str, dict[str, Any]]] = {
    "creditor.updated": {
        "legal_name": "ACME Supplies GmbH",
        "address": {
            "lines": ["ACME Supplies GmbH", "Industriestr. 5"],
            "postcode": "20095",
            "city": "Hamburg",
            "country": "DE",
        },
        "country": "DE",
        "timezone": "Europe/Berlin",
        "currency": "EUR",
        "language": "de",
        "paper": "A4",
        "branding": {
            "sender_name": "ACME Buchhaltung",
            "sender_email": "billing@acme.example",
            "accent_color": "#0a5c36",
        },
        "bank": {
            "account_holder": "ACME Supplies GmbH",
            "iban": "DE89370400440532013000",
            "bic": "COBADEFFXXX",
        },
        "late_fees": {
            "jurisdiction": "EU",
            "reference_rates": [
                {"valid_from": "2025-07-01", "rate": "1.27"},
                {"valid_from": "2026-01-01", "rate": "1.27"},
            ],
            "margin": "9",
        },
        "policy": {
            "name": "standard-b2b",
            "send_window": {
                "start": "09:00",
                "end": "17:00",
                "days": ["mon", "tue", "wed", "thu", "fri"],
            },
            "skip_holidays": True,
            "min_gap_days": 5,
            "min_balance": "5.00",
            "pre_due": {"days_before": 3},
            "ladder": [
                {
                    "stage": "reminder",
                    "after_days": 1,
                    "channels": ["email"],
                    "late_fees": False,
                    "action": None,
                },
                {
                    "stage": "second",
                    "after_days": 10,
                    "channels": ["email"],
                    "late_fees": False,
                    "action": None,
                },
                {
                    "stage": "final",
                    "after_days": 21,
                    "channels": ["email", "letter"],
                    "late_fees": True,
                    "action": None,
                },
                {
                    "stage": "agency",
                    "after_days": 45,
                    "channels": [],
                    "late_fees": False,
                    "action": "escalate",
                },
            ],
            "promise": {"grace_days": 1, "confirm": True},
            "plan": {"reminder_days_before": 3, "grace_days": 2},
            "dispute": {"acknowledge": True},
            "thank_you": True,
            "attach_statement": False,
        },
        "api_key_hashes": ["sha256:9f86d081884c7d659a2feaa0c55ad015"],
    },
    "debtor.upserted": _DEBTOR,
    "invoice.issued": {
        "number": "INV-1",
        "issued_on": "2026-01-05",
        "due_on": "2026-01-19",
        "currency": "EUR",
        "amount": "1200.00",
        "credit_applied": "0.00",
        "balance": "1200.00",
    },
    "invoice.adjusted": {
        "number": "INV-1",
        "reason": "credit_note",
        "credit_note": "CN-7",
        "currency": "EUR",
        "amount": "100.00",
        "balance": "900.00",
    },
    "invoice.written_off": {
        "number": "INV-1",
        "written_off_on": "2026-04-30",
        "currency": "EUR",
        "amount": "900.00",
        "reason": "Insolvency proceedings",
    },
    "payment.received": {
        "payment_id": "pay-20260125-01",
        "currency": "EUR",
        "amount": "1250.00",
        "received_on": "2026-01-25",
        "invoice": "INV-2",
        "reference": "INV-2 INV-1",
        "allocations": [
            {"invoice": "INV-2", "amount": "300.00", "balance_after": "0.00"},
            {"invoice": "INV-1", "amount": "900.00", "balance_after": "300.00"},
        ],
        "unallocated": "50.00",
        "debtor_credit": "50.00",
        "debtor_balance": "300.00",
    },
    "contact.due": {
        "contact_id": "5a0f3d4e-0c1b-5d8e-9a51-2f7c1d0e6b42",
        "case_id": "c-2026-0001",
        "step": "ladder:1",
        "template": "reminder",
        "channels": ["email"],
        "language": "de",
        "due_at": "2026-01-20T09:00:00+01:00",
        "currency": "EUR",
        "amount_due": "1200.00",
        "invoices": [
            {
                "number": "INV-1",
                "issued_on": "2026-01-05",
                "due_on": "2026-01-19",
                "amount": "1200.00",
                "balance": "1200.00",
            }
        ],
        "late_fees": False,
        "attach_statement": False,
    },
    "case.opened": {
        "case_id": "c-2026-0001",
        "currency": "EUR",
        "overdue_balance": "1200.00",
        "anchor_on": "2026-01-19",
        "invoices": ["INV-1"],
    },
    "case.paused": {
        "case_id": "c-2026-0001",
        "until": "2026-02-15",
        "note": "Managing director on leave until mid-February.",
    },
    "case.escalated": {
        "case_id": "c-2026-0001",
        "trigger": "ladder",
        "stage": "agency",
        "case_file": {
            "debtor": {"id": "d1", **_DEBTOR},
            "currency": "EUR",
            "overdue_balance": "1000.00",
            "opened_at": "2026-01-20T00:00:00+01:00",
            "invoices": [
                {
                    "number": "INV-1",
                    "issued_on": "2026-01-05",
                    "due_on": "2026-01-19",
                    "amount": "1200.00",
                    "balance": "1000.00",
                    "status": "open",
                }
            ],
            "contacts": [
                {
                    "contact_id": "5a0f3d4e-0c1b-5d8e-9a51-2f7c1d0e6b42",
                    "step": "ladder:1",
                    "template": "reminder",
                    "channel": "email",
                    "outcome": "sent",
                    "at": "2026-01-20T09:00:00+01:00",
                    "amount_due": "1200.00",
                    "invoices": ["INV-1"],
                }
            ],
            "promises": [
                {
                    "promise_id": "p-1",
                    "amount": "1000.00",
                    "promised_on": "2026-02-10",
                    "recorded_at": "2026-01-30T11:15:00+01:00",
                    "outcome": "broken",
                }
            ],
            "disputes": [],
            "plans": [],
            "notes": [
                {
                    "at": "2026-01-30T11:15:00+01:00",
                    "author": "m.keller",
                    "text": "Called; promised to pay after their own customer pays.",
                }
            ],
        },
    },
    "case.resolved": {
        "case_id": "c-2026-0001",
        "cause": "payment",
        "currency": "EUR",
        "overdue_balance": "0.00",
        "thank_you": True,
    },
    "promise.recorded": {
        "case_id": "c-2026-0001",
        "promise_id": "p-1",
        "currency": "EUR",
        "amount": "1000.00",
        "promised_on": "2026-02-10",
        "note": "Promised on the phone.",
    },
    "promise.kept": {
        "case_id": "c-2026-0001",
        "promise_id": "p-1",
        "currency": "EUR",
        "amount": "1000.00",
        "paid": "1000.00",
    },
    "promise.broken": {
        "case_id": "c-2026-0001",
        "promise_id": "p-1",
        "currency": "EUR",
        "amount": "1000.00",
        "paid": "250.00",
    },
    "dispute.opened": {
        "dispute_id": "dsp-1",
        "case_id": "c-2026-0001",
        "invoice": "INV-1",
        "reason": "Goods arrived damaged.",
    },
    "dispute.resolved": {
        "dispute_id": "dsp-1",
        "case_id": "c-2026-0001",
        "invoice": "INV-1",
        "resolution": "rejected",
        "note": "Delivery note signed without remarks.",
    },
    "plan.agreed": {
        "case_id": "c-2026-0001",
        "plan_id": "plan-1",
        "currency": "EUR",
        "installments": [
            {"due_on": "2026-03-01", "amount": "400.00"},
            {"due_on": "2026-04-01", "amount": "400.00"},
            {"due_on": "2026-05-01", "amount": "400.00"},
        ],
        "replaces": "p-1",
    },
    "plan.completed": {
        "case_id": "c-2026-0001",
        "plan_id": "plan-1",
        "currency": "EUR",
        "paid": "1200.00",
    },
    "plan.broken": {
        "case_id": "c-2026-0001",
        "plan_id": "plan-1",
        "currency": "EUR",
        "installment": 2,
        "expected": "800.00",
        "paid": "400.00",
    },
    "contact.sent": {
        **_OUTCOME,
        "channel": "email",
        "message_id": "<5a0f3d4e-0c1b-5d8e-9a51-2f7c1d0e6b42@acme.example>",
    },
    "contact.failed": {
        **_OUTCOME,
        "channel": "letter",
        "reason": "no_address",
    },
    "contact.bounced": {
        **_OUTCOME,
        "channel": "email",
        "message_id": "<5a0f3d4e-0c1b-5d8e-9a51-2f7c1d0e6b42@acme.example>",
        "detail": "550 5.1.1 mailbox unavailable",
    },
    "contact.skipped": {**_OUTCOME, "reason": "paid"},
    "inbound.debtor.upserted": _DEBTOR,
    "inbound.debtor.updated": {
        "email": "invoices@beta.example",
        "email_opt_out": False,
    },
    "inbound.invoice.issued": {
        "number": "INV-1",
        "issued_on": "2026-01-05",
        "due_on": "2026-01-19",
        "currency": "EUR",
        "amount": "1200.00",
    },
    "inbound.payment.received": {
        "payment_id": "pay-20260125-01",
        "currency": "EUR",
        "amount": "200.00",
        "received_on": "2026-01-25",
        "invoice": "INV-1",
    },
    "inbound.credit_note.issued": {
        "number": "CN-7",
        "issued_on": "2026-02-02",
        "currency": "EUR",
        "amount": "100.00",
        "invoice": "INV-1",
        "reason": "Damaged goods",
    },
    "inbound.invoice.written_off": {
        "number": "INV-1",
        "written_off_on": "2026-04-30",
        "reason": "Insolvency proceedings",
    },
}
