"""An SMTP server that delivers nothing: every message lands in an outbox folder.

Run detached by `overdue infra up`:

    python -m shared.devstack.smtp_sink --host 127.0.0.1 --port 2525 --outbox var/outbox

Each message becomes one `.eml` file, named by its Date (else its arrival)
and its Message-ID.
It is written under a hidden temporary name and then renamed, so a reader
globbing `*.eml` never sees half a message. Line endings are stored as
`\n`, as Python's own `email` package writes them, and two headers are put
in front, as a delivering server would: `X-Envelope-From` and `X-Envelope-To`.
"""

import argparse
import asyncio
import logging
import os
import re
import signal
import smtplib
import uuid
from datetime import UTC, datetime
from email.parser import BytesHeaderParser
from email.utils import parsedate_to_datetime
from pathlib import Path

from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

logger = logging.getLogger(__name__)

UNSAFE = re.compile(r"[^A-Za-z0-9._@-]+")
SERVER_NAME = "overdue-smtp-sink"  # fixed: looking up our FQDN can stall for seconds


def file_stem(message_id: str | None, now: datetime) -> str:
    """`<UTC time>-<Message-ID made safe for a file name>`, a uuid when none."""
    stamp = now.astimezone(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    cleaned = UNSAFE.sub("_", (message_id or "").strip().strip("<>")).strip("._")
    return f"{stamp}-{cleaned[:120] or uuid.uuid4().hex}"


def dated(header: str | None) -> datetime:
    """The moment a message says it was written (a simulation's are in virtual
    time), else now: the outbox then lists messages in the order they were sent."""
    try:
        moment = parsedate_to_datetime(header) if header else None
    except (TypeError, ValueError):
        moment = None
    if moment is None or moment.tzinfo is None:
        return datetime.now(UTC)
    return moment


def store(outbox: Path, raw: bytes, mail_from: str, rcpt_tos: list[str]) -> Path:
    """Write one message into the outbox atomically; returns its path."""
    headers = BytesHeaderParser().parsebytes(raw)
    stem = file_stem(headers.get("Message-ID"), dated(headers.get("Date")))
    target = outbox / f"{stem}.eml"
    if target.exists():
        target = outbox / f"{stem}-{uuid.uuid4().hex[:8]}.eml"

    envelope = (
        f"X-Envelope-From: <{mail_from}>\n"
        f"X-Envelope-To: {', '.join(f'<{rcpt}>' for rcpt in rcpt_tos)}\n"
    ).encode()
    temporary = outbox / f".{target.name}.{uuid.uuid4().hex}.tmp"
    with open(temporary, "wb") as out:
        out.write(envelope + raw.replace(b"\r\n", b"\n"))
        out.flush()
        os.fsync(out.fileno())
    os.replace(temporary, target)
    return target


def unreachable(address: str) -> bool:
    """Whether an address is under the `.invalid` top-level domain (RFC 2606),
    which no mail can reach: the sink refuses it as a real server would, so a
    test or a scenario can make an address bounce."""
    domain = address.rpartition("@")[2].rstrip(".>").lower()
    return domain == "invalid" or domain.endswith(".invalid")


class OutboxHandler:
    """aiosmtpd handler: accept every reachable recipient, store every message."""

    def __init__(self, outbox: Path) -> None:
        self.outbox = outbox

    async def handle_RCPT(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        if unreachable(address):
            return f"550 5.1.1 <{address}>: the domain does not exist"
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 OK"

    async def handle_DATA(
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        raw = envelope.original_content or b""
        if isinstance(envelope.content, bytes) and not raw:
            raw = envelope.content
        path = store(
            self.outbox, raw, envelope.mail_from or "", list(envelope.rcpt_tos)
        )
        logger.info("stored message %s", path.name)
        return "250 Message accepted for delivery"


def accept_any_login(
    server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: object
) -> AuthResult:
    """A client configured with credentials may log in with any of them."""
    login = data.login if isinstance(data, LoginPassword) else None
    return AuthResult(success=True, auth_data=login)


async def listening(host: str, port: int, outbox: Path) -> asyncio.Server:
    """The sink listening on `host:port` (0: any free port) in this event loop."""
    handler = OutboxHandler(outbox)
    loop = asyncio.get_running_loop()
    return await loop.create_server(
        lambda: SMTP(
            handler,
            hostname=SERVER_NAME,
            ident=SERVER_NAME,
            enable_SMTPUTF8=True,
            auth_require_tls=False,
            authenticator=accept_any_login,
        ),
        host=host,
        port=port,
    )


async def serve(host: str, port: int, outbox: Path) -> None:
    server = await listening(host, port, outbox)
    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopping.set)
    logger.info("SMTP sink on %s:%d storing into %s", host, port, outbox)

    async with server:
        await stopping.wait()
    logger.info("SMTP sink stopped")


def answers(host: str, port: int, timeout: float = 2.0) -> bool:
    """Whether an SMTP server at host:port answers EHLO."""
    try:
        with smtplib.SMTP(host, port, timeout=timeout) as client:
            code, _ = client.ehlo("overdue-infra")
            return code == 250
    except (OSError, smtplib.SMTPException):
        return False


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=2525)
    parser.add_argument("--outbox", type=Path, default=Path("var/outbox"))
    args = parser.parse_args(argv)

    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    outbox = args.outbox.resolve()
    outbox.mkdir(parents=True, exist_ok=True)
    asyncio.run(serve(args.host, args.port, outbox))


if __name__ == "__main__":
    main()
