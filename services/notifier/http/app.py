"""Everything `overdue notifier serve` runs, in one process.

The Kafka consumers, the loop that tries postponed contacts again, the loop
that binds each finished day's letters into its print batch, the outbox
relay, the inbound SMTP endpoint for bounce reports, and `/healthz`.
"""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

import anyio
from fastapi import FastAPI

from services.notifier.adapters.bounce_inbox import BounceInbox
from services.notifier.adapters.press import LetterPress
from services.notifier.adapters.print_room import PrintRoom
from services.notifier.adapters.smtp import SmtpPool
from services.notifier.adapters.tables import OutboxMessage
from services.notifier.app import DESCRIPTION, create_app
from services.notifier.domain.bounces import BounceReport
from services.notifier.loops import RETRY_TICK, repeating
from services.notifier.rendering.templates import Templates
from services.notifier.service import Notifier
from services.notifier.service.batches import Binder
from services.notifier.settings import NotifierSettings
from shared.clock import Clock, clock_from_settings
from shared.db.engine import make_engine
from shared.messaging.broker import project_version
from shared.messaging.http import http_app
from shared.outbox import relay_on_commit

TITLE = "overdue notifier"


def create_http(settings: NotifierSettings, *, clock: Clock | None = None) -> FastAPI:
    """The notifier's process on the database, SMTP server and folders of `settings`."""
    clock = clock or clock_from_settings(settings)
    engine = make_engine(settings.database_url)
    press = LetterPress(settings.letter_workers)
    mailer = SmtpPool.from_settings(settings)
    print_room = PrintRoom(settings.letters_dir)
    notifier = Notifier(
        engine,
        clock,
        templates=Templates(overrides=settings.template_overrides),
        press=press,
        mailer=mailer,
        print_room=print_room,
        envelope_sender=settings.envelope_sender,
        max_attempts=settings.max_attempts,
        concurrency=settings.concurrency,
        lease=timedelta(seconds=settings.contact_lease),
    )

    @asynccontextmanager
    async def tools(_: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await mailer.close()
            await asyncio.to_thread(press.close)

    @asynccontextmanager
    async def relay(_: FastAPI) -> AsyncIterator[None]:
        async with relay_on_commit(
            engine, OutboxMessage, bootstrap_servers=settings.kafka_bootstrap_servers
        ):
            yield

    @asynccontextmanager
    async def retries(_: FastAPI) -> AsyncIterator[None]:
        async with repeating(notifier.retry_due, RETRY_TICK, "contact retries"):
            yield

    binder = Binder(engine, clock, print_room)

    async def bind() -> int:
        return len(await anyio.to_thread.run_sync(binder.bind))

    @asynccontextmanager
    async def binding(_: FastAPI) -> AsyncIterator[None]:
        async with repeating(bind, settings.bind_interval, "print batch binding"):
            yield

    async def on_bounce(report: BounceReport) -> None:
        if report.contact_id is not None:
            status = next((r.status for r in report.recipients if r.permanent), None)
            await notifier.bounced(report.contact_id, status)

    @asynccontextmanager
    async def bounces(_: FastAPI) -> AsyncIterator[None]:
        inbox = BounceInbox.from_settings(settings, on_bounce)
        if inbox is None:
            yield
            return
        async with inbox:
            yield

    return http_app(
        create_app(settings, notifier=notifier),
        title=TITLE,
        description=DESCRIPTION,
        version=project_version(),
        background=[tools, relay, retries, binding, bounces],
    )
