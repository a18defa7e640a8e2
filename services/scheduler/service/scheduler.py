"""The scheduler's application service: facts in, timers fired, effects out.

Each entry point is one database transaction: load the collections involved,
apply the fact or the moment with the engine, persist their state and next
timer, and enqueue the effects in the outbox. A message is applied once:
its envelope id goes to the inbox in the same transaction.
"""

import logging
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal, cast
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from services.scheduler.adapters import documents
from services.scheduler.adapters.tables import (
    ApiKeyRow,
    CollectionRow,
    CreditorRow,
    HeldEvent,
    IdempotencyKeyRow,
    LedgerWatermark,
    OutboxMessage,
    ProcessedMessage,
)
from services.scheduler.domain import collection as domain
from services.scheduler.domain.calendar import DebtorCalendar
from services.scheduler.domain.collection import (
    Case,
    Collection,
    Effect,
    Installment,
    Reachability,
)
from services.scheduler.service import timeline, views
from services.scheduler.service.catch_up import STALE_AFTER, Watermark, horizon
from services.scheduler.service.effects import Party, describe, event_id
from services.scheduler.service.errors import (
    AlreadyDisputed,
    CurrencyMismatch,
    Invalid,
    NoOpenCase,
    NotDisputed,
    UnknownDebtor,
    UnknownInvoice,
)
from services.scheduler.service.timeline import history_line
from shared.clock import Clock, ensure_aware, wall_clock
from shared.db.bulk import among, insert_rows
from shared.events import Envelope, Payload, parse_payload
from shared.events import collections as cases
from shared.events import ledger as facts
from shared.events import notifier as outcomes
from shared.events.creditors import CreditorUpdated
from shared.http.idempotency import StoredResponse, answer, claim
from shared.http.keys import hash_key, verify_key
from shared.outbox import OutboxRecord, enqueue
from shared.policy import Policy, policy_from_mapping
from shared.topics import (
    COLLECTIONS_EVENTS,
    LEDGER_CREDITORS,
    LEDGER_EVENTS,
    NOTIFIER_EVENTS,
    Topic,
)

logger = logging.getLogger(__name__)

NOT_STATE = ("policy", "calendar")
"""Rebuilt on load from the creditor's policy and the debtor's whereabouts."""

CHUNK = 100
"""Collections fired per transaction: locks held briefly, progress kept often."""

RETRY_LATER = timedelta(minutes=1)
"""How far a timer the engine left in the past is pushed, so it cannot spin."""

CREATED = 201
"""What the collector API answers a recorded command with, and stores for its key."""


def utc(moment: datetime) -> datetime:
    """`moment` in UTC: SQLite keeps a timestamp's wall time and drops its offset."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


@dataclass(slots=True)
class _Creditor:
    id: str
    profile: dict[str, Any]
    policy: Policy


@dataclass(slots=True)
class _Loaded:
    row: CollectionRow
    collection: Collection
    contacts: list[dict[str, Any]]
    history: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Once:
    """A command's `Idempotency-Key`, and the fingerprint of its request."""

    key: str
    fingerprint: str


class AnsweredBefore(Exception):
    """The command's key was answered before: nothing is recorded again, and that
    first answer stands."""

    def __init__(self, response: StoredResponse) -> None:
        super().__init__("this Idempotency-Key was answered before")
        self.response = response


@dataclass
class _Work:
    """One transaction's collections, each loaded once and saved once."""

    session: Session
    now: datetime
    creditors: dict[str, _Creditor | None] = field(default_factory=dict)
    loaded: dict[tuple[str, str], _Loaded] = field(default_factory=dict)
    enqueued: set[UUID] = field(default_factory=set)
    read: dict[tuple[str, str], CollectionRow | None] | None = None
    """The rows a poll's facts touch, read and locked together up front; a key
    missing from them has no row yet. None: each row is read as it is needed."""
    careful: bool = True
    """Look each effect up in the outbox before enqueuing it. Off, the busy
    paths (a poll, a chunk of timers) look them all up at once when saving,
    and run again carefully on a repeat (`_Repeated`)."""
    outbox: dict[UUID, OutboxRecord] = field(default_factory=dict)
    """The outbox rows `_publish` added in this transaction, by event id."""
    recorded: views.Recorded | None = None
    """What a collector's command answers, once `_done` has said it."""
    locked: set[str] = field(default_factory=set)
    """Creditors whose lock this transaction holds."""
    until: datetime | None = None
    """How far collections advance; `now` unless the ledger's consumers lag."""
    held: bool = False
    """The consumers have caught up to no moment yet: nothing advances."""
    by_partition: Mapping[int, datetime | None] = field(default_factory=dict)
    """How far each partition's consumer has caught up, for the collections
    known to be on it; None while it is behind."""

    @property
    def target(self) -> datetime:
        return self.now if self.until is None else self.until

    def target_of(self, row: CollectionRow) -> datetime | None:
        """How far this collection may advance: its partition's moment if it is
        known and reported, else the slowest partition's; None: not yet."""
        number = row.ledger_partition
        if number is not None and number in self.by_partition:
            return self.by_partition[number]
        return None if self.held else self.target


class _Repeated(Exception):
    """An effect already in the outbox was decided again; run carefully."""


class Scheduler:
    """Follows the ledger, fires due timers, and writes what the engine decides."""

    def __init__(
        self,
        engine: Engine,
        clock: Clock,
        *,
        wait_for_ledger: bool = False,
        stale_after: timedelta = STALE_AFTER,
    ) -> None:
        """With `wait_for_ledger`, nothing falls due later than the moment up to
        which the consumers of `ledger.events` report they have applied it."""
        self.engine = engine
        self.clock = clock
        self.wait_for_ledger = wait_for_ledger
        self.stale_after = stale_after
        # Whether a consumer went silent is a matter of real time (see horizon).
        self.wall = wall_clock(clock)
        self.since = utc(self.wall.now())
        self._ignored: tuple[int, ...] = ()

    # -- creditors ---------------------------------------------------------

    def follow_creditor(self, envelope: Envelope) -> bool:
        """Keep a creditor's profile and policy; release the events held for it.

        Returns False for a message applied before, which changes nothing.
        """
        payload = cast(CreditorUpdated, parse_payload(envelope))
        now = utc(self.clock.now())
        with self._transaction() as session:
            if not _first_time(session, envelope, LEDGER_CREDITORS, now):
                return False
            _lock_creditor(session, envelope.creditor)
            data = payload.to_data()
            policy = data.pop("policy", None)
            row = session.get(CreditorRow, envelope.creditor, with_for_update=True)
            changed = row is not None and (row.profile, row.policy) != (data, policy)
            if row is None:
                row = CreditorRow(id=envelope.creditor, profile=data, updated_at=now)
            row.profile, row.policy, row.updated_at = data, policy, now
            session.add(row)
            session.flush()
            _keep_key_hashes(session, envelope.creditor, payload.api_key_hashes)
            if changed:
                # A new policy or timezone moves every timer: each collection is
                # worked out again by the next fire_due, with the new rules.
                session.execute(
                    sa.update(CollectionRow)
                    .where(col(CollectionRow.creditor_id) == envelope.creditor)
                    .values(next_moment=now)
                )
            released = 0
            if policy is not None:
                work = self._work_up_to_the_ledger(session, now)
                released = self._release(work, envelope.creditor)
        logger.info(
            "creditor followed",
            extra={"creditor": envelope.creditor, "released": released},
        )
        return True

    def _release(self, work: _Work, creditor: str) -> int:
        """Apply the creditor's held events, in the order they came."""
        held = work.session.exec(
            select(HeldEvent)
            .where(HeldEvent.creditor_id == creditor)
            .order_by(col(HeldEvent.position))
        ).all()
        envelopes = [Envelope.from_bytes(event.envelope) for event in held]
        work.read = _read_collections(
            work.session, {(e.creditor, e.debtor) for e in envelopes if e.debtor}
        )
        for event, envelope in zip(held, envelopes, strict=True):
            self._apply(work, envelope, parse_payload(envelope))
            work.session.delete(event)
        self._advance(work)
        self._save(work)
        return len(held)

    # -- what became of contacts ----------------------------------------------

    def follow_notifier(self, envelope: Envelope) -> bool:
        """Note a contact's outcome in its case; a bounce stops email (SPEC §5).

        A contact that failed with no fallback flags its case for a collector.
        An address that bounced, or that the mail server refused for good, is
        not emailed again until the ledger reports the debtor's details anew.
        Returns False for a message applied before.
        """
        payload = parse_payload(envelope)
        assert isinstance(payload, outcomes.ContactOutcome)
        now = utc(self.clock.now())
        with self._transaction() as session:
            if not _first_time(session, envelope, NOTIFIER_EVENTS, now):
                return False
            work = _Work(session, now)
            creditor = self._creditor(work, envelope.creditor)
            if creditor is None or envelope.debtor is None:
                return True  # a contact the scheduler never decided
            loaded = self._load(work, creditor, envelope.debtor)
            # New dicts, never the loaded ones changed: a JSON column notices
            # only a value that differs from what it read.
            outcome = envelope.type.removeprefix("contact.")
            loaded.contacts = [
                {**line, "outcome": _outcome_after(line, outcome)}
                if line["contact_id"] == payload.contact_id
                else line
                for line in loaded.contacts
            ]
            collection = loaded.collection
            refused = isinstance(payload, outcomes.ContactFailed) and (
                payload.reason == "smtp_permanent"
            )
            if isinstance(payload, outcomes.ContactBounced) or refused:
                collection.email_bounced()
            if isinstance(payload, outcomes.ContactFailed) and payload.fallback is None:
                collection.flag(payload.case_id)
            self._save(work)
        logger.info("contact outcome noted", extra=_ids(envelope))
        return True

    # -- the ledger's facts --------------------------------------------------

    def follow_ledger(self, envelope: Envelope) -> bool:
        """Apply one ledger event to its debtor's collection, or hold it.

        Events of a creditor whose policy is not known yet are held, not
        applied (SPEC §2). Returns False for a message applied before.
        """
        return self.follow_ledger_many([envelope]) == [True]

    def follow_ledger_many(
        self,
        envelopes: Sequence[Envelope],
        payloads: Sequence[Payload] | None = None,
        partitions: Sequence[int] | None = None,
    ) -> list[bool]:
        """Apply a poll's ledger events in order, in one transaction; say of each
        whether it was new. Each collection is read and written once for all.

        `payloads` are the envelopes' parsed already, if the caller has them;
        otherwise a malformed event is refused here, before anything.
        `partitions` are those the envelopes came on, kept with each collection
        so that only its partition's progress bounds its timer."""
        if payloads is None:
            payloads = [parse_payload(envelope) for envelope in envelopes]
        came_on: Sequence[int | None] = (
            partitions if partitions is not None else [None] * len(envelopes)
        )
        try:
            return self._follow_ledger_many(envelopes, payloads, came_on, careful=False)
        except (_Repeated, sa.exc.IntegrityError):
            # An effect decided twice, or another worker's rows: look each up.
            return self._follow_ledger_many(envelopes, payloads, came_on, careful=True)

    def _follow_ledger_many(
        self,
        envelopes: Sequence[Envelope],
        payloads: Sequence[Payload],
        partitions: Sequence[int | None],
        *,
        careful: bool,
    ) -> list[bool]:
        now = utc(self.clock.now())
        with self._transaction() as session:
            fresh = _first_times(session, envelopes, LEDGER_EVENTS, now)
            work = self._work_up_to_the_ledger(session, now)
            work.careful = careful
            work.read = _read_collections(
                session,
                {
                    (e.creditor, e.debtor)
                    for e, new in zip(envelopes, fresh, strict=True)
                    if new and e.debtor is not None
                },
            )
            for envelope, payload, partition, new in zip(
                envelopes, payloads, partitions, fresh, strict=True
            ):
                if not new:
                    continue
                if self._unknown(work, envelope.creditor):
                    self._hold(session, envelope, now)
                    continue
                self._apply(work, envelope, payload)
                if partition is not None:
                    row = work.loaded[(envelope.creditor, str(envelope.debtor))].row
                    row.ledger_partition = partition
            self._advance(work)
            self._save(work)
        return fresh

    def _unknown(self, work: _Work, creditor: str) -> bool:
        """Whether the creditor's policy is unknown, so its events are held.

        Asked again under the creditor's lock: a policy that commits while
        this poll runs would otherwise miss the events this poll holds.
        """
        if self._creditor(work, creditor) is not None:
            return False
        if creditor not in work.locked:
            _lock_creditor(work.session, creditor)
            work.locked.add(creditor)
            work.creditors.pop(creditor, None)
        return self._creditor(work, creditor) is None

    @staticmethod
    def _hold(session: Session, envelope: Envelope, now: datetime) -> None:
        session.add(
            HeldEvent(
                event_id=envelope.id,
                creditor_id=envelope.creditor,
                topic=LEDGER_EVENTS.name,
                envelope=envelope.to_bytes(),
                held_at=now,
            )
        )
        logger.info("event held", extra=_ids(envelope))

    def _apply(self, work: _Work, envelope: Envelope, payload: Payload) -> None:
        """One fact and what it settles at once; what falls due waits for `_advance`."""
        assert envelope.debtor is not None  # parse_payload checked the addressing
        creditor = self._creditor(work, envelope.creditor)
        assert creditor is not None
        loaded = self._load(work, creditor, envelope.debtor)
        collection = loaded.collection
        # A fact counts from when the ledger recorded it, never from the future.
        at = min(ensure_aware(envelope.occurred_at), work.now)

        effects: list[Effect] = []
        if isinstance(payload, facts.DebtorUpserted):
            collection.reach = _reach(payload, loaded.row.debtor, collection.reach)
            loaded.row.debtor = payload.to_data()
            collection.calendar = _calendar(creditor, loaded.row.debtor)
        elif isinstance(payload, facts.InvoiceIssued):
            effects = collection.invoice_issued(
                number=payload.number,
                currency=payload.currency,
                amount=payload.amount,
                balance=payload.balance,
                issued_on=payload.issued_on,
                due_on=payload.due_on,
                at=at,
            )
        elif isinstance(payload, facts.PaymentReceived):
            # The engine keeps only the total paid; the timeline lists each one.
            loaded.history.append(
                {
                    "kind": "payment",
                    "payment_id": payload.payment_id,
                    "currency": payload.currency,
                    "amount": str(payload.amount),
                    "received_on": payload.received_on.isoformat(),
                    "at": at.isoformat(),
                }
            )
            effects = collection.balance_changed(
                {a.invoice: a.balance_after for a in payload.allocations},
                at=at,
                by="payment",
                paid=(payload.currency, payload.amount),
            )
        elif isinstance(payload, facts.InvoiceAdjusted):
            effects = collection.balance_changed(
                {payload.number: payload.balance}, at=at, by="credit"
            )
        elif isinstance(payload, facts.InvoiceWrittenOff):
            effects = collection.invoice_written_off(payload.number, at=at)
        self._publish(work, creditor, loaded, effects)

    def _advance(self, work: _Work) -> None:
        """Everything due by now, in each collection the facts changed; with
        `wait_for_ledger`, due by the moment the consumers have caught up to.

        Called once all the facts at hand are applied, not after each: a
        payment that comes in the same poll as its invoice is counted
        before any contact falls due (SPEC §4, at one instant facts first).
        """
        for loaded in work.loaded.values():
            target = work.target_of(loaded.row)
            if target is None:
                continue
            creditor = self._creditor(work, loaded.row.creditor_id)
            assert creditor is not None
            advanced = loaded.collection.advance(target)
            self._publish(work, creditor, loaded, advanced)

    # -- timers ------------------------------------------------------------

    def fire_due(self, now: datetime, limit: int = 500, chunk: int = CHUNK) -> int:
        """Advance every collection whose timer is due by `now`; how many fired.

        Each chunk is claimed and fired in one transaction. On PostgreSQL the
        claim skips rows another worker holds, so no collection fires twice.
        With `wait_for_ledger`, only timers due by the moment the consumers of
        `ledger.events` have caught up to fire, and they fire as of it.
        """
        now = utc(now)
        fired = 0
        while fired < limit:
            size = min(chunk, limit - fired)
            try:
                rows = self._fire_chunk(now, size, careful=False)
            except (_Repeated, sa.exc.IntegrityError):
                # An effect decided twice, or another worker's rows: look each up.
                rows = self._fire_chunk(now, size, careful=True)
            fired += len(rows)
            if len(rows) < size:
                break
        if fired:
            logger.info("timers fired", extra={"fired": fired})
        return fired

    def _fire_chunk(
        self, now: datetime, size: int, *, careful: bool
    ) -> list[CollectionRow]:
        """Claim up to `size` due collections and fire them, in one transaction."""
        with self._transaction() as session:
            work = self._work_up_to_the_ledger(session, now)
            work.careful = careful
            rows = self._claim(session, work, size)
            for row in rows:
                creditor = self._creditor(work, row.creditor_id)
                if creditor is None:
                    # The policy was withdrawn: nothing is sent until a new one
                    # comes, which sets every timer of the creditor again.
                    row.next_moment = None
                    session.add(row)
                    continue
                target = work.target_of(row)
                assert target is not None  # the claim took only rows due by theirs
                loaded = self._adopt(work, creditor, row)
                advanced = loaded.collection.advance(target)
                self._publish(work, creditor, loaded, advanced)
            self._save(work)
        return rows

    def next_timer(self) -> datetime | None:
        """The earliest moment any collection's timer is set for, or None."""
        with Session(self.engine) as session:
            earliest = session.exec(
                select(sa.func.min(CollectionRow.next_moment))
            ).one()
        return utc(earliest) if earliest is not None else None

    @staticmethod
    def _claim(session: Session, work: _Work, size: int) -> list[CollectionRow]:
        """The earliest collections due, each by its own partition's moment."""
        due = _due_by(work)
        if due is None:
            return []
        query = (
            select(CollectionRow)
            .where(due)
            .order_by(col(CollectionRow.next_moment))
            .limit(size)
        )
        if session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        return list(session.exec(query).all())

    # -- how far the ledger's consumers have caught up (SPEC §6) -------------

    def report_caught_up(
        self, owner: str, partitions: Mapping[int, datetime | None]
    ) -> None:
        """Note, per partition of `ledger.events` the owner holds, the moment up
        to which it has applied the topic; None keeps the last one, and says
        only that the owner is alive and still behind."""
        now = utc(self.wall.now())
        with self._transaction() as session:
            for partition, caught_up_at in sorted(partitions.items()):
                key = (LEDGER_EVENTS.name, partition)
                row = session.get(LedgerWatermark, key, with_for_update=True)
                if row is None:
                    row = LedgerWatermark(
                        topic=LEDGER_EVENTS.name,
                        partition=partition,
                        reported_at=now,
                        owner=owner,
                    )
                if caught_up_at is not None:
                    row.caught_up_at = utc(caught_up_at)
                row.reported_at, row.owner = now, owner
                session.add(row)

    def _work_up_to_the_ledger(self, session: Session, now: datetime) -> _Work:
        """A transaction's work, advancing no further than the consumers have
        applied `ledger.events` when `wait_for_ledger` is set."""
        work = _Work(session, now)
        if not self.wait_for_ledger:
            return work
        rows = session.exec(
            select(LedgerWatermark).where(LedgerWatermark.topic == LEDGER_EVENTS.name)
        ).all()
        marks = [
            Watermark(
                row.partition,
                utc(row.caught_up_at) if row.caught_up_at is not None else None,
                utc(row.reported_at),
            )
            for row in rows
        ]
        found = horizon(
            marks, now, self.since, self.stale_after, alive_now=utc(self.wall.now())
        )
        self._warn_of(found.ignored, found.unreported)
        work.until = found.until
        work.held = found.until is None
        work.by_partition = found.by_partition
        return work

    def _warn_of(self, ignored: tuple[int, ...], unreported: bool) -> None:
        """Say once, not at every tick, which partitions no longer hold timers."""
        if unreported and self._ignored != (-1,):
            logger.warning("no consumer of ledger.events has reported; timers fire")
            self._ignored = (-1,)
        elif not unreported and ignored != self._ignored:
            if ignored:
                logger.warning(
                    "ledger.events partitions silent; timers fire without them",
                    extra={"partitions": list(ignored)},
                )
            self._ignored = ignored

    # -- the collector API (SPEC §4) ---------------------------------------

    def authenticate(self, api_key: str) -> str | None:
        """The creditor whose latest `creditor.updated` lists this key's hash, or None.

        The hash is looked up, then compared in constant time as the ledger
        does: the key has the entropy, its hash reveals nothing of it.
        """
        with Session(self.engine) as session:
            row = session.get(ApiKeyRow, hash_key(api_key))
        if row is None or not verify_key(api_key, row.hash):
            return None
        return row.creditor_id

    def record_promise(
        self,
        creditor_id: str,
        debtor: str,
        *,
        amount: Decimal,
        promised_on: date,
        currency: str | None = None,
        note: str | None = None,
        once: Once | None = None,
    ) -> views.Recorded:
        """A promise pauses the ladder of an open case and replaces its commitment."""
        with self._command(creditor_id, debtor, once) as (work, creditor, loaded):
            collection = loaded.collection
            replaces = _commitment(collection.case)
            effects = collection.promise_recorded(amount, promised_on, at=work.now)
            case = collection.case
            assert case is not None and case.promise is not None
            promise = case.promise
            if currency is not None and currency != promise.currency:
                raise CurrencyMismatch(promise.currency)
            promise_id = f"{case.id}/promise-{promise.number}"
            event = cases.PromiseRecorded(
                case_id=case.id,
                promise_id=promise_id,
                currency=promise.currency,
                amount=amount,
                promised_on=promised_on,
                replaces=replaces,
                note=note,
            )
            self._record(work, loaded, event, promise_id)
            line = event.model_dump(mode="json", exclude={"promise_id", "replaces"})
            self._remember(loaded, "promise", promise_id, work.now, **line)
            return self._done(work, creditor, loaded, effects, "promise", promise_id)

    def agree_plan(
        self,
        creditor_id: str,
        debtor: str,
        *,
        installments: list[tuple[date, Decimal]],
        currency: str | None = None,
        once: Once | None = None,
    ) -> views.Recorded:
        """A plan pauses the ladder of an open case and replaces its commitment."""
        with self._command(creditor_id, debtor, once) as (work, creditor, loaded):
            collection = loaded.collection
            replaces = _commitment(collection.case)
            effects = collection.plan_agreed(
                [Installment(due_on, amount) for due_on, amount in installments],
                at=work.now,
            )
            case = collection.case
            assert case is not None and case.plan is not None
            plan = case.plan
            if currency is not None and currency != plan.currency:
                raise CurrencyMismatch(plan.currency)
            plan_id = f"{case.id}/plan-{plan.number}"
            event = cases.PlanAgreed(
                case_id=case.id,
                plan_id=plan_id,
                currency=plan.currency,
                installments=[
                    cases.Installment(due_on=i.due_on, amount=i.amount)
                    for i in plan.installments
                ],
                replaces=replaces,
            )
            self._record(work, loaded, event, plan_id)
            line = event.model_dump(mode="json", exclude={"plan_id", "replaces"})
            self._remember(loaded, "plan", plan_id, work.now, **line)
            return self._done(work, creditor, loaded, effects, "plan", plan_id)

    def open_dispute(
        self,
        creditor_id: str,
        debtor: str,
        *,
        invoice: str,
        reason: str,
        once: Once | None = None,
    ) -> views.Recorded:
        """A disputed invoice is not chased while its dispute is open; needs no case."""
        with self._command(creditor_id, debtor, once) as (work, creditor, loaded):
            collection = loaded.collection
            known = collection.account.invoices.get(invoice)
            if known is not None and known.disputed:
                raise AlreadyDisputed()
            effects = collection.dispute_opened(invoice, at=work.now, reason=reason)
            dispute_id = _dispute_id(collection, invoice)
            case_id = collection.case.id if collection.case is not None else None
            event = cases.DisputeOpened(
                dispute_id=dispute_id, case_id=case_id, invoice=invoice, reason=reason
            )
            self._record(work, loaded, event, dispute_id)
            line = event.model_dump(mode="json", exclude={"dispute_id"})
            self._remember(loaded, "dispute", dispute_id, work.now, **line)
            return self._done(work, creditor, loaded, effects, "dispute", dispute_id)

    def resolve_dispute(
        self,
        creditor_id: str,
        debtor: str,
        invoice: str,
        *,
        resolution: Literal["upheld", "rejected"],
        note: str | None = None,
        once: Once | None = None,
    ) -> views.Recorded:
        """Rejected: the invoice is chased again. Upheld: a credit note will follow."""
        with self._command(creditor_id, debtor, once) as (work, creditor, loaded):
            collection = loaded.collection
            known = collection.account.invoices.get(invoice)
            if known is None:
                raise UnknownInvoice()
            if not known.disputed:
                raise NotDisputed()
            dispute_id = _dispute_id(collection, invoice)
            # Upheld, the invoice stays disputed until the credit note: resolved.
            if any(
                line["kind"] == "dispute_resolution" and line["id"] == dispute_id
                for line in loaded.history
            ):
                raise NotDisputed()
            effects = collection.dispute_resolved(invoice, resolution, at=work.now)
            case_id = collection.case.id if collection.case is not None else None
            event = cases.DisputeResolved(
                dispute_id=dispute_id,
                case_id=case_id,
                invoice=invoice,
                resolution=resolution,
                note=note,
            )
            self._record(work, loaded, event, dispute_id)
            line = event.model_dump(mode="json", exclude={"dispute_id"})
            self._remember(loaded, "dispute_resolution", dispute_id, work.now, **line)
            return self._done(
                work, creditor, loaded, effects, "dispute_resolution", dispute_id
            )

    def add_note(
        self,
        creditor_id: str,
        debtor: str,
        *,
        author: str,
        text: str,
        once: Once | None = None,
    ) -> views.Recorded:
        """A note goes with the current case, or the last one; none before a case."""
        with self._command(creditor_id, debtor, once) as (work, creditor, loaded):
            effects = loaded.collection.noted(author, text, at=work.now)
            return self._done(work, creditor, loaded, effects, "note", None)

    def pause(
        self,
        creditor_id: str,
        debtor: str,
        *,
        until: date,
        note: str | None = None,
        once: Once | None = None,
    ) -> views.Recorded:
        """The ladder of an open case holds until the start of local date `until`."""
        with self._command(creditor_id, debtor, once) as (work, creditor, loaded):
            collection = loaded.collection
            if until <= collection.calendar.local_date(work.now):
                raise Invalid("must be a later date than today", field="until")
            effects = collection.paused(until, at=work.now)
            case = collection.case
            assert case is not None
            number = 1 + sum(
                line["kind"] == "pause" and line["case_id"] == case.id
                for line in loaded.history
            )
            pause_id = f"{case.id}/pause-{number}"
            event = cases.CasePaused(case_id=case.id, until=until, note=note)
            self._record(work, loaded, event, pause_id)
            line = event.model_dump(mode="json")
            self._remember(loaded, "pause", pause_id, work.now, **line)
            return self._done(work, creditor, loaded, effects, "pause", pause_id)

    def escalate(
        self,
        creditor_id: str,
        debtor: str,
        *,
        reason: str | None = None,
        once: Once | None = None,
    ) -> views.Recorded:
        """The open case goes to the agency now: `case.escalated` with its file."""
        with self._command(creditor_id, debtor, once) as (work, creditor, loaded):
            collection = loaded.collection
            case = collection.case
            effects = collection.escalated(at=work.now)
            assert case is not None
            self._remember(
                loaded, "escalation", case.id, work.now, case_id=case.id, reason=reason
            )
            return self._done(work, creditor, loaded, effects, "escalation", None)

    @contextmanager
    def _command(
        self, creditor_id: str, debtor: str, once: Once | None = None
    ) -> Iterator[tuple[_Work, _Creditor, _Loaded]]:
        """One transaction on a debtor of the creditor; engine refusals become 4xx.

        With `once`, the key is taken first, in this transaction, and the answer
        kept with it before the commit: a request with a key answered before,
        or being answered at this instant, records nothing and raises
        `AnsweredBefore` with that answer. A refused command keeps no key.
        """
        now = utc(self.clock.now())
        with self._transaction() as session:
            if once is not None:
                first = claim(
                    session,
                    IdempotencyKeyRow,
                    creditor_id,
                    once.key,
                    once.fingerprint,
                    now,
                )
                if first is not None:
                    raise AnsweredBefore(first)
            work = self._work_up_to_the_ledger(session, now)
            creditor = self._creditor(work, creditor_id)
            row = (
                session.get(CollectionRow, (creditor_id, debtor), with_for_update=True)
                if creditor is not None
                else None
            )
            # Another creditor's debtor is as unknown as one nobody has: a 404.
            if creditor is None or row is None:
                raise UnknownDebtor()
            loaded = self._adopt(work, creditor, row)
            try:
                yield work, creditor, loaded
            except domain.NoOpenCase:
                raise NoOpenCase() from None
            except domain.UnknownInvoice:
                raise UnknownInvoice() from None
            self._save(work)
            if once is not None:
                assert work.recorded is not None, "every command ends with _done"
                body = work.recorded.model_dump(mode="json")
                answer(
                    session,
                    IdempotencyKeyRow,
                    creditor_id,
                    once.key,
                    StoredResponse(CREATED, body),
                )

    def _done(
        self,
        work: _Work,
        creditor: _Creditor,
        loaded: _Loaded,
        effects: list[Effect],
        kind: str,
        id_: str | None,
    ) -> views.Recorded:
        """Publish what the command brings, and what falls due by the moment the
        ledger's consumers have caught up to (the timer loop sends the rest);
        say what was recorded."""
        collection = loaded.collection
        target = work.target_of(loaded.row)
        due = [] if target is None else collection.advance(target)
        self._publish(work, creditor, loaded, effects + due)
        latest = collection.cases[-1] if collection.cases else None
        moment = collection.next_moment(work.now)
        logger.info(
            "collector recorded",
            extra={
                "creditor": creditor.id,
                "debtor": collection.debtor,
                "kind": kind,
                "id": id_,
            },
        )
        work.recorded = views.Recorded(
            recorded=kind,
            id=id_,
            debtor=collection.debtor,
            case_id=latest.id if latest is not None else None,
            state=latest.state.value if latest is not None else None,
            next_moment=utc(moment) if moment is not None else None,
        )
        return work.recorded

    @staticmethod
    def _record(work: _Work, loaded: _Loaded, payload: Payload, name: str) -> None:
        """Enqueue what a collector recorded, once: its id derives from `name`."""
        collection = loaded.collection
        envelope = Envelope.wrap(
            payload,
            id=event_id(
                collection.creditor, collection.debtor, payload.event_type, name
            ),
            creditor=collection.creditor,
            debtor=collection.debtor,
            occurred_at=work.now,
        )
        if envelope.id in work.enqueued or _in_outbox(work.session, envelope.id):
            logger.warning(
                "record already enqueued",
                extra={"event_id": str(envelope.id), "type": envelope.type},
            )
            return
        enqueue(work.session, OutboxMessage, envelope, COLLECTIONS_EVENTS)
        work.enqueued.add(envelope.id)

    @staticmethod
    def _remember(
        loaded: _Loaded, kind: str, id_: str, at: datetime, **line: Any
    ) -> None:
        loaded.history.append({"kind": kind, "id": id_, "at": at.isoformat(), **line})

    # -- what collectors read ----------------------------------------------

    def cases(
        self,
        creditor_id: str,
        *,
        state: str | None = None,
        stage: str | None = None,
        after: str | None = None,
        limit: int = CHUNK,
    ) -> views.CasePage:
        """A page of each debtor's latest case, in debtor order after `after`,
        filtered by its state and next stage's name in SQL."""
        now = utc(self.clock.now())
        with Session(self.engine) as session:
            creditor = self._creditor(_Work(session, now), creditor_id)
            if creditor is None:
                return views.CasePage(cases=[], next_after=None)
            query = (
                select(CollectionRow)
                .where(
                    CollectionRow.creditor_id == creditor_id,
                    col(CollectionRow.case_state).is_not(None),
                )
                .order_by(col(CollectionRow.debtor_id))
                .limit(limit + 1)  # one more says whether another page follows
            )
            if state is not None:
                query = query.where(CollectionRow.case_state == state)
            if stage is not None:
                query = query.where(CollectionRow.case_stage == stage)
            if after is not None:
                query = query.where(col(CollectionRow.debtor_id) > after)
            rows = list(session.exec(query).all())

        page = rows[:limit]
        found = []
        for row in page:
            moment = utc(row.next_moment) if row.next_moment is not None else None
            summary = timeline.summary(_restore(creditor, row), moment, now)
            assert summary is not None  # case_state is set: the row has a case
            found.append(summary)
        more = len(rows) > limit
        return views.CasePage(
            cases=found, next_after=page[-1].debtor_id if more else None
        )

    def case(self, creditor_id: str, debtor: str) -> views.Timeline:
        """The debtor's whole timeline; a debtor of another creditor is unknown."""
        now = utc(self.clock.now())
        with Session(self.engine) as session:
            work = _Work(session, now)
            creditor = self._creditor(work, creditor_id)
            row = session.get(CollectionRow, (creditor_id, debtor))
        if creditor is None or row is None:
            raise UnknownDebtor()
        collection = _restore(creditor, row)
        return timeline.timeline(
            collection,
            row.debtor,
            row.contacts,
            row.history or [],
            utc(row.next_moment) if row.next_moment is not None else None,
            now,
        )

    def forecast(self, creditor_id: str, days: int) -> views.Forecast:
        """Every contact the ladder would make within `days` if nothing changed."""
        now = utc(self.clock.now())
        until = now + timedelta(days=days)
        items = []
        for _, collection in self._collections(creditor_id):
            effects = collection.forecast(now, until)
            items += timeline.forecast_items(collection, effects)
        items.sort(key=lambda item: (item.at, item.debtor))
        return views.Forecast(start=now, until=until, items=items)

    def _collections(
        self, creditor_id: str, chunk: int = CHUNK
    ) -> Iterator[tuple[CollectionRow, Collection]]:
        """The creditor's collections, read a chunk per session: memory stays flat."""
        after: str | None = None
        while True:
            with Session(self.engine) as session:
                work = _Work(session, utc(self.clock.now()))
                creditor = self._creditor(work, creditor_id)
                if creditor is None:
                    return
                query = (
                    select(CollectionRow)
                    .where(CollectionRow.creditor_id == creditor_id)
                    .order_by(col(CollectionRow.debtor_id))
                    .limit(chunk)
                )
                if after is not None:
                    query = query.where(col(CollectionRow.debtor_id) > after)
                rows = list(session.exec(query).all())
            for row in rows:
                yield row, _restore(creditor, row)
            if len(rows) < chunk:
                return
            after = rows[-1].debtor_id

    # -- loading and saving ---------------------------------------------------

    @staticmethod
    def _creditor(work: _Work, creditor_id: str) -> _Creditor | None:
        """The creditor with a policy, or None while either is unknown."""
        if creditor_id not in work.creditors:
            row = work.session.get(CreditorRow, creditor_id)
            work.creditors[creditor_id] = (
                None
                if row is None or row.policy is None
                else _Creditor(row.id, row.profile, policy_from_mapping(row.policy))
            )
        return work.creditors[creditor_id]

    def _load(self, work: _Work, creditor: _Creditor, debtor: str) -> _Loaded:
        key = (creditor.id, debtor)
        if key in work.loaded:
            return work.loaded[key]
        if work.read is not None:
            row = work.read.get(key)
        else:
            # Locked, so a timer firing elsewhere waits for this fact (PostgreSQL).
            row = work.session.get(CollectionRow, key, with_for_update=True)
        if row is None:
            # Every field given: pydantic inspects the signature of each
            # default factory it calls, a tenth of a millisecond for `list`.
            row = CollectionRow(
                creditor_id=creditor.id,
                debtor_id=debtor,
                state={},
                contacts=[],
                history=[],
                updated_at=work.now,
            )
        return self._adopt(work, creditor, row)

    @staticmethod
    def _adopt(work: _Work, creditor: _Creditor, row: CollectionRow) -> _Loaded:
        collection = _restore(creditor, row)
        loaded = _Loaded(row, collection, list(row.contacts), list(row.history or []))
        work.loaded[(row.creditor_id, row.debtor_id)] = loaded
        return loaded

    @staticmethod
    def _publish(
        work: _Work, creditor: _Creditor, loaded: _Loaded, effects: list[Effect]
    ) -> None:
        """Enqueue each effect once: an id already in the outbox is not sent again."""
        party = Party(creditor.profile, loaded.row.debtor)
        for effect in effects:
            outgoing = describe(loaded.collection, party, effect, loaded.contacts)
            event_id = outgoing.envelope.id
            if (
                event_id in work.enqueued
                or event_id in work.outbox
                or (work.careful and _in_outbox(work.session, event_id))
            ):
                logger.warning(
                    "effect already enqueued",
                    extra={"event_id": str(event_id), "type": outgoing.envelope.type},
                )
                continue
            work.outbox[event_id] = enqueue(
                work.session, OutboxMessage, outgoing.envelope, outgoing.topic
            )
            if outgoing.contact is not None:
                loaded.contacts.append(outgoing.contact)
            if (line := history_line(effect)) is not None:
                loaded.history.append(line)

    @staticmethod
    def _save(work: _Work) -> None:
        if not work.careful and work.outbox:
            _check_not_enqueued(work.session, work.outbox)
        for loaded in work.loaded.values():
            row, collection = loaded.row, loaded.collection
            target = work.target_of(row)
            moment = collection.next_moment(target or work.now)
            if target is not None and moment is not None and utc(moment) <= target:
                # The engine leaves nothing due behind `advance`; should it,
                # a later retry beats firing the same row in a tight loop.
                logger.warning(
                    "timer left in the past",
                    extra={"creditor": row.creditor_id, "debtor": row.debtor_id},
                )
                moment = work.now + RETRY_LATER
            # New objects, not mutated ones: JSON columns see only assignment.
            row.state = documents.dump(collection, exclude=NOT_STATE)
            row.contacts = list(loaded.contacts)
            row.history = list(loaded.history)
            row.next_moment = utc(moment) if moment is not None else None
            # Columns of their own, so lists of cases filter in SQL.
            latest = collection.cases[-1] if collection.cases else None
            row.case_state = latest.state.value if latest is not None else None
            row.case_stage = (
                timeline.next_stage(collection, latest) if latest is not None else None
            )
            row.version += 1
            row.updated_at = work.now
            work.session.add(row)
        work.loaded.clear()

    @contextmanager
    def _transaction(self) -> Iterator[Session]:
        with Session(self.engine, expire_on_commit=False) as session, session.begin():
            yield session


def _outcome_after(line: Mapping[str, Any], outcome: str) -> str:
    """A contact's outcome in its case file once another channel reports: one
    that reached the debtor by email stays sent when its letter then fails."""
    if line.get("outcome") == "sent" and outcome == "failed":
        return "sent"
    return outcome


def _commitment(case: Case | None) -> str | None:
    """The id of the case's active promise or plan, which a new one replaces."""
    if case is not None and case.promise is not None:
        return f"{case.id}/promise-{case.promise.number}"
    if case is not None and case.plan is not None:
        return f"{case.id}/plan-{case.plan.number}"
    return None


def _dispute_id(collection: Collection, invoice: str) -> str:
    """The invoice's latest dispute: one id per dispute, as the ack's step has."""
    return f"{collection.debtor}/dispute-{invoice}-{collection.disputes[invoice]}"


def _restore(creditor: _Creditor, row: CollectionRow) -> Collection:
    """The row's collection, under the creditor's policy and the debtor's calendar."""
    calendar = _calendar(creditor, row.debtor)
    if row.state:
        return documents.load(
            Collection, row.state, policy=creditor.policy, calendar=calendar
        )
    return Collection(creditor.id, row.debtor_id, creditor.policy, calendar)


def _first_times(
    session: Session, envelopes: Sequence[Envelope], topic: Topic, now: datetime
) -> list[bool]:
    """Record the new messages in the inbox, in one statement; say of each if new."""
    ids = [e.id for e in envelopes]
    dialect = session.get_bind().dialect.name
    seen = set(
        session.exec(
            select(ProcessedMessage.event_id).where(
                among(col(ProcessedMessage.event_id), ids, dialect)
            )
        ).all()
    )
    fresh = []
    rows = []
    for envelope in envelopes:
        fresh.append(envelope.id not in seen)
        if fresh[-1]:
            seen.add(envelope.id)
            rows.append(
                {
                    "event_id": envelope.id,
                    "topic": topic.name,
                    "type": envelope.type,
                    "processed_at": now,
                }
            )
    # Written at once: a second worker with the same messages waits on their
    # keys here, then fails, instead of applying them too.
    insert_rows(session.connection(), _INBOX, rows)
    return fresh


def _read_collections(
    session: Session, keys: set[tuple[str, str]]
) -> dict[tuple[str, str], CollectionRow | None]:
    """The collections of `keys`, read and locked in a few statements.

    Locked in key order, as every reader of several rows locks them, so two
    workers wait for each other instead of deadlocking. On PostgreSQL a timer
    firing elsewhere waits for these facts.
    """
    found: dict[tuple[str, str], CollectionRow | None] = dict.fromkeys(keys)
    dialect = session.get_bind().dialect.name
    by_creditor: dict[str, list[str]] = {}
    for creditor, debtor in sorted(keys):
        by_creditor.setdefault(creditor, []).append(debtor)
    for creditor, debtors in by_creditor.items():
        for start in range(0, len(debtors), _READ_CHUNK):
            query = (
                select(CollectionRow)
                .where(
                    CollectionRow.creditor_id == creditor,
                    among(
                        col(CollectionRow.debtor_id),
                        debtors[start : start + _READ_CHUNK],
                        dialect,
                    ),
                )
                .order_by(col(CollectionRow.debtor_id))
                .with_for_update()
            )
            for row in session.exec(query):
                found[(row.creditor_id, row.debtor_id)] = row
    return found


_INBOX: sa.Table = ProcessedMessage.__table__  # type: ignore[attr-defined]
# Keys per IN list: SQLite allows 32,766 bound parameters in all.
_READ_CHUNK = 1000


def _first_time(
    session: Session, envelope: Envelope, topic: Topic, now: datetime
) -> bool:
    """Record the message in the inbox; False if it was there already."""
    if session.get(ProcessedMessage, envelope.id) is not None:
        return False
    session.add(
        ProcessedMessage(
            event_id=envelope.id, topic=topic.name, type=envelope.type, processed_at=now
        )
    )
    # Written at once: a second worker with the same message waits on the key
    # here, then fails, instead of applying it too.
    session.flush()
    return True


def _due_by(work: _Work) -> sa.ColumnElement[bool] | None:
    """Which timers have come: on a reported partition, by that partition's
    moment; elsewhere (partition unknown or not reported), by the slowest's.
    None when no timer may fire."""
    partition = col(CollectionRow.ledger_partition)
    moment = col(CollectionRow.next_moment)
    due: list[sa.ColumnElement[bool]] = [
        sa.and_(partition == number, moment <= until)
        for number, until in sorted(work.by_partition.items())
        if until is not None
    ]
    if not work.held and not work.by_partition:
        due.append(moment <= work.target)
    elif not work.held:
        others = sa.or_(
            partition.is_(None), partition.not_in(sorted(work.by_partition))
        )
        due.append(sa.and_(others, moment <= work.target))
    return sa.or_(*due) if due else None


def _check_not_enqueued(session: Session, ours: dict[UUID, OutboxRecord]) -> None:
    """Raise `_Repeated` if an id of `ours` was in the outbox before this
    transaction. A row of ours already flushed is found too, but it could not
    have been flushed beside an older row of its id (the id is unique)."""
    dialect = session.get_bind().dialect.name
    ids = sorted(ours, key=str)
    with session.no_autoflush:
        for start in range(0, len(ids), _READ_CHUNK):
            found = session.exec(
                select(OutboxMessage.event_id).where(
                    among(
                        col(OutboxMessage.event_id),
                        ids[start : start + _READ_CHUNK],
                        dialect,
                    )
                )
            ).all()
            for event_id in found:
                if not sa.inspect(ours[event_id]).persistent:
                    raise _Repeated(str(event_id))


def _keep_key_hashes(session: Session, creditor: str, hashes: list[str]) -> None:
    """The creditor's keys are those its latest `creditor.updated` lists.

    A hash another creditor holds stays that creditor's: a key acts for one
    creditor only (SPEC §6), and the ledger never gives two the same.
    """
    session.execute(sa.delete(ApiKeyRow).where(col(ApiKeyRow.creditor_id) == creditor))
    held = set(
        session.exec(
            select(ApiKeyRow.hash).where(col(ApiKeyRow.hash).in_(hashes))
        ).all()
    )
    for stored in dict.fromkeys(hashes):
        if stored in held:
            logger.warning(
                "api key hash held by another creditor", extra={"creditor": creditor}
            )
            continue
        session.add(ApiKeyRow(hash=stored, creditor_id=creditor))
    session.flush()


def _lock_creditor(session: Session, creditor: str) -> None:
    """Hold the creditor's lock until commit: its policy and its held events
    are then written one transaction after the other (PostgreSQL; SQLite has
    one writer at a time already)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            sa.text("SELECT pg_advisory_xact_lock(hashtext(:key))"),
            {"key": f"creditor:{creditor}"},
        )


def _in_outbox(session: Session, event_id: UUID) -> bool:
    found = session.exec(
        select(OutboxMessage.event_id).where(OutboxMessage.event_id == event_id)
    ).first()
    return found is not None


def _reach(
    debtor: facts.DebtorUpserted, known: dict[str, Any] | None, reach: Reachability
) -> Reachability:
    """Email: an address not opted out, and not one that bounced. Post: an address
    to print on a letter.

    A bounce marks the address invalid until it is updated (SPEC §5): details
    sent again with the same address, a new phone number say, leave it so.
    """
    email = debtor.email is not None and not debtor.email_opt_out
    if email and known is not None and known.get("email") == debtor.email:
        # The details allowed email and the engine says no: the address bounced.
        allowed = not known.get("email_opt_out")
        email = reach.email or not allowed
    return Reachability(email=email, postal=debtor.address is not None)


def _calendar(creditor: _Creditor, debtor: dict[str, Any] | None) -> DebtorCalendar:
    """The debtor's timezone and country; the address's country, then the creditor's."""
    details = debtor or {}
    address = details.get("address") or {}
    return DebtorCalendar.for_policy(
        creditor.policy,
        timezone=details.get("timezone") or creditor.profile["timezone"],
        country=details.get("country")
        or address.get("country")
        or creditor.profile["country"],
    )


def _ids(envelope: Envelope) -> dict[str, str | None]:
    return {
        "event_id": str(envelope.id),
        "type": envelope.type,
        "creditor": envelope.creditor,
        "debtor": envelope.debtor,
    }
