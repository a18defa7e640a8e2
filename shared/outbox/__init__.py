"""The transactional outbox: an event is recorded with the fact it reports.

A service writes the envelope of every event it emits into its own `outbox`
table, in the same database transaction as the change it reports. A relay
publishes the rows in the order they were written and marks them published;
a crash between the two publishes a row again, under the same envelope id,
which consumers recognise.
"""

from shared.outbox.records import (
    OUTBOX_TABLE,
    OutboxRecord,
    Sealed,
    create_outbox_table,
    create_unpublished_index,
    drop_outbox_table,
    enqueue,
    enqueue_many,
    unpublished_index,
)
from shared.outbox.relay import (
    OutboxRelay,
    PendingEvent,
    Producer,
    PublishFailed,
    RelayError,
    relay_on_commit,
    start_relay,
)

__all__ = [
    "OUTBOX_TABLE",
    "OutboxRecord",
    "OutboxRelay",
    "PendingEvent",
    "Producer",
    "PublishFailed",
    "RelayError",
    "Sealed",
    "create_outbox_table",
    "create_unpublished_index",
    "drop_outbox_table",
    "enqueue",
    "enqueue_many",
    "relay_on_commit",
    "start_relay",
    "unpublished_index",
]
