"""The ledger's application service: every entry point records facts through it.

Each command is one database transaction: load, decide with the domain's
rules, persist, and enqueue the events it reports in the outbox. Nothing of
a refused command is written, neither rows nor events.
"""

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from services.ledger.adapters.tables import (
    ApiKeyRow,
    CreditorRow,
    DebtorCreditRow,
    InvoiceRow,
    OutboxMessage,
    PaymentRow,
    ProcessedMessage,
)
from services.ledger.domain import allocation
from services.ledger.domain.errors import (
    DuplicateCreditor,
    LedgerError,
    UnknownCreditor,
    UnknownInvoice,
)
from services.ledger.service.batch import Batch
from services.ledger.service.facts import (
    APPLY,
    Fact,
    load_debtor,
    money,
    open_item,
    parse_fact,
)
from services.ledger.service.profiles import CreditorProfile
from services.ledger.service.reading import debtor_view, invoice_view, payment_view
from services.ledger.service.views import (
    CurrencyBalance,
    DebtorView,
    InvoiceView,
    StatementView,
)
from shared.clock import Clock
from shared.db.bulk import among
from shared.events import Envelope, Payload
from shared.events.creditors import CreditorUpdated
from shared.events.parties import PostalAddress
from shared.http.keys import hash_key, new_api_key, verify_key
from shared.money import quantize
from shared.outbox import enqueue
from shared.policy import Policy, policy_from_mapping
from shared.topics import LEDGER_CREDITORS

logger = logging.getLogger(__name__)

ZERO = Decimal(0)
_ID_CHUNK = 1000


@dataclass(frozen=True)
class RecordResult:
    """What recording one fact did: the events it emitted, or nothing if a replay."""

    event_id: UUID
    type: str
    duplicate: bool = False
    emitted: tuple[UUID, ...] = ()


class Ledger:
    """Records creditors and facts, answers queries; one transaction per command."""

    def __init__(self, engine: Engine, clock: Clock) -> None:
        self.engine = engine
        self.clock = clock

    # -- creditors ---------------------------------------------------------

    def add_creditor(
        self, profile: CreditorProfile, *, creditor_id: str | None = None
    ) -> tuple[str, str]:
        """Create a creditor; returns its id and its first API key, shown once."""
        creditor_id = creditor_id or f"c-{uuid4().hex[:16]}"
        key = new_api_key()
        now = self.clock.now()

        with self._transaction() as session:
            if session.get(CreditorRow, creditor_id) is not None:
                raise DuplicateCreditor()
            row = CreditorRow(
                id=creditor_id, created_at=now, updated_at=now, **_columns(profile)
            )
            session.add(row)
            session.flush()  # the key refers to the creditor: its row goes first
            session.add(
                ApiKeyRow(hash=hash_key(key), creditor_id=creditor_id, created_at=now)
            )
            session.flush()
            self._publish_creditor(session, row, now)

        logger.info("creditor added", extra={"creditor": creditor_id})
        return creditor_id, key

    def issue_api_key(self, creditor_id: str) -> str:
        """Another key for the creditor; only its hash is kept."""
        key = new_api_key()
        now = self.clock.now()

        with self._transaction() as session:
            row = self._creditor(session, creditor_id)
            session.add(
                ApiKeyRow(hash=hash_key(key), creditor_id=creditor_id, created_at=now)
            )
            session.flush()
            self._publish_creditor(session, row, now)
        return key

    def authenticate(self, api_key: str) -> str | None:
        """The creditor a live key belongs to, or None."""
        stored = hash_key(api_key)
        with Session(self.engine) as session:
            row = session.get(ApiKeyRow, stored)
            if row is None or row.revoked_at is not None:
                return None
            return row.creditor_id if verify_key(api_key, row.hash) else None

    def update_profile(self, creditor_id: str, profile: CreditorProfile) -> None:
        """Replace the creditor's whole profile."""
        now = self.clock.now()
        with self._transaction() as session:
            row = self._creditor(session, creditor_id)
            for name, value in _columns(profile).items():
                setattr(row, name, value)
            row.updated_at = now
            session.add(row)
            self._publish_creditor(session, row, now)

    def set_policy(
        self, creditor_id: str, policy: Policy | Mapping[str, Any]
    ) -> Policy:
        """Make `policy` (SPEC §3) the creditor's; raises `PolicyError` naming each
        problem, exactly as `overdue policy check` reports them."""
        checked = policy if isinstance(policy, Policy) else policy_from_mapping(policy)
        now = self.clock.now()
        with self._transaction() as session:
            row = self._creditor(session, creditor_id)
            row.policy = checked.to_data()
            row.updated_at = now
            session.add(row)
            self._publish_creditor(session, row, now)
        return checked

    # -- facts -------------------------------------------------------------

    def record(self, creditor_id: str, envelope: Envelope) -> RecordResult:
        """Record one inbound fact; the same envelope id again changes nothing."""
        return self._record(creditor_id, [envelope], indexed=False)[0]

    def record_many(
        self, creditor_id: str, envelopes: Sequence[Envelope]
    ) -> list[RecordResult]:
        """Record every fact or none; the first error carries its `index`."""
        return self._record(creditor_id, envelopes, indexed=True)

    def _record(
        self, creditor_id: str, envelopes: Sequence[Envelope], *, indexed: bool
    ) -> list[RecordResult]:
        now = self.clock.now()
        results: list[RecordResult] = []

        with self._transaction() as session:
            self._creditor(session, creditor_id)
            seen = self._processed(session, [e.id for e in envelopes])
            parsed = [_parse(envelope, creditor_id, seen) for envelope in envelopes]
            batch = Batch(session, creditor_id, now)
            batch.load(
                (envelope, payload)
                for envelope, payload in zip(envelopes, parsed, strict=True)
                if not isinstance(payload, LedgerError | None)
            )

            for index, (envelope, payload) in enumerate(
                zip(envelopes, parsed, strict=True)
            ):
                try:
                    results.append(self._apply(batch, envelope, payload, seen))
                except LedgerError as error:
                    if indexed:
                        error.index = index
                    raise

            batch.write()

        if not logger.isEnabledFor(logging.DEBUG):
            return results
        for result in results:
            logger.debug(
                "fact recorded",
                extra={
                    "event_id": str(result.event_id),
                    "type": result.type,
                    "creditor": creditor_id,
                    "duplicate": result.duplicate,
                },
            )
        return results

    @staticmethod
    def _apply(
        batch: Batch,
        envelope: Envelope,
        payload: Payload | LedgerError | None,
        seen: set[UUID],
    ) -> RecordResult:
        if isinstance(payload, LedgerError):
            raise payload
        if payload is None or envelope.id in seen:
            return RecordResult(envelope.id, envelope.type, duplicate=True)

        fact = Fact(batch, envelope)
        APPLY[type(payload)](fact, payload)

        batch.processed(envelope)
        seen.add(envelope.id)
        return RecordResult(envelope.id, envelope.type, emitted=tuple(fact.emitted))

    # -- queries -----------------------------------------------------------

    def debtor(self, creditor_id: str, debtor_id: str) -> DebtorView:
        """A debtor of this creditor; another creditor's is not found."""
        with Session(self.engine) as session:
            return debtor_view(load_debtor(session, creditor_id, debtor_id))

    def invoice(self, creditor_id: str, number: str) -> InvoiceView:
        """An invoice of this creditor by number; another creditor's is not found."""
        with Session(self.engine) as session:
            row = session.get(InvoiceRow, (creditor_id, number))
            if row is None:
                raise UnknownInvoice("number")
            return invoice_view(session, row)

    def statement(self, creditor_id: str, debtor_id: str) -> StatementView:
        """The debtor's open items, payments, balances and unallocated credit."""
        with Session(self.engine) as session:
            debtor = load_debtor(session, creditor_id, debtor_id)
            invoices = session.exec(
                select(InvoiceRow).where(
                    InvoiceRow.creditor_id == creditor_id,
                    InvoiceRow.debtor_id == debtor_id,
                )
            ).all()
            payments = session.exec(
                select(PaymentRow)
                .where(
                    PaymentRow.creditor_id == creditor_id,
                    PaymentRow.debtor_id == debtor_id,
                )
                .order_by(col(PaymentRow.received_on), col(PaymentRow.payment_id))
            ).all()
            credits = session.exec(
                select(DebtorCreditRow).where(
                    DebtorCreditRow.creditor_id == creditor_id,
                    DebtorCreditRow.debtor_id == debtor_id,
                )
            ).all()

            open_rows = allocation.oldest_due_first(
                open_item(row) for row in invoices if open_item(row).is_open
            )
            by_number = {row.number: row for row in invoices}
            currencies = sorted(
                {row.currency for row in invoices} | {c.currency for c in credits}
            )
            balances = [
                CurrencyBalance(
                    currency=currency,
                    open_balance=sum(
                        (i.balance for i in open_rows if i.currency == currency),
                        start=quantize(ZERO, currency),
                    ),
                    unallocated_credit=sum(
                        (
                            money(c.amount, currency)
                            for c in credits
                            if c.currency == currency
                        ),
                        start=quantize(ZERO, currency),
                    ),
                )
                for currency in currencies
            ]
            return StatementView(
                debtor=debtor_view(debtor),
                open_items=[
                    invoice_view(session, by_number[i.number]) for i in open_rows
                ],
                payments=[payment_view(p) for p in payments],
                balances=balances,
            )

    # -- helpers -----------------------------------------------------------

    def _transaction(self) -> "_Transaction":
        return _Transaction(self.engine)

    @staticmethod
    def _creditor(session: Session, creditor_id: str) -> CreditorRow:
        row = session.get(CreditorRow, creditor_id)
        if row is None:
            raise UnknownCreditor("creditor")
        return row

    @staticmethod
    def _processed(session: Session, ids: list[UUID]) -> set[UUID]:
        seen: set[UUID] = set()
        for start in range(0, len(ids), _ID_CHUNK):
            chunk = ids[start : start + _ID_CHUNK]
            seen.update(
                session.exec(
                    select(ProcessedMessage.event_id).where(
                        among(
                            col(ProcessedMessage.event_id),
                            chunk,
                            session.connection().dialect.name,
                        )
                    )
                ).all()
            )
        return seen

    def _publish_creditor(
        self, session: Session, row: CreditorRow, now: datetime
    ) -> None:
        hashes = session.exec(
            select(ApiKeyRow.hash)
            .where(ApiKeyRow.creditor_id == row.id, col(ApiKeyRow.revoked_at).is_(None))
            .order_by(col(ApiKeyRow.created_at), col(ApiKeyRow.hash))
        ).all()
        payload = CreditorUpdated(
            legal_name=row.legal_name,
            address=PostalAddress.model_validate(row.address),
            country=row.country,
            timezone=row.timezone,
            currency=row.currency,
            language=row.language,
            paper="Letter" if row.paper == "Letter" else "A4",
            branding=row.branding,
            bank=row.bank,
            payment_link=row.payment_link,
            late_fees=row.late_fees,
            policy=row.policy,
            api_key_hashes=list(hashes),
        )
        envelope = Envelope.wrap(payload, creditor=row.id, occurred_at=now)
        enqueue(session, OutboxMessage, envelope, LEDGER_CREDITORS)


def _parse(
    envelope: Envelope, creditor_id: str, seen: set[UUID]
) -> Payload | LedgerError | None:
    """The fact's payload; its refusal, raised when its turn comes; None if a replay.

    A refusal is kept rather than raised so that an earlier fact's refusal, found
    only when it is applied, is still the one reported.
    """
    if envelope.creditor != creditor_id:
        return UnknownCreditor("creditor")
    if envelope.id in seen:
        return None
    try:
        return parse_fact(envelope)
    except LedgerError as error:
        return error


class _Transaction:
    """A session whose transaction commits on success and rolls back on error."""

    def __init__(self, engine: Engine) -> None:
        self.session = Session(engine, expire_on_commit=False)

    def __enter__(self) -> Session:
        self.session.begin()
        return self.session

    def __exit__(self, kind: object, error: object, traceback: object) -> None:
        try:
            if kind is None:
                self.session.commit()
            else:
                self.session.rollback()
        finally:
            self.session.close()


def _columns(profile: CreditorProfile) -> dict[str, Any]:
    data = profile.model_dump(mode="json")
    return {
        name: data[name]
        for name in (
            "legal_name",
            "address",
            "country",
            "timezone",
            "currency",
            "language",
            "paper",
            "branding",
            "bank",
            "payment_link",
            "late_fees",
        )
    }
