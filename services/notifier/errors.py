"""What can go wrong in the notifier, drawn once.

    NotifierError
    ├── NotifierUnavailable      its database could not be reached (retryable)
    ├── NotReady                 the creditor or debtor is not known yet
    ├── RenderFailed             a template or the PDF renderer failed (permanent)
    └── DeliveryError
        ├── TransientDeliveryError   try again later (4xx, connection trouble)
        │   └── RetriesExhausted     ... and the pool's own retries ran out
        └── PermanentDeliveryError   the server refused for good (5xx)

Messages name codes and ids, never an address or a server's full reply.
"""

from shared.messaging.errors import RetryableError


class NotifierError(Exception):
    """Root of the notifier's own failures."""


class NotifierUnavailable(NotifierError, RetryableError):
    """The notifier's database could not be reached; the message is tried again."""


class NotReady(NotifierError):
    """A contact of a creditor or debtor the notifier has not heard of yet."""


class RenderFailed(NotifierError):
    """The contact's email or letter could not be rendered; it is reported failed."""


class DeliveryError(NotifierError):
    """An email could not be handed to the SMTP server."""


class TransientDeliveryError(DeliveryError):
    """Worth trying again later: a 4xx reply, a refused or dropped connection."""


class RetriesExhausted(TransientDeliveryError):
    """Every retry of one send failed transiently."""


class PermanentDeliveryError(DeliveryError):
    """The server refused the message for good (5xx): the address is no good."""

    def __init__(self, code: int | None, detail: str) -> None:
        super().__init__(f"{code} {detail}" if code is not None else detail)
        self.code = code
        self.detail = detail
