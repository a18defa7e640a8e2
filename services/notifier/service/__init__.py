"""The notifier's application service: contacts in, emails and letters out."""

from services.notifier.service.notifier import Notifier

__all__ = ["Notifier"]
