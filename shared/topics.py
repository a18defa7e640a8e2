"""The topics of SPEC §2: names, who writes them, and how they are kept."""

from dataclasses import dataclass

DLQ_SUFFIX = ".dlq"


@dataclass(frozen=True)
class Topic:
    name: str
    carries: str
    compacted: bool = False

    @property
    def dlq(self) -> str:
        """The dead-letter twin, where a message that could not be processed goes."""
        return self.name + DLQ_SUFFIX


LEDGER_INBOUND = Topic("ledger.inbound", "facts to record, from accounting platforms")
LEDGER_CREDITORS = Topic(
    "ledger.creditors",
    "creditor.updated: profile, branding, policy, API key hashes",
    compacted=True,
)
LEDGER_EVENTS = Topic(
    "ledger.events",
    "debtor.upserted, invoice.*, payment.received, as recorded by the ledger",
)
COLLECTIONS_CONTACTS = Topic("collections.contacts", "contact.due commands")
COLLECTIONS_EVENTS = Topic("collections.events", "case.*, promise.*, dispute.*, plan.*")
NOTIFIER_EVENTS = Topic(
    "notifier.events", "contact.sent, contact.failed, contact.bounced, contact.skipped"
)

ALL_TOPICS: tuple[Topic, ...] = (
    LEDGER_INBOUND,
    LEDGER_CREDITORS,
    LEDGER_EVENTS,
    COLLECTIONS_CONTACTS,
    COLLECTIONS_EVENTS,
    NOTIFIER_EVENTS,
)
