"""A real aiosmtpd server on a free port, scripted to answer as a test needs."""

import asyncio
import datetime
import ipaddress
import socket
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

SERVER_NAME = "overdue-test-smtp"


@dataclass
class Received:
    """One message the server took: its envelope and the parsed message."""

    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage
    session: int


@dataclass
class ScriptedHandler:
    """Answers RCPT and DATA from the scripts first, then takes the message.

    A script entry is a reply line, `"drop"` to close the connection instead
    of answering, or `"silence"` to answer 451 only after a second.
    """

    rcpt_replies: list[str] = field(default_factory=list)
    data_replies: list[str] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    sessions: list[SMTP] = field(default_factory=list)
    logins: list[tuple[str, str]] = field(default_factory=list)
    noops: int = 0

    async def handle_NOOP(
        self, server: SMTP, session: Session, envelope: Envelope, arg: str
    ) -> str:
        self.noops += 1
        return "250 2.0.0 OK"

    async def handle_RCPT(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        if self.rcpt_replies:
            return self._scripted(server, self.rcpt_replies.pop(0))
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        if self.data_replies:
            reply = self.data_replies.pop(0)
            if reply == "silence":
                await asyncio.sleep(1.0)
                return "451 4.3.0 too late"
            return self._scripted(server, reply)
        raw = envelope.original_content or b""
        parsed = message_from_bytes(raw, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        self.received.append(
            Received(
                mail_from=envelope.mail_from or "",
                rcpt_tos=list(envelope.rcpt_tos),
                message=parsed,
                session=self.sessions.index(server),
            )
        )
        return "250 2.0.0 Ok: queued as TEST1"

    def authenticate(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        mechanism: str,
        data: Any,
    ) -> AuthResult:
        if not isinstance(data, LoginPassword):
            return AuthResult(success=False, handled=False)
        login, password = data.login.decode(), data.password.decode()
        self.logins.append((mechanism, login))
        ok = (login, password) == ("overdue", "s3cret")
        return AuthResult(success=ok, handled=False)

    def close_all(self) -> None:
        """Close every open session from the server's side."""
        for server in self.sessions:
            if server.transport is not None:
                server.transport.close()

    def _scripted(self, server: SMTP, reply: str) -> str:
        if reply == "drop":
            assert server.transport is not None
            server.transport.close()
            return "421 closing"  # never reaches the client
        return reply


@asynccontextmanager
async def smtp_server(
    handler: ScriptedHandler,
    *,
    port: int = 0,
    tls_context: ssl.SSLContext | None = None,
    **smtp_options: Any,
) -> AsyncIterator[int]:
    """Serve `handler` on 127.0.0.1 at `port` or a free one, yielded; stopped after."""

    def session() -> SMTP:
        server = SMTP(
            handler,
            hostname=SERVER_NAME,
            ident=SERVER_NAME,
            tls_context=tls_context,
            **smtp_options,
        )
        handler.sessions.append(server)
        return server

    loop = asyncio.get_running_loop()
    server = await loop.create_server(session, host="127.0.0.1", port=port)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        handler.close_all()
        server.close()
        await server.wait_closed()


def unused_port() -> int:
    """A port nothing listens on, just now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and localhost, and its key, as PEM files."""
    cert, key = directory / "cert.pem", directory / "key.pem"
    _with_cryptography(cert, key)
    return cert, key


def _with_cryptography(cert_path: Path, key_path: Path) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [
                    x509.DNSName("localhost"),
                    x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                ]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
