"""The Kafka plumbing every service shares: settings, dead letters, broker, HTTP."""

from shared.messaging.broker import (
    build_broker,
    declare_publisher,
    envelope_router,
    stream_app,
    subscribe,
)
from shared.messaging.config import CONSUMER, PRODUCER, ConsumerConfig, ProducerConfig
from shared.messaging.dlq import DeadLetters, dead_letter_headers, reason_for
from shared.messaging.errors import (
    MessageError,
    PermanentError,
    RetryableError,
    UnknownEventType,
)
from shared.messaging.guard import Backoff, EnvelopeGuard
from shared.messaging.handlers import accept, log_ids

__all__ = [
    "CONSUMER",
    "PRODUCER",
    "Backoff",
    "ConsumerConfig",
    "DeadLetters",
    "EnvelopeGuard",
    "MessageError",
    "PermanentError",
    "ProducerConfig",
    "RetryableError",
    "UnknownEventType",
    "accept",
    "build_broker",
    "dead_letter_headers",
    "declare_publisher",
    "envelope_router",
    "log_ids",
    "reason_for",
    "stream_app",
    "subscribe",
]
