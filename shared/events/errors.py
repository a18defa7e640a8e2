"""What can be wrong with a message before its payload is even looked at.

A consumer sends any of these, like a pydantic `ValidationError` of the
payload, to the topic's dead-letter twin with `str(error)` as the reason.
"""


class EventContractError(ValueError):
    """Root: the message does not follow the event contracts."""


class UnknownEventType(EventContractError):
    """No payload model is registered for the envelope's `type` on this topic."""

    def __init__(self, event_type: str) -> None:
        super().__init__(f"unknown event type {event_type!r}")
        self.event_type = event_type


class UnsupportedSchemaVersion(EventContractError):
    """The envelope's `schema` is a version of the payload this code cannot read."""

    def __init__(self, event_type: str, version: int, supported: int) -> None:
        super().__init__(
            f"{event_type} schema {version} is not supported (this code reads "
            f"schema {supported})"
        )
        self.event_type = event_type
        self.version = version


class MisaddressedEvent(EventContractError):
    """A debtor event without a debtor, or a creditor event with one."""
