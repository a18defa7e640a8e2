"""One way to build a service's broker, its guarded router and its FastStream app."""

import logging
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from faststream import FastStream
from faststream.kafka import KafkaBroker, KafkaRouter
from faststream.specification import AsyncAPI

from shared.events import Envelope
from shared.messaging.config import CONSUMER, PRODUCER, ConsumerConfig, ProducerConfig
from shared.messaging.dlq import DeadLetters, dlq_topic
from shared.messaging.guard import Backoff, EnvelopeGuard, tolerate_binary_headers
from shared.settings import CommonSettings
from shared.topics import Topic

logger = logging.getLogger(__name__)


def project_version() -> str:
    try:
        return version("overdue")
    except PackageNotFoundError:  # pragma: no cover - running from a bare checkout
        return "0.0.0"


def build_broker(
    settings: CommonSettings,
    *,
    service: str,
    producer: ProducerConfig = PRODUCER,
) -> KafkaBroker:
    """A broker for `service`, producing with `producer`'s guarantees.

    Topics are created by `overdue infra up` with their partitions and
    compaction; a broker that created one on the fly would get both wrong.
    """
    return KafkaBroker(
        settings.kafka_bootstrap_servers,
        client_id=f"overdue-{service}",
        allow_auto_create_topics=False,
        logger=logging.getLogger(f"overdue.{service}.broker"),
        # faststream's own "Received"/"Processed" lines; the handlers log at INFO
        log_level=logging.DEBUG,
        description=f"Kafka, as seen by the overdue {service} service",
        **producer.as_kwargs(),
    )


def envelope_router(
    broker: KafkaBroker,
    consumer_group: str,
    *,
    consumer: ConsumerConfig = CONSUMER,
    backoff: Backoff | None = None,
) -> KafkaRouter:
    """A router whose subscribers take an `Envelope` and dead-letter what fails."""
    guard = EnvelopeGuard(DeadLetters(broker, consumer_group), backoff=backoff)
    return KafkaRouter(
        middlewares=[guard],
        parser=tolerate_binary_headers,
        ack_policy=consumer.ack_policy,
    )


def subscribe(
    router: KafkaRouter,
    topic: Topic,
    handler: Any,
    *,
    consumer_group: str,
    consumer: ConsumerConfig = CONSUMER,
    batch_of: int | None = None,
) -> Any:
    """Subscribe `handler(envelope)` to `topic` in `consumer_group`; note its DLQ.

    With `batch_of`, `handler(message)` gets up to that many records a poll, as
    one `KafkaMessage` whose `raw_message` is their tuple, and dead-letters the
    bad ones itself; the offsets are committed once it returns. Returns the
    subscriber, whose `consumer` is the Kafka consumer once the app runs.
    """
    options: dict[str, Any] = consumer.as_kwargs()
    if batch_of is not None:
        options |= {"batch": True, "max_records": batch_of, "decoder": _undecoded}
        options["max_poll_records"] = max(batch_of, consumer.max_poll_records)
    subscriber = router.subscriber(
        topic.name,
        group_id=consumer_group,
        description=f"{topic.carries}.",
        **options,
    )
    subscriber(handler)
    router.publisher(
        dlq_topic(topic.name),
        schema=bytes,
        title=f"{dlq_topic(topic.name)}:Publisher",
        description=(
            f"What {consumer_group} could not handle from {topic.name}: the "
            "original bytes and key, with x-dlq-* headers saying why."
        ),
    )
    return subscriber


async def _undecoded(message: Any, decode: Any) -> None:
    """A batch handler reads each record's bytes from `raw_message` itself:
    faststream's own decoding would parse every record's JSON to throw it away."""
    return None


def declare_publisher(router: KafkaRouter, topic: Topic) -> Any:
    """Declare that the service writes `topic`, with an envelope, for AsyncAPI."""
    return router.publisher(
        topic.name,
        schema=Envelope,
        title=f"{topic.name}:Publisher",
        description=f"{topic.carries}.",
    )


def stream_app(broker: KafkaBroker, *, service: str, description: str) -> FastStream:
    """The FastStream application of one service, with its AsyncAPI metadata."""
    return FastStream(
        broker,
        logger=logging.getLogger(f"overdue.{service}.app"),
        specification=AsyncAPI(
            title=f"overdue {service}",
            version=project_version(),
            description=description,
        ),
    )
