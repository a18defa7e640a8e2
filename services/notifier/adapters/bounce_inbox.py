"""The notifier's own small SMTP endpoint, where the bounce reports of its emails land.

Point the envelope sender's domain (or a transport rule of the outgoing MTA)
here. Every message is taken: a permanent bounce naming a contact is passed
to `on_bounce`, and only once that returned does the endpoint answer 250; if
it raised, 451 makes the reporting server send the report again later. A
delayed report, a report naming no contact, or any other mail is answered
250 and dropped with one INFO line. A report above `max_size` is refused
with 552 before it is read.
"""

import asyncio
import logging
import weakref
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import TYPE_CHECKING, Self

from aiosmtpd.smtp import SMTP, Envelope, Session

from services.notifier.domain.bounces import BounceReport, parse_bounce

if TYPE_CHECKING:
    from services.notifier.settings import NotifierSettings

logger = logging.getLogger(__name__)

OnBounce = Callable[[BounceReport], Awaitable[None]]
MAX_REPORT_BYTES = 1024 * 1024
SERVER_NAME = "overdue-notifier-bounces"  # fixed: looking up our FQDN can stall

ACCEPTED = "250 2.0.0 Accepted"
RECORDED = "250 2.0.0 Bounce recorded"
NOT_RECORDED = "451 4.3.0 Bounce not recorded, try again later"


class BounceHandler:
    """aiosmtpd handler: read each message as a bounce, pass the permanent ones on."""

    def __init__(self, on_bounce: OnBounce) -> None:
        self.on_bounce = on_bounce

    async def handle_DATA(
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        raw = envelope.original_content or b""
        report = parse_bounce(raw, envelope_recipients=envelope.rcpt_tos)

        if report is None:
            logger.info("inbound mail is no bounce report; dropped")
            return ACCEPTED
        ids = {"contact_id": report.contact_id, "count": len(report.recipients)}
        if not report.permanent:
            reason = "delayed" if report.delayed else "not failed"
            logger.info(
                "bounce report is not permanent; dropped",
                extra={**ids, "reason": reason},
            )
            return ACCEPTED
        # TODO(#5): anyone who reaches the inbox can forge a report for any
        # contact id; sign the VERP tag (as BATV does) and pass on only reports
        # whose envelope recipient carries a valid signature.
        if report.contact_id is None:
            logger.info(
                "permanent bounce names no contact; dropped",
                extra={**ids, "reason": "no contact"},
            )
            return ACCEPTED

        try:
            await self.on_bounce(report)
        except Exception:
            logger.error(
                "recording a permanent bounce failed; the reporter will retry",
                exc_info=True,
                extra=ids,
            )
            return NOT_RECORDED
        logger.info("permanent bounce recorded", extra=ids)
        return RECORDED


class BounceInbox:
    """An SMTP server on the running loop, taking bounce reports for `on_bounce`.

    `port` 0 binds a free port (tests); `bound_port` says which once started.
    """

    def __init__(
        self,
        on_bounce: OnBounce,
        *,
        host: str = "127.0.0.1",
        port: int = 2526,
        max_size: int = MAX_REPORT_BYTES,
        idle_timeout: float = 60.0,
    ) -> None:
        self.host = host
        self.port = port
        self.max_size = max_size
        self.idle_timeout = idle_timeout
        self._handler = BounceHandler(on_bounce)
        self._server: asyncio.Server | None = None
        self._sessions: weakref.WeakSet[SMTP] = weakref.WeakSet()

    @classmethod
    def from_settings(
        cls, settings: "NotifierSettings", on_bounce: OnBounce
    ) -> Self | None:
        """The inbox the settings describe; None when `bounce_port` is 0 (off)."""
        if settings.bounce_port == 0:
            return None
        return cls(on_bounce, host=settings.bounce_host, port=settings.bounce_port)

    @property
    def bound_port(self) -> int:
        """The port the inbox listens on; only once started."""
        if self._server is None:
            raise RuntimeError("the bounce inbox is not started")
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    async def start(self) -> None:
        """Listen on host:port, on the running loop."""
        if self._server is not None:
            return
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            self._session, host=self.host, port=self.port
        )
        logger.info("bounce inbox listening on %s:%d", self.host, self.bound_port)

    async def stop(self) -> None:
        """Stop listening and close the sessions still open."""
        server, self._server = self._server, None
        if server is None:
            return
        server.close()
        for session in list(self._sessions):
            if session.transport is not None:
                session.transport.close()
        await server.wait_closed()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()

    def _session(self) -> SMTP:
        session = SMTP(
            self._handler,
            data_size_limit=self.max_size,
            enable_SMTPUTF8=True,
            hostname=SERVER_NAME,
            ident=SERVER_NAME,
            timeout=self.idle_timeout,
        )
        self._sessions.add(session)
        return session
