"""Each day's letters, bound into one print batch PDF with a CSV manifest (SPEC §5).

A day is the creditor's local date on which a letter was produced. Once the
day is over its letters are bound; a letter that joins a day already bound
(a late retry) has the batch bound again, with it. `overdue notifier bind
--day` binds a day early, today's letters so far included.
"""

import logging
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from services.notifier.adapters.print_room import BatchEntry, PrintRoom
from services.notifier.adapters.tables import CreditorRow, LetterRow, PrintBatchRow
from services.notifier.service.transactions import transaction, utc
from services.notifier.settings import NotifierSettings
from shared.clock import Clock, clock_from_settings
from shared.db.engine import make_engine

logger = logging.getLogger(__name__)


class Binder:
    """Binds the print batches of the days that are over."""

    def __init__(self, engine: Engine, clock: Clock, print_room: PrintRoom) -> None:
        self.engine = engine
        self.clock = clock
        self.print_room = print_room

    def bind(self, *, through: date | None = None) -> list[PrintBatchRow]:
        """Bind each creditor's letters of every day before today (or through
        `through`) whose batch is missing or lacks a letter that joined since."""
        now = utc(self.clock.now())
        bound = []
        with transaction(self.engine) as session:
            # TODO(#5): this counts every day's letters ever produced, at each
            # look (once a minute); past a few million letters, start from each
            # creditor's last bound day instead.
            days = session.execute(
                sa.select(
                    col(LetterRow.creditor_id), col(LetterRow.day), sa.func.count()
                ).group_by(col(LetterRow.creditor_id), col(LetterRow.day))
            ).all()
            for creditor_id, day, count in days:
                if not self._day_over(session, creditor_id, day, now, through):
                    continue
                batch = session.get(PrintBatchRow, (creditor_id, day))
                if batch is not None and batch.letters == count:
                    continue
                bound.append(self._bind(session, creditor_id, day, batch, now))
        return bound

    def _day_over(
        self,
        session: Session,
        creditor_id: str,
        day: date,
        now: datetime,
        through: date | None,
    ) -> bool:
        if through is not None:
            return day <= through
        creditor = session.get(CreditorRow, creditor_id)
        timezone = ZoneInfo(creditor.profile["timezone"]) if creditor else UTC
        return day < now.astimezone(timezone).date()

    def _bind(
        self,
        session: Session,
        creditor_id: str,
        day: date,
        batch: PrintBatchRow | None,
        now: datetime,
    ) -> PrintBatchRow:
        # TODO(#5): two notifier processes binding one day at the same moment
        # write the same files, and one fails on the batch row, logs it and
        # looks again 5 s later; a lock per creditor and day would spare that.
        letters = session.exec(
            select(LetterRow)
            .where(LetterRow.creditor_id == creditor_id, LetterRow.day == day)
            .order_by(col(LetterRow.created_at), col(LetterRow.contact_id))
        ).all()
        entries = [
            BatchEntry(
                letter.contact_id,
                letter.debtor_id,
                letter.template,
                letter.pages,
                letter.path,
            )
            for letter in letters
        ]
        written = self.print_room.bind(creditor_id, day, entries)
        if batch is None:
            batch = PrintBatchRow(
                creditor_id=creditor_id,
                day=day,
                letters=0,
                pages=0,
                path=written.path,
                manifest=written.manifest,
                built_at=now,
            )
            session.add(batch)
        batch.letters, batch.pages, batch.built_at = written.letters, written.pages, now
        batch.path, batch.manifest = written.path, written.manifest
        logger.info(
            "print batch bound",
            extra={
                "creditor": creditor_id,
                "count": written.letters,
                "pages": written.pages,
            },
        )
        return batch


def bind_now(
    settings: NotifierSettings, *, through: date | None = None
) -> list[PrintBatchRow]:
    """Bind what is due on the database and letters folder of `settings`."""
    engine = make_engine(settings.database_url)
    try:
        binder = Binder(
            engine, clock_from_settings(settings), PrintRoom(settings.letters_dir)
        )
        return binder.bind(through=through)
    finally:
        engine.dispose()
