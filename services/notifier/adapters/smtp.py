"""A few reused SMTP connections that hand emails over, retrying what may pass later.

A reply of 4xx, a refused, dropped or silent connection is transient: the
email is sent again after `backoff_base` seconds, then twice that, doubling up
to `backoff_max`, `retries` times at most, each time on a sound connection (a
broken one is closed and a fresh one opened). A 5xx reply is permanent and
raised at once. Connections open on first use, stay open between emails, and
one idle for longer than `idle_check` seconds is probed with NOOP first.

SMTP cannot tell a reply lost after the final dot from a message never sent,
so a connection dropped at that moment may deliver an email twice: the
contact's fixed Message-ID lets the debtor's client show it once.
"""

import asyncio
import copy
import email.generator
import email.policy
import io
import logging
import random
import re
import socket
import ssl
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage
from types import TracebackType
from typing import TYPE_CHECKING, Self

import aiosmtplib
from aiosmtplib.email import parse_address

from services.notifier.errors import (
    DeliveryError,
    PermanentDeliveryError,
    RetriesExhausted,
    Stage,
    TransientDeliveryError,
)

if TYPE_CHECKING:
    from services.notifier.settings import NotifierSettings

logger = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]

_ENHANCED_STATUS = re.compile(r"^\s*([245]\.\d{1,3}\.\d{1,3})(?![\d.])")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_CONNECTION_ERRORS = (
    aiosmtplib.SMTPServerDisconnected,
    aiosmtplib.SMTPConnectError,
    aiosmtplib.SMTPTimeoutError,
    OSError,  # refused, reset, unreachable, timed out, TLS failures
)


@dataclass(frozen=True, slots=True)
class SendReceipt:
    """The server took the email: after how many attempts, and what it answered.

    `response` is the reply's code and enhanced status (`250 2.0.0`), never its
    text; `refused` maps each recipient the server refused while it took the
    others to the reply code.
    """

    attempts: int
    response: str
    refused: Mapping[str, int] = field(default_factory=dict)


def backoff_delay(
    retry: int, *, base: float, cap: float, jitter: float = 0.0, spread: float = 0.0
) -> float:
    """Seconds before retry number `retry` (1 first): base, doubling, at most cap.

    `jitter` is the largest share by which the wait is lengthened or
    shortened, and `spread` where in that range this wait falls (-1 to 1),
    so that notifiers whose sends failed together do not retry together.
    """
    wait = min(base * 2.0 ** (retry - 1), cap)
    return max(wait * (1.0 + jitter * spread), 0.0)


def reply_summary(code: int | None, text: str | None) -> tuple[str, str | None]:
    """A reply as `code enhanced-status`, and the status alone, without its text."""
    found = _ENHANCED_STATUS.match(text or "")
    status = found.group(1) if found else None
    summary = " ".join(str(part) for part in (code, status) if part is not None)
    return summary or "no reply", status


class _Slot:
    """One place in the pool: a client, connected or not yet, and its last use."""

    __slots__ = ("client", "idle_since")

    def __init__(self) -> None:
        self.client: aiosmtplib.SMTP | None = None
        self.idle_since = 0.0

    def discard(self) -> None:
        if self.client is not None:
            self.client.close()
            self.client = None


class _Payload:
    """An email flattened once per transfer encoding the servers ask for.

    Bytes given as they are (7-bit clean, CRLF, as `compose_raw` writes
    them) are sent unchanged over any server.
    """

    __slots__ = ("_flat", "message", "utf8")

    def __init__(self, message: EmailMessage | bytes, *, utf8: bool) -> None:
        self._flat: dict[str, bytes] = {}
        if isinstance(message, bytes):
            self._flat = {"8bit": message, "7bit": message}
        elif "Bcc" in message or "Resent-Bcc" in message:
            message = copy.copy(message)
            del message["Bcc"], message["Resent-Bcc"]
        self.message = message
        self.utf8 = utf8

    def for_client(self, client: aiosmtplib.SMTP) -> tuple[bytes, list[str]]:
        """The bytes to send over `client`, and the MAIL FROM options they need."""
        options = ["SMTPUTF8"] if self.utf8 else []
        if client.supports_extension("8bitmime"):
            options.append("BODY=8BITMIME")
            cte = "8bit"
        else:
            cte = "7bit"

        flat = self._flat.get(cte)
        if flat is None:
            assert isinstance(self.message, EmailMessage)
            policy = email.policy.SMTPUTF8 if self.utf8 else email.policy.SMTP
            if cte != "8bit":
                policy = policy.clone(cte_type=cte)
            with io.BytesIO() as out:
                email.generator.BytesGenerator(out, policy=policy).flatten(self.message)
                flat = self._flat[cte] = out.getvalue()
        return flat, options


class SmtpPool:
    """`size` SMTP connections to one server, reused; `send` retries what may pass."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        size: int = 4,
        starttls: bool = False,
        tls: bool = False,
        tls_context: ssl.SSLContext | None = None,
        username: str | None = None,
        password: str | None = None,
        helo_name: str | None = None,
        timeout: float = 30.0,
        idle_check: float = 30.0,
        retries: int = 4,
        backoff_base: float = 1.0,
        backoff_max: float = 60.0,
        backoff_jitter: float = 0.0,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if size < 1:
            raise ValueError("an SMTP pool needs at least one connection")
        if starttls and tls:
            raise ValueError("STARTTLS and implicit TLS exclude each other")
        self.host = host
        self.port = port
        self.size = size
        self.retries = retries
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.backoff_jitter = backoff_jitter
        self._tls = tls
        self._starttls = starttls
        self._tls_context = tls_context
        self._username = username
        self._password = password
        self._timeout = timeout
        self._helo_name = helo_name
        self._idle_check = idle_check
        self._sleep = sleep
        self._slots: asyncio.Queue[_Slot] = asyncio.Queue()
        for _ in range(size):
            self._slots.put_nowait(_Slot())
        self._closed = False

    @classmethod
    def from_settings(
        cls, settings: "NotifierSettings", *, sleep: Sleep = asyncio.sleep
    ) -> Self:
        """The pool the notifier's settings describe."""
        context = None
        if settings.smtp_ca_file:
            context = ssl.create_default_context(cafile=settings.smtp_ca_file)
        password = settings.smtp_password
        return cls(
            settings.smtp_host,
            settings.smtp_port,
            size=settings.smtp_pool_size,
            starttls=settings.smtp_starttls,
            tls=settings.smtp_tls,
            tls_context=context,
            username=settings.smtp_username,
            password=password.get_secret_value() if password else None,
            helo_name=settings.smtp_helo_name,
            timeout=settings.smtp_timeout,
            idle_check=settings.smtp_idle_check,
            retries=settings.smtp_retries,
            backoff_base=settings.smtp_backoff_base,
            backoff_max=settings.smtp_backoff_max,
            backoff_jitter=settings.smtp_backoff_jitter,
            sleep=sleep,
        )

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    async def send(
        self,
        message: EmailMessage | bytes,
        *,
        sender: str,
        recipients: Sequence[str],
        contact_id: str | None = None,
    ) -> SendReceipt:
        """Hand `message` to the server for `recipients`, retrying transient failures.

        `message` is an `EmailMessage`, or its SMTP bytes already flattened.

        Raises `PermanentDeliveryError` on a 5xx reply, `RetriesExhausted` when
        every attempt failed transiently.
        """
        if self._closed:
            raise RuntimeError("the SMTP pool is closed")
        _check_addresses(sender, recipients)
        payload = _Payload(message, utf8=_needs_utf8(sender, recipients))

        attempt = 0
        while True:
            attempt += 1
            ids = {"contact_id": contact_id, "attempt": attempt}
            try:
                refused, reply = await self._attempt(payload, sender, recipients)
            except PermanentDeliveryError as exc:
                # An outcome the notifier reports and works around, not a fault.
                logger.warning(
                    "SMTP server refused the email for good",
                    extra={**ids, **_reply_ids(exc)},
                )
                raise
            except TransientDeliveryError as exc:
                reply_ids = _reply_ids(exc)
                if attempt > self.retries:
                    logger.error(
                        "SMTP server did not take the email; giving up",
                        exc_info=True,
                        extra={**ids, **reply_ids},
                    )
                    raise RetriesExhausted(
                        exc.detail, attempts=attempt, code=exc.code, status=exc.status
                    ) from exc
                delay = backoff_delay(
                    attempt,
                    base=self.backoff_base,
                    cap=self.backoff_max,
                    jitter=self.backoff_jitter,
                    spread=random.uniform(-1.0, 1.0),
                )
                logger.warning(
                    "SMTP server did not take the email; retrying",
                    extra={**ids, **reply_ids, "retry_in": delay},
                )
                await self._sleep(delay)
                continue

            logger.debug("SMTP server took the email", extra=ids)
            return SendReceipt(attempts=attempt, response=reply, refused=refused)

    async def close(self) -> None:
        """Wait for the sends under way, then QUIT every connection."""
        if self._closed:
            return
        self._closed = True

        slots = [await self._slots.get() for _ in range(self.size)]
        await asyncio.gather(*(_quit(slot) for slot in slots))
        for slot in slots:
            self._slots.put_nowait(slot)

    async def _attempt(
        self, payload: _Payload, sender: str, recipients: Sequence[str]
    ) -> tuple[dict[str, int], str]:
        """One try over one pooled connection; errors come out as ours."""
        slot = await self._slots.get()
        try:
            if self._closed:
                raise RuntimeError("the SMTP pool is closed")
            stage: Stage = "connect"
            try:
                client = await self._connected(slot)
                flat, options = payload.for_client(client)
                stage = "mail"
                errors, reply = await client.sendmail(
                    sender, recipients, flat, mail_options=options
                )
            except aiosmtplib.SMTPRecipientsRefused as exc:
                if not _still_connected(slot):
                    slot.discard()  # a 421 closes the session
                raise _refused(exc) from None
            except aiosmtplib.SMTPResponseException as exc:
                if not _still_connected(slot):
                    slot.discard()
                raise _replied(exc, stage) from None
            except aiosmtplib.SMTPNotSupported as exc:
                slot.discard()
                raise PermanentDeliveryError(
                    f"server lacks an extension we need: {_first_word(exc)}",
                    code=None,
                    stage="connect",
                ) from None
            except _CONNECTION_ERRORS as exc:
                slot.discard()
                raise TransientDeliveryError(
                    f"connection failed: {type(exc).__name__}"
                ) from exc
            except BaseException:
                slot.discard()  # cancelled mid-session: its state is unknown
                raise
        finally:
            slot.idle_since = time.monotonic()
            self._slots.put_nowait(slot)

        # TODO(#5): a recipient refused with 4xx while others were taken is not
        # retried; the notifier sends one recipient per email, so it never is yet.
        refused = {address: response.code for address, response in errors.items()}
        return refused, reply_summary(250, reply)[0]

    async def _connected(self, slot: _Slot) -> aiosmtplib.SMTP:
        """The slot's client, sound: reconnected if the server closed or went quiet."""
        client = slot.client
        if client is not None and client.is_connected:
            idle = time.monotonic() - slot.idle_since
            if not self._idle_check or idle <= self._idle_check:
                return client
            try:
                await client.noop()
                return client
            except (aiosmtplib.SMTPException, OSError):
                pass
        slot.discard()

        if self._helo_name is None:
            self._helo_name = await asyncio.to_thread(socket.getfqdn)
        client = aiosmtplib.SMTP(
            hostname=self.host,
            port=self.port,
            use_tls=self._tls,
            start_tls=self._starttls,
            tls_context=self._tls_context,
            username=self._username,
            password=self._password,
            timeout=self._timeout,
            local_hostname=self._helo_name,
        )
        await client.connect()
        slot.client = client
        return client


def _still_connected(slot: _Slot) -> bool:
    return slot.client is not None and slot.client.is_connected


def _refused(exc: aiosmtplib.SMTPRecipientsRefused) -> Exception:
    """Every recipient refused: permanent if every refusal was a 5xx."""
    codes = [refusal.code for refusal in exc.recipients]
    transient = [r for r in exc.recipients if not 500 <= r.code < 600]
    first = transient[0] if transient else exc.recipients[0]
    summary, status = reply_summary(first.code, first.message)
    if transient or not codes:
        return TransientDeliveryError(
            f"recipient refused: {summary}", code=first.code, status=status
        )
    return PermanentDeliveryError(
        f"recipient refused: {summary}", code=first.code, stage="rcpt", status=status
    )


def _replied(exc: aiosmtplib.SMTPResponseException, stage: Stage) -> Exception:
    """A reply that ended the attempt, as a transient or permanent error."""
    if isinstance(exc, aiosmtplib.SMTPSenderRefused):
        stage = "mail"
    elif isinstance(exc, aiosmtplib.SMTPDataError):
        stage = "data"
    elif isinstance(exc, aiosmtplib.SMTPHeloError | aiosmtplib.SMTPConnectError):
        stage = "connect"
    summary, status = reply_summary(exc.code, exc.message)
    detail = f"{stage} refused: {summary}"
    if 500 <= exc.code < 600:
        return PermanentDeliveryError(detail, code=exc.code, stage=stage, status=status)
    code = exc.code if exc.code > 0 else None
    return TransientDeliveryError(detail, code=code, status=status)


def _reply_ids(exc: DeliveryError) -> dict[str, object]:
    return {"smtp_code": exc.code, "smtp_status": exc.status, "reason": exc.detail}


def _first_word(exc: Exception) -> str:
    words = str(exc).split()
    return words[0].strip(".:,") if words else "unknown"


def _needs_utf8(sender: str, recipients: Sequence[str]) -> bool:
    return not (sender.isascii() and all(r.isascii() for r in recipients))


def _check_addresses(sender: str, recipients: Sequence[str]) -> None:
    """A bare address without control characters, else refused here for good."""
    if not recipients:
        raise PermanentDeliveryError("no recipient", code=None, stage="rcpt")
    checks: list[tuple[str, Stage]] = [(sender, "mail")]
    checks.extend((recipient, "rcpt") for recipient in recipients)
    for address, stage in checks:
        if not _fit_for_smtp(address):
            raise PermanentDeliveryError(
                "address not fit for SMTP", code=None, stage=stage
            )


def _fit_for_smtp(address: str) -> bool:
    if _CONTROL.search(address):
        return False
    try:
        return parse_address(address) == address  # the client would alter it
    except ValueError:
        return False


async def _quit(slot: _Slot) -> None:
    client = slot.client
    slot.client = None
    if client is None or not client.is_connected:
        return
    try:
        await client.quit()
    except (aiosmtplib.SMTPException, OSError):
        client.close()
