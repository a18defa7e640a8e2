"""The event contracts every service speaks: one envelope, typed payloads."""

from shared.events.envelope import Envelope, debtor_key

__all__ = ["Envelope", "debtor_key"]
