"""Why a message could not be handled, drawn once: permanent or retryable.

A service draws its own root beside these and mixes one of the two in, e.g.
`class LedgerUnavailable(LedgerError, RetryableError)`; the consumer only asks
which of the two a failure is. A message names fields and ids, never values:
it becomes the dead letter's `x-dlq-reason` and a log line.
"""


class MessageError(Exception):
    """Root of every failure a consumer knows how to route."""


class PermanentError(MessageError):
    """The message can never be handled as it is: dead-letter it and go on."""


class RetryableError(MessageError):
    """The message may be handled later: leave it uncommitted, it is redelivered."""


class UnknownEventType(PermanentError):
    """The envelope's type is not one this topic carries."""

    def __init__(self, event_type: str, topic: str) -> None:
        super().__init__(f"type: {event_type!r} is not carried on {topic}")
        self.event_type = event_type
        self.topic = topic
