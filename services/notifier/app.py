"""The notifier as a FastStream app: it turns `contact.due` commands into letters.

It consumes `collections.contacts`, `ledger.creditors` and `ledger.events`, and
will publish what became of each contact on `notifier.events`, declared here so
the AsyncAPI document shows it.
"""

import logging

from faststream import FastStream

from services.notifier.settings import NotifierSettings
from shared.events import Envelope
from shared.messaging.broker import (
    build_broker,
    declare_publisher,
    envelope_router,
    stream_app,
    subscribe,
)
from shared.messaging.handlers import accept, log_ids
from shared.topics import (
    COLLECTIONS_CONTACTS,
    LEDGER_CREDITORS,
    LEDGER_EVENTS,
    NOTIFIER_EVENTS,
)

SERVICE = "notifier"
DESCRIPTION = (
    "Renders emails and PDF letters from templates, sends the emails over SMTP, "
    "collects the letters into a daily print batch, and reports each outcome."
)


logger = logging.getLogger(__name__)


async def deliver_contact(envelope: Envelope) -> None:
    """A contact the scheduler says is due: render it and send it, once."""
    accept(envelope, COLLECTIONS_CONTACTS)
    # TODO(#5): check the debtor has not paid, render the email or letter, send it
    # exactly once by contact id, and report it on notifier.events.
    logger.info("contact due received", extra=log_ids(envelope, COLLECTIONS_CONTACTS))


async def follow_creditor(envelope: Envelope) -> None:
    """A creditor's profile and branding, whole, as the ledger keeps it."""
    accept(envelope, LEDGER_CREDITORS)
    # TODO(#5): keep the creditor's profile, branding and bank details for rendering.
    logger.info("creditor received", extra=log_ids(envelope, LEDGER_CREDITORS))


async def follow_ledger(envelope: Envelope) -> None:
    """A change to a debtor, kept for addresses and to stop contacts after payment."""
    accept(envelope, LEDGER_EVENTS)
    # TODO(#5): keep debtor contact details and balances so a contact due after a
    # payment is skipped.
    logger.info("ledger event received", extra=log_ids(envelope, LEDGER_EVENTS))


# TODO(#5): open `SmtpPool.from_settings` and start `BounceInbox.from_settings`
# in the app's lifespan, and record a permanent bounce or a refused address as
# the address invalid, sending that contact by letter (SPEC §5).


def create_app(settings: NotifierSettings | None = None) -> FastStream:
    """The notifier's FastStream app, wired to Kafka as `settings` say."""
    settings = settings or NotifierSettings()
    broker = build_broker(settings, service=SERVICE)
    router = envelope_router(broker, settings.consumer_group)
    group = settings.consumer_group

    subscribe(router, COLLECTIONS_CONTACTS, deliver_contact, consumer_group=group)
    subscribe(router, LEDGER_CREDITORS, follow_creditor, consumer_group=group)
    subscribe(router, LEDGER_EVENTS, follow_ledger, consumer_group=group)
    declare_publisher(router, NOTIFIER_EVENTS)

    broker.include_router(router)
    return stream_app(broker, service=SERVICE, description=DESCRIPTION)
