"""Why the notifier could not do what a contact asked; retryable or not.

    NotifierError
    ├── NotifierUnavailable           its database could not be reached (retryable)
    ├── NotReady                      the contact's creditor or debtor is not known yet
    ├── RenderFailed                  a template or the PDF renderer failed
    └── DeliveryError                 the SMTP server did not take an email
        ├── TransientDeliveryError    4xx reply, refused or lost connection,
        │   │                         timeout: the same email may pass later
        │   └── RetriesExhausted      still transient after every retry
        └── PermanentDeliveryError    5xx reply: sending it again fails again

Messages carry SMTP codes and enhanced status codes only, never the server's
own text: a server's reply often quotes the address, which is personal data.
"""

from typing import Literal

from shared.messaging.errors import RetryableError

Stage = Literal["connect", "mail", "rcpt", "data"]
"""Where in the SMTP session a reply came: the greeting, login or TLS, or a command."""


class NotifierError(Exception):
    """Root of every error the notifier raises."""


class NotifierUnavailable(NotifierError, RetryableError):
    """The notifier's database could not be reached; the message is tried again."""


class NotReady(NotifierError):
    """A contact of a creditor or debtor the notifier has not heard of yet."""


class RenderFailed(NotifierError):
    """The contact's email or letter could not be rendered; it is reported failed."""


class DeliveryError(NotifierError):
    """An email the SMTP server did not take; `detail` is short and safe to log.

    `code` is the server's reply code and `status` its enhanced status code
    (RFC 3463, `5.1.1`), when it gave them.
    """

    def __init__(
        self, detail: str, *, code: int | None = None, status: str | None = None
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.code = code
        self.status = status


class TransientDeliveryError(DeliveryError):
    """Retryable: a 4xx reply, a refused or dropped connection, a timeout."""


class RetriesExhausted(TransientDeliveryError):
    """Every attempt failed transiently; the email may still pass much later."""

    def __init__(
        self,
        detail: str,
        *,
        attempts: int,
        code: int | None = None,
        status: str | None = None,
    ) -> None:
        super().__init__(detail, code=code, status=status)
        self.attempts = attempts


class PermanentDeliveryError(DeliveryError):
    """A 5xx reply: the server refuses this email for good, don't send it again.

    `stage` says what was refused; a 5.1.x status is about the address, 5.7.x
    a policy, the others the server or our own configuration.
    """

    def __init__(
        self, detail: str, *, code: int | None, stage: Stage, status: str | None = None
    ) -> None:
        super().__init__(detail, code=code, status=status)
        self.stage: Stage = stage

    @property
    def address_refused(self) -> bool:
        """Whether the server said the address is bad: 5.1.x, else any 5xx to RCPT."""
        if self.status is not None:
            return self.status.startswith("5.1.")
        return self.stage == "rcpt"
