"""Producer and consumer settings for this workload: no event lost, none doubled.

faststream owns `enable_auto_commit`: it is off whenever the ack policy is not
`ACK_FIRST`, so the consumer commits an offset only once the handler is done.
"""

from dataclasses import asdict, dataclass
from typing import Any, Literal

from faststream.middlewares import AckPolicy


@dataclass(frozen=True)
class ProducerConfig:
    """Keyword arguments for `KafkaBroker` as a producer."""

    acks: Literal["all"] = "all"
    """Wait for every in-sync replica, so an acknowledged event survives a broker."""

    enable_idempotence: bool = True
    """The broker drops a producer's own retries: a retry never doubles an event."""

    linger_ms: int = 5
    """Wait 5 ms to fill a batch: throughput for imports, no delay a debtor notices."""

    compression_type: Literal["gzip"] = "gzip"
    """gzip is the one codec every consumer can read without an extra library."""

    request_timeout_ms: int = 30_000
    """Give up on a produce request after 30 s: a dead broker surfaces as an error."""

    def as_kwargs(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ConsumerConfig:
    """Keyword arguments for every `subscriber(...)` of every service."""

    ack_policy: AckPolicy = AckPolicy.NACK_ON_ERROR
    """Commit after the handler returns; on an error seek back, so it is redelivered."""

    auto_offset_reset: Literal["earliest"] = "earliest"
    """A new group starts at the oldest record: nothing sent before it is skipped."""

    isolation_level: Literal["read_committed"] = "read_committed"
    """Never read records of an aborted transaction, only what a producer committed."""

    max_poll_records: int = 100
    """A bounded fetch, so processing one never outlasts `max_poll_interval_ms`."""

    max_poll_interval_ms: int = 300_000
    """A handler may take 5 minutes (a PDF, a slow SMTP) before the group moves on."""

    session_timeout_ms: int = 10_000
    """A crashed consumer's partitions are handed over within 10 s."""

    heartbeat_interval_ms: int = 1_000
    """Members hear of a rebalance within a second: a (re)start settles fast."""

    def as_kwargs(self) -> dict[str, Any]:
        return asdict(self)


PRODUCER = ProducerConfig()
CONSUMER = ConsumerConfig()
