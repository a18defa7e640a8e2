"""The scheduler's application layer: what the Kafka consumers and timers call."""

from services.scheduler.service.scheduler import AnsweredBefore, Once, Scheduler

__all__ = ["AnsweredBefore", "Once", "Scheduler"]
