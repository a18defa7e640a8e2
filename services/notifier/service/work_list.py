"""The notifier's durable work: the contacts received, their leases, the sent-log.

Every method is one database transaction. A contact is recorded once, tried
by one process at a time (the one holding its lease), and closed when each
of its channels has an outcome; each outcome is written to the sent-log
(`deliveries`) with its `notifier.events` envelope in the outbox.
"""

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from services.notifier.adapters.tables import (
    ContactRow,
    CreditorRow,
    DebtorRow,
    DeliveryRow,
    InvoiceRow,
    LetterRow,
    OutboxMessage,
)
from services.notifier.domain.delivery import Standing, fallback_after_bounce
from services.notifier.domain.documents import StatementLine
from services.notifier.errors import NotReady
from services.notifier.service.drafting import statement_of
from services.notifier.service.transactions import transaction, utc
from shared.events import Envelope, parse_payload
from shared.events import notifier as outcomes
from shared.events.contacts import SendContact
from shared.events.creditors import CreditorProfile
from shared.events.ids import stable_id
from shared.events.parties import DebtorDetails
from shared.outbox import enqueue
from shared.topics import NOTIFIER_EVENTS

logger = logging.getLogger(__name__)

LEASE = timedelta(minutes=5)
"""How long one process holds a contact it is trying; a crash frees it after.
Longer than a try can take: every SMTP attempt timing out, and the waits."""

FIRST_RETRY = timedelta(seconds=5)
LAST_RETRY = timedelta(minutes=15)
"""A contact tried again waits 5 s, then twice as long each time, up to 15 min."""

FINAL = frozenset({"sent", "failed", "bounced", "skipped"})
"""Sent-log states after which a channel is not tried again."""

DUE_AT_ONCE = 200
"""Contacts a look for due tries hands over at most."""


@dataclass
class Job:
    """One try of one contact, with what the notifier knew when it began."""

    envelope: Envelope
    contact: SendContact
    attempts: int
    profile: CreditorProfile | None
    details: DebtorDetails | None
    standing: dict[str, Standing]
    statement: tuple[StatementLine, ...]
    done: dict[str, str] = field(default_factory=dict)
    """Channel -> its sent-log state, for channels tried before."""

    @property
    def creditor_id(self) -> str:
        return self.envelope.creditor

    @property
    def debtor_id(self) -> str:
        return self.envelope.debtor or ""

    @property
    def ids(self) -> dict[str, Any]:
        return {
            "contact_id": self.contact.contact_id,
            "creditor": self.creditor_id,
            "debtor": self.debtor_id,
            "template": self.contact.template,
        }


def outcome_fields(contact: SendContact) -> dict[str, Any]:
    """What every outcome repeats of its contact (SPEC §7's timeline reads it)."""
    return {
        "contact_id": contact.contact_id,
        "case_id": contact.case_id,
        "step": contact.step,
        "template": contact.template,
        "language": contact.language,
        "currency": contact.currency,
        "amount_due": contact.amount_due,
        "invoices": [i.number for i in contact.invoices],
    }


def retry_wait(attempts: int) -> timedelta:
    """5 s after the first try, doubling with each, at most 15 min."""
    # Doubling stops long before the cap is passed: 2**n of a timedelta
    # overflows once a contact has waited through a few dozen tries.
    doublings = min(max(attempts - 1, 0), 16)
    wait: timedelta = FIRST_RETRY * 2**doublings
    return min(wait, LAST_RETRY)


class WorkList:
    """The contacts table, the sent-log and the outbox of one notifier database."""

    def __init__(self, engine: Engine, *, lease: timedelta = LEASE) -> None:
        self.engine = engine
        self.lease = lease

    # -- contacts in and out -------------------------------------------------

    def receive(
        self, contacts: Sequence[tuple[Envelope, SendContact]], now: datetime
    ) -> list[str]:
        """Record contacts; return those to try now.

        A contact received before is not recorded again; one already done is
        not tried again, so a redelivered `contact.due` changes nothing. A
        contact due later than now waits for its moment.
        """
        by_id = {contact.contact_id: (e, contact) for e, contact in contacts}
        with transaction(self.engine) as session:
            known = {
                row.contact_id: row
                for row in session.exec(
                    select(ContactRow).where(col(ContactRow.contact_id).in_(by_id))
                )
            }
            ready = []
            for contact_id, (envelope, contact) in by_id.items():
                row = known.get(contact_id)
                if row is None:
                    due = max(utc(contact.due_at), now)
                    session.add(
                        ContactRow(
                            contact_id=contact_id,
                            creditor_id=envelope.creditor,
                            debtor_id=envelope.debtor or "",
                            envelope=envelope.to_bytes(),
                            received_at=now,
                            next_attempt_at=due,
                        )
                    )
                    if due <= now:
                        ready.append(contact_id)
                elif row.done_at is None:
                    ready.append(contact_id)
                else:
                    logger.info(
                        "contact already handled",
                        extra={"contact_id": contact_id, "creditor": envelope.creditor},
                    )
        return ready

    def claim(self, contact_id: str, now: datetime) -> Job | None:
        """Take a contact's lease, and read what a try needs, in one transaction.

        None when the contact is done, or another process holds it. `now` is
        on the clock leases are measured on: the real one behind a shared
        virtual clock.
        """
        with transaction(self.engine) as session:
            claimed = session.execute(
                sa.update(ContactRow)
                .where(
                    col(ContactRow.contact_id) == contact_id,
                    col(ContactRow.done_at).is_(None),
                    sa.or_(
                        col(ContactRow.claimed_until).is_(None),
                        col(ContactRow.claimed_until) < now,
                    ),
                )
                .values(
                    claimed_until=now + self.lease, attempts=ContactRow.attempts + 1
                )
            )
            if claimed.rowcount != 1:  # type: ignore[attr-defined]
                return None
            row = session.get(ContactRow, contact_id)
            assert row is not None
            return _load(session, row)

    def close(self, job: Job, now: datetime) -> None:
        """Every channel has its outcome: the contact is done."""
        with transaction(self.engine) as session:
            row = session.get(ContactRow, job.contact.contact_id)
            if row is not None:
                row.done_at, row.next_attempt_at, row.claimed_until = now, None, None
                row.last_error = None

    def postpone(
        self, job: Job, error: BaseException, wait: timedelta, now: datetime
    ) -> None:
        """Free the lease and try again after `wait`, noting the kind of failure."""
        with transaction(self.engine) as session:
            row = session.get(ContactRow, job.contact.contact_id)
            if row is not None:
                row.next_attempt_at, row.claimed_until = now + wait, None
                row.last_error = type(error).__name__

    def due(self, now: datetime, held: datetime | None = None) -> list[str]:
        """Contacts whose next try has come by `now` and that no process holds
        at `held`, the moment on the clock of leases (by default `now`)."""
        held = now if held is None else held
        with transaction(self.engine) as session:
            return list(
                session.exec(
                    select(ContactRow.contact_id)
                    .where(
                        col(ContactRow.next_attempt_at) <= now,
                        col(ContactRow.done_at).is_(None),
                        sa.or_(
                            col(ContactRow.claimed_until).is_(None),
                            col(ContactRow.claimed_until) < held,
                        ),
                    )
                    .order_by(col(ContactRow.next_attempt_at))
                    .limit(DUE_AT_ONCE)
                )
            )

    def next_attempt(self) -> datetime | None:
        """When the earliest open contact is next due a try, or None."""
        with transaction(self.engine) as session:
            earliest = session.exec(
                select(sa.func.min(ContactRow.next_attempt_at)).where(
                    col(ContactRow.done_at).is_(None)
                )
            ).one()
        return utc(earliest) if earliest is not None else None

    def debtors_of(self, contact_ids: list[str]) -> list[tuple[str, str]]:
        """Each known contact with its debtor, in the order given."""
        with transaction(self.engine) as session:
            found = dict(
                session.exec(
                    select(ContactRow.contact_id, ContactRow.debtor_id).where(
                        col(ContactRow.contact_id).in_(contact_ids)
                    )
                ).all()
            )
        return [(i, found[i]) for i in contact_ids if i in found]

    @staticmethod
    def wake_waiting(
        session: Session,
        creditor: str,
        debtors: Sequence[str] | None,
        now: datetime,
    ) -> None:
        """Contacts postponed for want of this creditor, or of these of its
        debtors, are due at once. Only open contacts are looked at, by index."""
        waiting = sa.update(ContactRow).where(
            col(ContactRow.creditor_id) == creditor,
            col(ContactRow.done_at).is_(None),
            col(ContactRow.last_error) == NotReady.__name__,
        )
        if debtors is not None:
            waiting = waiting.where(col(ContactRow.debtor_id).in_(debtors))
        session.execute(waiting.values(next_attempt_at=now))

    # -- the sent-log ----------------------------------------------------------

    def sending(self, job: Job, message_id: str, now: datetime) -> None:
        """Note, committed, that the email is about to be handed to SMTP."""
        with transaction(self.engine) as session:
            _log(session, job, "email", "sending", now, message_id=message_id)
        job.done["email"] = "sending"

    def conclude(
        self,
        job: Job,
        channels: Sequence[str],
        state: str,
        payload: outcomes.ContactOutcome,
        now: datetime,
        *,
        letter: LetterRow | None = None,
        **facts: Any,
    ) -> None:
        """Record the channels' outcome in the sent-log, the letter in its batch,
        and the outcome's event in the outbox, in one transaction."""
        with transaction(self.engine) as session:
            if letter is not None:
                session.merge(letter)
            for channel in channels:
                _log(session, job, channel, state, now, **facts)
            _enqueue(session, job.envelope, payload, "+".join(channels), now)
        for channel in channels:
            job.done[channel] = state

    def bounce(self, contact_id: str, detail: str | None, now: datetime) -> bool:
        """A sent email bounced: log it, report it, and reopen the contact if a
        letter must follow. False when no sent email of ours has this id."""
        with transaction(self.engine) as session:
            delivery = session.get(DeliveryRow, (contact_id, "email"))
            row = session.get(ContactRow, contact_id)
            if delivery is None or row is None or delivery.state != "sent":
                return False
            envelope = Envelope.from_bytes(row.envelope)
            contact = parse_payload(envelope)
            assert isinstance(contact, SendContact)
            delivery.state, delivery.updated_at = "bounced", now
            payload = outcomes.ContactBounced(
                **outcome_fields(contact),
                message_id=delivery.message_id,
                detail=detail,
            )
            _enqueue(session, envelope, payload, "email", now)
            if fallback_after_bounce(contact.channels) is not None:
                row.done_at, row.next_attempt_at = None, now
        logger.info(
            "bounce report applied",
            extra={"contact_id": contact_id, "creditor": envelope.creditor},
        )
        return True


def _load(session: Session, row: ContactRow) -> Job:
    envelope = Envelope.from_bytes(row.envelope)
    contact = parse_payload(envelope)
    assert isinstance(contact, SendContact)
    creditor = session.get(CreditorRow, row.creditor_id)
    debtor = session.get(DebtorRow, (row.creditor_id, row.debtor_id))
    invoices = session.exec(
        select(InvoiceRow).where(
            InvoiceRow.creditor_id == row.creditor_id,
            InvoiceRow.debtor_id == row.debtor_id,
        )
    ).all()
    done = {
        delivery.channel: delivery.state
        for delivery in session.exec(
            select(DeliveryRow).where(DeliveryRow.contact_id == row.contact_id)
        )
    }
    return Job(
        envelope=envelope,
        contact=contact,
        attempts=row.attempts,
        profile=CreditorProfile.model_validate(creditor.profile) if creditor else None,
        details=DebtorDetails.model_validate(debtor.details) if debtor else None,
        standing={
            i.number: Standing(Decimal(i.balance), i.written_off) for i in invoices
        },
        statement=statement_of(invoices, contact.currency),
        done=done,
    )


def _log(
    session: Session, job: Job, channel: str, state: str, now: datetime, **facts: Any
) -> None:
    row = session.get(DeliveryRow, (job.contact.contact_id, channel))
    if row is None:
        row = DeliveryRow(
            contact_id=job.contact.contact_id,
            channel=channel,
            state=state,
            updated_at=now,
        )
        session.add(row)
    row.state, row.updated_at = state, now
    for name, value in facts.items():
        setattr(row, name, value)


def _enqueue(
    session: Session,
    contact_envelope: Envelope,
    payload: outcomes.ContactOutcome,
    channel: str,
    now: datetime,
) -> None:
    """The outcome's envelope, its id derived from the contact, channel and kind."""
    outcome = Envelope.wrap(
        payload,
        creditor=contact_envelope.creditor,
        debtor=contact_envelope.debtor,
        occurred_at=now,
        id=stable_id("outcome", payload.contact_id, channel, payload.event_type),
    )
    known = session.exec(
        select(OutboxMessage.position).where(OutboxMessage.event_id == outcome.id)
    ).first()
    if known is None:
        enqueue(session, OutboxMessage, outcome, NOTIFIER_EVENTS)
