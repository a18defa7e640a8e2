"""The notifier's application service: each contact sent once, or skipped, or failed.

A `contact.due` is first recorded in the work list (`contacts`), then tried:
load what the notifier knows of the creditor and debtor, skip it if its
demand is paid, render and send each channel, and record each channel's
outcome in the sent-log with its `notifier.events` outcome in one
transaction. A try that fails for a passing reason (SMTP down, the creditor
not known yet) leaves the contact in the list for a later try.

Exactly once, as the debtor sees it (SPEC §6): the sent-log is read before
a channel is sent and written after; an email's row says `sending` before
it is handed to SMTP. What remains is the moment between the SMTP server's
acceptance and the commit of `sent`: a crash there sends the email again on
the next try, with the same Message-ID, and logs that it did.
"""

import asyncio
import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from email.message import EmailMessage
from typing import Any, Protocol
from zoneinfo import ZoneInfo

import anyio
import sqlalchemy as sa
from jinja2 import TemplateError
from sqlalchemy import Engine
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlmodel import Session, col, select

from services.notifier.adapters.print_room import PrintRoom, batch_name
from services.notifier.adapters.tables import (
    ContactRow,
    CreditorRow,
    DebtorRow,
    DeliveryRow,
    InvoiceRow,
    LetterRow,
    OutboxMessage,
)
from services.notifier.domain import late_fees
from services.notifier.domain.delivery import (
    Channel,
    Reach,
    Standing,
    channels_for,
    fallback_after_bounce,
    is_moot,
)
from services.notifier.domain.documents import ContactDocument, StatementLine
from services.notifier.domain.message_ids import message_id_for
from services.notifier.errors import (
    NotifierUnavailable,
    NotReady,
    PermanentDeliveryError,
    RenderFailed,
    TransientDeliveryError,
)
from services.notifier.rendering.errors import RenderingError
from services.notifier.rendering.mime import Attachment, compose_raw
from services.notifier.rendering.pdf import RenderedPdf
from services.notifier.rendering.templates import RenderedEmail
from services.notifier.service import projection
from services.notifier.service.transactions import transaction, utc
from shared.clock import Clock
from shared.events import Envelope, Payload, parse_payload
from shared.events import notifier as outcomes
from shared.events.contacts import SendContact
from shared.events.creditors import CreditorProfile, CreditorUpdated
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

STATEMENT_FILE = "statement.pdf"


class Templates(Protocol):
    def render_email(self, document: ContactDocument) -> RenderedEmail: ...
    def render_letter(self, document: ContactDocument) -> str: ...
    def render_statement(self, document: ContactDocument) -> str: ...
    def base_url(self, creditor_id: str) -> str: ...


class Press(Protocol):
    async def render(self, html: str, base_url: str | None = None) -> RenderedPdf: ...


class Mailer(Protocol):
    async def send(
        self,
        message: EmailMessage | bytes,
        *,
        sender: str,
        recipients: Sequence[str],
        contact_id: str | None = None,
    ) -> object: ...


@dataclass
class _Job:
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


class Notifier:
    """Receives contacts, tries them, and keeps what it needs to render them."""

    def __init__(
        self,
        engine: Engine,
        clock: Clock,
        *,
        templates: Templates,
        press: Press,
        mailer: Mailer,
        print_room: PrintRoom,
        envelope_sender: str | None = None,
        max_attempts: int = 12,
        concurrency: int = 8,
        lease: timedelta = LEASE,
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.templates = templates
        self.press = press
        self.mailer = mailer
        self.print_room = print_room
        self.envelope_sender = envelope_sender
        self.max_attempts = max_attempts
        self.lease = lease
        self._slots = asyncio.Semaphore(concurrency)

    # -- what the notifier follows ------------------------------------------

    def follow_creditor(self, envelope: Envelope) -> bool:
        """Keep a creditor's profile, whole, for rendering; wake contacts waiting."""
        payload = parse_payload(envelope)
        assert isinstance(payload, CreditorUpdated)
        profile = payload.to_data()
        for kept_elsewhere in ("policy", "api_key_hashes"):
            profile.pop(kept_elsewhere, None)
        now = utc(self.clock.now())
        with self._transaction() as session:
            row = session.get(CreditorRow, envelope.creditor)
            if row is None:
                session.add(
                    CreditorRow(id=envelope.creditor, profile=profile, updated_at=now)
                )
            else:
                row.profile, row.updated_at = profile, now
            self._wake_waiting(session, envelope.creditor, None, now)
        return True

    def follow_ledger_many(
        self, envelopes: Sequence[Envelope], payloads: Sequence[Payload]
    ) -> int:
        """Apply a poll's ledger events to details and balances, in one transaction."""
        now = utc(self.clock.now())
        with self._transaction() as session:
            for envelope, payload in zip(envelopes, payloads, strict=True):
                projection.apply(session, envelope, payload, now)
                session.flush()
                if envelope.type == "debtor.upserted":
                    self._wake_waiting(session, envelope.creditor, envelope.debtor, now)
        return len(envelopes)

    # -- contacts in --------------------------------------------------------

    def receive(self, envelopes: Sequence[Envelope]) -> list[str]:
        """Record contacts in the work list; return those to try now.

        A contact received before is not recorded again; one already done is
        not tried again, so a redelivered `contact.due` changes nothing. A
        contact due later than now waits for its moment.
        """
        now = utc(self.clock.now())
        by_id = {}
        for envelope in envelopes:
            contact = parse_payload(envelope)
            assert isinstance(contact, SendContact)
            by_id[contact.contact_id] = (envelope, contact)
        with self._transaction() as session:
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

    async def try_all(self, contact_ids: Iterable[str]) -> None:
        """Try contacts side by side, one debtor's in the order given."""
        by_debtor: dict[str, list[str]] = defaultdict(list)
        debtors = await anyio.to_thread.run_sync(self._debtors_of, list(contact_ids))
        for contact_id, debtor in debtors:
            by_debtor[debtor].append(contact_id)

        async def in_order(ids: list[str]) -> None:
            for contact_id in ids:
                async with self._slots:
                    await self.attempt(contact_id)

        async with anyio.create_task_group() as group:
            for ids in by_debtor.values():
                group.start_soon(in_order, ids)

    async def retry_due(self) -> int:
        """Try the contacts whose next try has come; returns how many were tried."""
        now = utc(self.clock.now())
        due = await anyio.to_thread.run_sync(self._due, now)
        if due:
            await self.try_all(due)
        return len(due)

    # -- one try of one contact ---------------------------------------------

    async def attempt(self, contact_id: str) -> None:
        """Try one contact: skip it, or send each of its channels, then close it."""
        now = utc(self.clock.now())
        job = await anyio.to_thread.run_sync(self._claim, contact_id, now)
        if job is None:
            return
        try:
            await self._deliver(job)
        except (NotReady, TransientDeliveryError, NotifierUnavailable) as error:
            await self._postpone(job, error)
        except (OperationalError, InterfaceError) as error:
            await self._postpone(job, NotifierUnavailable(type(error).__name__))
        except Exception as error:
            logger.exception(
                "contact failed unexpectedly, retry scheduled",
                extra={**job.ids, "error": type(error).__name__},
            )
            await self._postpone(job, error)

    async def _deliver(self, job: _Job) -> None:
        contact = job.contact
        if job.profile is None:
            raise NotReady("creditor")
        if job.details is None:
            raise NotReady("debtor")

        if is_moot(contact, job.standing):
            await self._conclude(job, None, "skipped", self._skipped(job, "paid"))
            await anyio.to_thread.run_sync(self._close, job, utc(self.clock.now()))
            return

        details = job.details
        reach = Reach(
            email=details.email is not None and not details.email_opt_out,
            postal=details.address is not None,
        )
        channels = channels_for(contact.channels, reach)
        document = self._document(job, job.profile, details)
        index = 0
        while index < len(channels):
            channel = channels[index]
            index += 1
            state = job.done.get(channel)
            if state not in FINAL:
                if channel == "email":
                    state = await self._email(job, document, resend=state == "sending")
                else:
                    await self._letter(job, document, reach)
            if channel == "email" and state in ("bounced", "failed"):
                fallback = fallback_after_bounce(channels)
                if fallback is not None:
                    channels.append(fallback)
        await anyio.to_thread.run_sync(self._close, job, utc(self.clock.now()))

    async def _email(
        self, job: _Job, document: ContactDocument, *, resend: bool
    ) -> str:
        """Render and send the email; return its sent-log state afterwards."""
        contact, profile, details = job.contact, document.creditor, document.debtor
        assert details.email is not None
        try:
            rendered = self.templates.render_email(document)
            attachments = []
            if contact.attach_statement and contact.is_demand:
                statement = await self.press.render(
                    self.templates.render_statement(document),
                    self.templates.base_url(job.creditor_id),
                )
                attachments.append(
                    Attachment(STATEMENT_FILE, "application/pdf", statement.data)
                )
        except (TemplateError, RenderingError, RenderFailed) as error:
            return await self._render_failed(job, "email", error)
        message_id = message_id_for(contact.contact_id, profile.branding.sender_email)
        message = compose_raw(
            document,
            rendered,
            message_id=message_id,
            to=details.email,
            attachments=attachments,
        )

        await anyio.to_thread.run_sync(self._sending, job, message_id)
        if resend:
            logger.warning(
                "sending again: the earlier send was not confirmed", extra=job.ids
            )
        try:
            await self.mailer.send(
                message,
                sender=self.envelope_sender or profile.branding.sender_email,
                recipients=[details.email],
                contact_id=contact.contact_id,
            )
        except PermanentDeliveryError as refusal:
            return await self._refused(job, refusal, message_id)
        except TransientDeliveryError:
            if job.attempts < self.max_attempts:
                raise
            failed = outcomes.ContactFailed(
                **self._outcome_fields(job),
                channel="email",
                reason="retries_exhausted",
                fallback=fallback_after_bounce(job.contact.channels),
            )
            await self._conclude(
                job, "email", "failed", failed, reason="retries_exhausted"
            )
            logger.error("email given up after every retry", extra=job.ids)
            return "failed"

        sent = outcomes.ContactSent(
            **self._outcome_fields(job), channel="email", message_id=message_id
        )
        await self._conclude(job, "email", "sent", sent, message_id=message_id)
        logger.info("email sent", extra=job.ids)
        return "sent"

    async def _refused(
        self, job: _Job, refusal: PermanentDeliveryError, message_id: str
    ) -> str:
        """A 5xx: the address refused is reported bounced; any other refusal
        (a policy, the sender) fails the email. A letter follows either way."""
        code = " ".join(str(p) for p in (refusal.code, refusal.status) if p)
        logger.info(
            "email refused for good", extra={**job.ids, "smtp_code": refusal.code}
        )
        if refusal.address_refused:
            bounced = outcomes.ContactBounced(
                **self._outcome_fields(job),
                message_id=message_id,
                detail=code or "refused",
            )
            await self._conclude(
                job, "email", "bounced", bounced, message_id=message_id
            )
            return "bounced"
        failed = outcomes.ContactFailed(
            **self._outcome_fields(job),
            channel="email",
            reason="smtp_permanent",
            detail=code or None,
            fallback=fallback_after_bounce(job.contact.channels),
        )
        await self._conclude(job, "email", "failed", failed, reason="smtp_permanent")
        return "failed"

    async def _letter(self, job: _Job, document: ContactDocument, reach: Reach) -> None:
        """Render the letter into today's print batch, or fail it without an address."""
        if not reach.postal:
            failed = outcomes.ContactFailed(
                **self._outcome_fields(job), channel="letter", reason="no_address"
            )
            await self._conclude(job, "letter", "failed", failed, reason="no_address")
            logger.info("letter failed: no postal address", extra=job.ids)
            return
        try:
            pdf = await self.press.render(
                self.templates.render_letter(document),
                self.templates.base_url(job.creditor_id),
            )
        except (TemplateError, RenderingError, RenderFailed) as error:
            await self._render_failed(job, "letter", error)
            return

        assert job.profile is not None
        day = utc(self.clock.now()).astimezone(ZoneInfo(job.profile.timezone)).date()
        relative = self.print_room.letter_path(
            job.creditor_id, day, job.contact.contact_id
        )
        await anyio.to_thread.run_sync(self.print_room.store, relative, pdf.data)
        batch = batch_name(job.creditor_id, day)
        sent = outcomes.ContactSent(
            **self._outcome_fields(job), channel="letter", batch=batch
        )
        letter = LetterRow(
            contact_id=job.contact.contact_id,
            creditor_id=job.creditor_id,
            debtor_id=job.debtor_id,
            day=day,
            template=job.contact.template,
            paper=job.profile.paper,
            pages=pdf.pages,
            path=relative,
            created_at=utc(self.clock.now()),
        )
        await self._conclude(job, "letter", "sent", sent, batch=batch, letter=letter)
        logger.info("letter produced", extra={**job.ids, "pages": pdf.pages})

    async def _render_failed(
        self, job: _Job, channel: Channel, error: Exception
    ) -> str:
        logger.error(
            "rendering failed",
            exc_info=error,
            extra={**job.ids, "channel": channel, "error": type(error).__name__},
        )
        failed = outcomes.ContactFailed(
            **self._outcome_fields(job),
            channel=channel,
            reason="render_failed",
            detail=type(error).__name__,
        )
        await self._conclude(job, channel, "failed", failed, reason="render_failed")
        return "failed"

    # -- bounce reports -----------------------------------------------------

    async def bounced(self, contact_id: str, detail: str | None = None) -> bool:
        """A bounce report for a sent email: the address is no good, a letter follows.

        Returns False when the report names no email of ours that was sent.
        """
        now = utc(self.clock.now())
        found = await anyio.to_thread.run_sync(self._bounce, contact_id, detail, now)
        if found:
            await self.attempt(contact_id)
        return found

    def _bounce(self, contact_id: str, detail: str | None, now: datetime) -> bool:
        with self._transaction() as session:
            delivery = session.get(DeliveryRow, (contact_id, "email"))
            row = session.get(ContactRow, contact_id)
            if delivery is None or row is None or delivery.state != "sent":
                return False
            envelope = Envelope.from_bytes(row.envelope)
            contact = parse_payload(envelope)
            assert isinstance(contact, SendContact)
            delivery.state, delivery.updated_at = "bounced", now
            payload = outcomes.ContactBounced(
                **_outcome_fields(contact),
                message_id=delivery.message_id,
                detail=detail,
            )
            self._enqueue(session, envelope, payload, "email", now)
            if fallback_after_bounce(contact.channels) is not None:
                row.done_at, row.next_attempt_at = None, now
        logger.info(
            "bounce report applied",
            extra={"contact_id": contact_id, "creditor": envelope.creditor},
        )
        return True

    # -- persistence ----------------------------------------------------------

    def _transaction(self) -> AbstractContextManager[Session]:
        return transaction(self.engine)

    def _claim(self, contact_id: str, now: datetime) -> _Job | None:
        """Take a contact's lease, and read what a try needs, in one transaction."""
        with self._transaction() as session:
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
            return self._load(session, row)

    def _load(self, session: Session, row: ContactRow) -> _Job:
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
        return _Job(
            envelope=envelope,
            contact=contact,
            attempts=row.attempts,
            profile=CreditorProfile.model_validate(creditor.profile)
            if creditor
            else None,
            details=DebtorDetails.model_validate(debtor.details) if debtor else None,
            standing={
                i.number: Standing(Decimal(i.balance), i.written_off) for i in invoices
            },
            statement=statement_of(invoices, contact.currency),
            done=done,
        )

    def _sending(self, job: _Job, message_id: str) -> None:
        now = utc(self.clock.now())
        with self._transaction() as session:
            self._log(session, job, "email", "sending", now, message_id=message_id)
        job.done["email"] = "sending"

    async def _conclude(
        self,
        job: _Job,
        channel: Channel | None,
        state: str,
        payload: outcomes.ContactOutcome,
        **facts: Any,
    ) -> None:
        """Record a channel's outcome (or, with no channel, the contact's) in the
        sent-log, and its event in the outbox, in one transaction."""
        letter = facts.pop("letter", None)
        logged = (
            [channel]
            if channel
            else [c for c in job.contact.channels if job.done.get(c) not in FINAL]
        )

        def record() -> None:
            now = utc(self.clock.now())
            with self._transaction() as session:
                if letter is not None:
                    session.merge(letter)
                for each in logged:
                    self._log(session, job, each, state, now, **facts)
                self._enqueue(session, job.envelope, payload, channel or "", now)

        await anyio.to_thread.run_sync(record)
        for each in logged:
            job.done[each] = state

    def _log(
        self,
        session: Session,
        job: _Job,
        channel: str,
        state: str,
        now: datetime,
        **facts: Any,
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
        self,
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
        if (
            session.exec(
                select(OutboxMessage.position).where(
                    OutboxMessage.event_id == outcome.id
                )
            ).first()
            is None
        ):
            enqueue(session, OutboxMessage, outcome, NOTIFIER_EVENTS)

    def _close(self, job: _Job, now: datetime) -> None:
        with self._transaction() as session:
            row = session.get(ContactRow, job.contact.contact_id)
            if row is not None:
                row.done_at, row.next_attempt_at, row.claimed_until = now, None, None
                row.last_error = None

    async def _postpone(self, job: _Job, error: BaseException) -> None:
        wait = min(FIRST_RETRY * 2 ** max(job.attempts - 1, 0), LAST_RETRY)

        def record() -> None:
            now = utc(self.clock.now())
            with self._transaction() as session:
                row = session.get(ContactRow, job.contact.contact_id)
                if row is not None:
                    row.next_attempt_at, row.claimed_until = now + wait, None
                    row.last_error = type(error).__name__

        try:
            await anyio.to_thread.run_sync(record)
        except (OperationalError, InterfaceError):
            logger.warning(
                "could not note the retry; the lease runs out", extra=job.ids
            )
        logger.warning(
            "contact postponed, retry scheduled",
            extra={
                **job.ids,
                "error": type(error).__name__,
                "attempt": job.attempts,
                "retry_in": wait.total_seconds(),
            },
        )

    def _wake_waiting(
        self, session: Session, creditor: str, debtor: str | None, now: datetime
    ) -> None:
        """Contacts postponed for want of this creditor or debtor are due at once."""
        waiting = sa.update(ContactRow).where(
            col(ContactRow.creditor_id) == creditor,
            col(ContactRow.done_at).is_(None),
            col(ContactRow.last_error) == NotReady.__name__,
        )
        if debtor is not None:
            waiting = waiting.where(col(ContactRow.debtor_id) == debtor)
        session.execute(waiting.values(next_attempt_at=now))

    def _due(self, now: datetime) -> list[str]:
        with self._transaction() as session:
            return list(
                session.exec(
                    select(ContactRow.contact_id)
                    .where(
                        col(ContactRow.next_attempt_at) <= now,
                        col(ContactRow.done_at).is_(None),
                        sa.or_(
                            col(ContactRow.claimed_until).is_(None),
                            col(ContactRow.claimed_until) < now,
                        ),
                    )
                    .order_by(col(ContactRow.next_attempt_at))
                    .limit(200)
                )
            )

    def _debtors_of(self, contact_ids: list[str]) -> list[tuple[str, str]]:
        with self._transaction() as session:
            found = dict(
                session.exec(
                    select(ContactRow.contact_id, ContactRow.debtor_id).where(
                        col(ContactRow.contact_id).in_(contact_ids)
                    )
                ).all()
            )
        return [(i, found[i]) for i in contact_ids if i in found]

    # -- documents ------------------------------------------------------------

    def _document(
        self, job: _Job, profile: CreditorProfile, details: DebtorDetails
    ) -> ContactDocument:
        contact = job.contact
        timezone = ZoneInfo(details.timezone or profile.timezone)
        sent_on = utc(self.clock.now()).astimezone(timezone).date()
        return ContactDocument(
            contact=contact,
            creditor_id=job.creditor_id,
            creditor=profile,
            debtor_id=job.debtor_id,
            debtor=details,
            sent_on=sent_on,
            fees=late_fees_for(contact, profile, sent_on),
            statement=job.statement,
        )

    def _outcome_fields(self, job: _Job) -> dict[str, Any]:
        return _outcome_fields(job.contact)

    def _skipped(self, job: _Job, reason: str) -> outcomes.ContactSkipped:
        return outcomes.ContactSkipped(
            **self._outcome_fields(job),
            reason=reason,
        )


def _outcome_fields(contact: SendContact) -> dict[str, Any]:
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


def late_fees_for(
    contact: SendContact, profile: CreditorProfile, sent_on: date
) -> late_fees.LateFees | None:
    """The stage's statutory fees, when it asks for them and the creditor set them."""
    settings = profile.late_fees
    if not contact.late_fees or settings is None:
        return None
    margin = (
        settings.margin
        if settings.margin is not None
        else late_fees.default_margin(settings.jurisdiction, profile.country)
    )
    return late_fees.assess(
        [
            late_fees.OverdueInvoice(i.number, i.due_on, i.balance)
            for i in contact.invoices
        ],
        jurisdiction=settings.jurisdiction,
        currency=contact.currency,
        rates=[
            late_fees.RatePeriod(r.valid_from, r.rate) for r in settings.reference_rates
        ],
        margin=margin,
        sent_on=sent_on,
    )


def statement_of(
    invoices: Sequence[InvoiceRow], currency: str
) -> tuple[StatementLine, ...]:
    """The debtor's open invoices in the contact's currency, oldest due first."""
    return tuple(
        StatementLine(
            number=i.number,
            issued_on=i.issued_on,
            due_on=i.due_on,
            amount=Decimal(i.amount),
            balance=Decimal(i.balance),
        )
        for i in sorted(invoices, key=lambda i: (i.due_on, i.number))
        if i.currency == currency and i.balance > 0 and not i.written_off
    )
