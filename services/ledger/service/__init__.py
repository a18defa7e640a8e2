"""The ledger's application layer: what HTTP, Kafka and CSV entry points call."""

from services.ledger.domain.errors import DuplicateCreditor
from services.ledger.service.ledger import Ledger, RecordResult
from services.ledger.service.profiles import CreditorProfile

__all__ = ["CreditorProfile", "DuplicateCreditor", "Ledger", "RecordResult"]
