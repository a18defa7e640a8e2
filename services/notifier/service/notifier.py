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
from datetime import timedelta
from email.message import EmailMessage
from functools import partial
from typing import Any, Protocol
from zoneinfo import ZoneInfo

import anyio
from jinja2 import TemplateError
from sqlalchemy import Engine
from sqlalchemy.exc import InterfaceError, OperationalError

from services.notifier.adapters.print_room import PrintRoom, batch_name
from services.notifier.adapters.tables import (
    CreditorRow,
    LetterRow,
)
from services.notifier.domain.delivery import (
    Channel,
    Reach,
    channels_for,
    fallback_after_bounce,
    is_moot,
)
from services.notifier.domain.documents import ContactDocument
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
from services.notifier.service.drafting import document_for
from services.notifier.service.transactions import transaction, utc
from services.notifier.service.work_list import (
    FINAL,
    LEASE,
    Job,
    WorkList,
    outcome_fields,
    retry_wait,
)
from shared.clock import Clock, wall_clock
from shared.events import Envelope, Payload, parse_payload
from shared.events import notifier as outcomes
from shared.events.contacts import SendContact
from shared.events.creditors import CreditorUpdated

logger = logging.getLogger(__name__)

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
        # A lease measures how long a process has held a contact: real time,
        # which a jump of a shared virtual clock must not run out.
        self.wall = wall_clock(clock)
        self.templates = templates
        self.press = press
        self.mailer = mailer
        self.print_room = print_room
        self.envelope_sender = envelope_sender
        self.max_attempts = max_attempts
        self.work = WorkList(engine, lease=lease)
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
        with transaction(self.engine) as session:
            row = session.get(CreditorRow, envelope.creditor)
            if row is None:
                session.add(
                    CreditorRow(id=envelope.creditor, profile=profile, updated_at=now)
                )
            else:
                row.profile, row.updated_at = profile, now
            self.work.wake_waiting(session, envelope.creditor, None, now)
        return True

    def follow_ledger_many(
        self, envelopes: Sequence[Envelope], payloads: Sequence[Payload]
    ) -> int:
        """Apply a poll's ledger events to details and balances, in one transaction."""
        now = utc(self.clock.now())
        described: dict[str, set[str]] = defaultdict(set)
        with transaction(self.engine) as session:
            for envelope, payload in zip(envelopes, payloads, strict=True):
                projection.apply(session, envelope, payload, now)
                session.flush()
                if envelope.type == "debtor.upserted" and envelope.debtor:
                    described[envelope.creditor].add(envelope.debtor)
            for creditor, debtors in described.items():
                self.work.wake_waiting(session, creditor, sorted(debtors), now)
        return len(envelopes)

    # -- contacts in --------------------------------------------------------

    def receive(
        self,
        envelopes: Sequence[Envelope],
        contacts: Sequence[Payload] | None = None,
    ) -> list[str]:
        """Record contacts in the work list; return those to try now.

        `contacts` are the envelopes' payloads, when the caller parsed them.
        """
        parsed = contacts if contacts is not None else map(parse_payload, envelopes)
        pairs = []
        for envelope, contact in zip(envelopes, parsed, strict=True):
            assert isinstance(contact, SendContact)
            pairs.append((envelope, contact))
        return self.work.receive(pairs, utc(self.clock.now()))

    async def try_all(self, contact_ids: Iterable[str]) -> None:
        """Try contacts side by side, one debtor's in the order given."""
        by_debtor: dict[str, list[str]] = defaultdict(list)
        debtors = await anyio.to_thread.run_sync(
            self.work.debtors_of, list(contact_ids)
        )
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
        now, held = utc(self.clock.now()), utc(self.wall.now())
        due = await anyio.to_thread.run_sync(self.work.due, now, held)
        if due:
            await self.try_all(due)
        return len(due)

    # -- one try of one contact ---------------------------------------------

    async def attempt(self, contact_id: str) -> None:
        """Try one contact: skip it, or send each of its channels, then close it."""
        held = utc(self.wall.now())
        job = await anyio.to_thread.run_sync(self.work.claim, contact_id, held)
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

    async def _deliver(self, job: Job) -> None:
        contact = job.contact
        if job.profile is None:
            raise NotReady("creditor")
        if job.details is None:
            raise NotReady("debtor")

        if is_moot(contact, job.standing):
            skipped = outcomes.ContactSkipped(
                **outcome_fields(job.contact), reason="paid"
            )
            await self._conclude(job, None, "skipped", skipped)
            await anyio.to_thread.run_sync(self.work.close, job, utc(self.clock.now()))
            return

        details = job.details
        reach = Reach(
            email=details.email is not None and not details.email_opt_out,
            postal=details.address is not None,
        )
        channels = channels_for(contact.channels, reach)
        document = document_for(
            contact,
            creditor_id=job.creditor_id,
            profile=job.profile,
            debtor_id=job.debtor_id,
            details=details,
            statement=job.statement,
            now=utc(self.clock.now()),
        )
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
        await anyio.to_thread.run_sync(self.work.close, job, utc(self.clock.now()))

    async def _email(self, job: Job, document: ContactDocument, *, resend: bool) -> str:
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

        await anyio.to_thread.run_sync(
            self.work.sending, job, message_id, utc(self.clock.now())
        )
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
                **outcome_fields(job.contact),
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
            **outcome_fields(job.contact), channel="email", message_id=message_id
        )
        await self._conclude(job, "email", "sent", sent, message_id=message_id)
        logger.info("email sent", extra=job.ids)
        return "sent"

    async def _refused(
        self, job: Job, refusal: PermanentDeliveryError, message_id: str
    ) -> str:
        """A 5xx: the address refused is reported bounced; any other refusal
        (a policy, the sender) fails the email. A letter follows either way."""
        code = " ".join(str(p) for p in (refusal.code, refusal.status) if p)
        logger.info(
            "email refused for good", extra={**job.ids, "smtp_code": refusal.code}
        )
        if refusal.address_refused:
            bounced = outcomes.ContactBounced(
                **outcome_fields(job.contact),
                message_id=message_id,
                detail=code or "refused",
            )
            await self._conclude(
                job, "email", "bounced", bounced, message_id=message_id
            )
            return "bounced"
        failed = outcomes.ContactFailed(
            **outcome_fields(job.contact),
            channel="email",
            reason="smtp_permanent",
            detail=code or None,
            fallback=fallback_after_bounce(job.contact.channels),
        )
        await self._conclude(job, "email", "failed", failed, reason="smtp_permanent")
        return "failed"

    async def _letter(self, job: Job, document: ContactDocument, reach: Reach) -> None:
        """Render the letter into today's print batch, or fail it without an address."""
        if not reach.postal:
            failed = outcomes.ContactFailed(
                **outcome_fields(job.contact), channel="letter", reason="no_address"
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
            **outcome_fields(job.contact), channel="letter", batch=batch
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

    async def _render_failed(self, job: Job, channel: Channel, error: Exception) -> str:
        logger.error(
            "rendering failed",
            exc_info=error,
            extra={**job.ids, "channel": channel, "error": type(error).__name__},
        )
        failed = outcomes.ContactFailed(
            **outcome_fields(job.contact),
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
        found = await anyio.to_thread.run_sync(
            self.work.bounce, contact_id, detail, now
        )
        if found:
            await self.attempt(contact_id)
        return found

    # -- recording, off the event loop ---------------------------------------

    async def _conclude(
        self,
        job: Job,
        channel: Channel | None,
        state: str,
        payload: outcomes.ContactOutcome,
        **facts: Any,
    ) -> None:
        """Record a channel's outcome, or with no channel the contact's (on the
        channels not concluded before), with its event."""
        channels = (
            [channel]
            if channel
            else [c for c in job.contact.channels if job.done.get(c) not in FINAL]
        )
        now = utc(self.clock.now())
        await anyio.to_thread.run_sync(
            partial(self.work.conclude, job, channels, state, payload, now, **facts)
        )

    async def _postpone(self, job: Job, error: BaseException) -> None:
        """Leave the contact in the work list for a later try, and say so."""
        wait = retry_wait(job.attempts)
        now = utc(self.clock.now())
        try:
            await anyio.to_thread.run_sync(self.work.postpone, job, error, wait, now)
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
