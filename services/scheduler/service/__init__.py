"""The scheduler's application layer: what the Kafka consumers and timers call."""

from services.scheduler.service.scheduler import Scheduler

__all__ = ["Scheduler"]
