"""The scheduler's application service: facts in, timers fired, effects out.

Each entry point is one database transaction: load the collections involved,
apply the fact or the moment with the engine, persist their state and next
timer, and enqueue the effects in the outbox. A message is applied once:
its envelope id goes to the inbox in the same transaction.
"""

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, cast
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from services.scheduler.adapters import documents
from services.scheduler.adapters.tables import (
    CollectionRow,
    CreditorRow,
    HeldEvent,
    OutboxMessage,
    ProcessedMessage,
)
from services.scheduler.domain.calendar import DebtorCalendar
from services.scheduler.domain.collection import Collection, Effect, Reachability
from services.scheduler.service.effects import Party, describe
from shared.clock import Clock, ensure_aware
from shared.events import Envelope, parse_payload
from shared.events import ledger as facts
from shared.events.creditors import CreditorUpdated
from shared.outbox import enqueue
from shared.policy import Policy, policy_from_mapping
from shared.topics import LEDGER_CREDITORS, LEDGER_EVENTS, Topic

logger = logging.getLogger(__name__)

NOT_STATE = ("policy", "calendar")
"""Rebuilt on load from the creditor's policy and the debtor's whereabouts."""

CHUNK = 100
"""Collections fired per transaction: locks held briefly, progress kept often."""

RETRY_LATER = timedelta(minutes=1)
"""How far a timer the engine left in the past is pushed, so it cannot spin."""


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


@dataclass
class _Work:
    """One transaction's collections, each loaded once and saved once."""

    session: Session
    now: datetime
    creditors: dict[str, _Creditor | None] = field(default_factory=dict)
    loaded: dict[tuple[str, str], _Loaded] = field(default_factory=dict)
    enqueued: set[UUID] = field(default_factory=set)


class Scheduler:
    """Follows the ledger, fires due timers, and writes what the engine decides."""

    def __init__(self, engine: Engine, clock: Clock) -> None:
        self.engine = engine
        self.clock = clock

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
            data = payload.to_data()
            policy = data.pop("policy", None)
            row = session.get(CreditorRow, envelope.creditor, with_for_update=True)
            changed = row is not None and (row.profile, row.policy) != (data, policy)
            if row is None:
                row = CreditorRow(id=envelope.creditor, profile=data, updated_at=now)
            row.profile, row.policy, row.updated_at = data, policy, now
            session.add(row)
            session.flush()
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
                released = self._release(_Work(session, now), envelope.creditor)
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
        for event in held:
            self._apply(work, Envelope.from_bytes(event.envelope))
            work.session.delete(event)
        self._save(work)
        return len(held)

    # -- the ledger's facts --------------------------------------------------

    def follow_ledger(self, envelope: Envelope) -> bool:
        """Apply one ledger event to its debtor's collection, or hold it.

        Events of a creditor whose policy is not known yet are held, not
        applied (SPEC §2). Returns False for a message applied before.
        """
        parse_payload(envelope)  # a malformed event is refused before anything
        now = utc(self.clock.now())
        with self._transaction() as session:
            if not _first_time(session, envelope, LEDGER_EVENTS, now):
                return False
            work = _Work(session, now)
            if self._creditor(work, envelope.creditor) is None:
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
                return True
            self._apply(work, envelope)
            self._save(work)
        logger.debug("event applied", extra=_ids(envelope))
        return True

    def _apply(self, work: _Work, envelope: Envelope) -> None:
        """One fact, then everything that falls due by now, as the engine says."""
        assert envelope.debtor is not None  # parse_payload checked the addressing
        creditor = self._creditor(work, envelope.creditor)
        assert creditor is not None
        loaded = self._load(work, creditor, envelope.debtor)
        collection = loaded.collection
        payload = parse_payload(envelope)
        # A fact counts from when the ledger recorded it, never from the future.
        at = min(ensure_aware(envelope.occurred_at), work.now)

        effects: list[Effect] = []
        if isinstance(payload, facts.DebtorUpserted):
            loaded.row.debtor = payload.to_data()
            collection.reach = _reach(payload)
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
        effects += collection.advance(work.now)
        self._publish(work, creditor, loaded, effects)

    # -- timers ------------------------------------------------------------

    def fire_due(self, now: datetime, limit: int = 500, chunk: int = CHUNK) -> int:
        """Advance every collection whose timer is due by `now`; how many fired.

        Each chunk is claimed and fired in one transaction. On PostgreSQL the
        claim skips rows another worker holds, so no collection fires twice.
        """
        now = utc(now)
        fired = 0
        while fired < limit:
            size = min(chunk, limit - fired)
            with self._transaction() as session:
                rows = self._claim(session, now, size)
                work = _Work(session, now)
                for row in rows:
                    creditor = self._creditor(work, row.creditor_id)
                    if creditor is None:
                        # The policy was withdrawn: nothing is sent until a new one
                        # comes, which sets every timer of the creditor again.
                        row.next_moment = None
                        session.add(row)
                        continue
                    loaded = self._adopt(work, creditor, row)
                    self._publish(
                        work, creditor, loaded, loaded.collection.advance(now)
                    )
                self._save(work)
            fired += len(rows)
            if len(rows) < size:
                break
        if fired:
            logger.info("timers fired", extra={"fired": fired})
        return fired

    @staticmethod
    def _claim(session: Session, now: datetime, size: int) -> list[CollectionRow]:
        query = (
            select(CollectionRow)
            .where(col(CollectionRow.next_moment) <= now)
            .order_by(col(CollectionRow.next_moment))
            .limit(size)
        )
        if session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        return list(session.exec(query).all())

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
        # Locked, so a timer firing elsewhere waits for this fact (PostgreSQL).
        row = work.session.get(CollectionRow, key, with_for_update=True)
        if row is None:
            row = CollectionRow(
                creditor_id=creditor.id,
                debtor_id=debtor,
                state={},
                contacts=[],
                updated_at=work.now,
            )
        return self._adopt(work, creditor, row)

    @staticmethod
    def _adopt(work: _Work, creditor: _Creditor, row: CollectionRow) -> _Loaded:
        calendar = _calendar(creditor, row.debtor)
        if row.state:
            collection = documents.load(
                Collection, row.state, policy=creditor.policy, calendar=calendar
            )
        else:
            collection = Collection(
                creditor.id, row.debtor_id, creditor.policy, calendar
            )
        loaded = _Loaded(row, collection, list(row.contacts))
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
            if event_id in work.enqueued or _in_outbox(work.session, event_id):
                logger.warning(
                    "effect already enqueued",
                    extra={"event_id": str(event_id), "type": outgoing.envelope.type},
                )
                continue
            enqueue(work.session, OutboxMessage, outgoing.envelope, outgoing.topic)
            work.enqueued.add(event_id)
            if outgoing.contact is not None:
                loaded.contacts.append(outgoing.contact)

    @staticmethod
    def _save(work: _Work) -> None:
        for loaded in work.loaded.values():
            row, collection = loaded.row, loaded.collection
            moment = collection.next_moment(work.now)
            if moment is not None and utc(moment) <= work.now:
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
            row.next_moment = utc(moment) if moment is not None else None
            row.version += 1
            row.updated_at = work.now
            work.session.add(row)
        work.loaded.clear()

    @contextmanager
    def _transaction(self) -> Iterator[Session]:
        with Session(self.engine, expire_on_commit=False) as session, session.begin():
            yield session


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


def _in_outbox(session: Session, event_id: UUID) -> bool:
    found = session.exec(
        select(OutboxMessage.event_id).where(OutboxMessage.event_id == event_id)
    ).first()
    return found is not None


def _reach(debtor: facts.DebtorUpserted) -> Reachability:
    """Email: an address not opted out. Post: an address to print on a letter."""
    # TODO(#4): an address that bounced is unreachable until the debtor's is updated.
    return Reachability(
        email=debtor.email is not None and not debtor.email_opt_out,
        postal=debtor.address is not None,
    )


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
