"""A contact's envelope sender carries its id, so a bounce names it even bare (VERP).

`bounces@acme.test` sends contact `c-1` as `bounces+c-1@acme.test`: the
reporting server returns the report to that address, whatever the report
holds. Only ids made of letters, digits and `._=-` are tagged (our contact ids
are UUIDs); any other id leaves the bounce address as it is.
"""

import re

_TAG = re.compile(r"^[A-Za-z0-9._=-]{1,200}$")


def verp_sender(bounce_address: str, contact_id: str) -> str:
    """The envelope sender for one contact: the bounce address tagged with its id."""
    local, at, domain = bounce_address.rpartition("@")
    if not at or not local or "+" in local or not _TAG.match(contact_id):
        return bounce_address
    return f"{local}+{contact_id}@{domain}"


def contact_id_in_verp(address: str) -> str | None:
    """The contact id a tagged envelope address carries, or None if untagged."""
    local, at, _ = address.strip().strip("<>").rpartition("@")
    _, plus, tag = local.partition("+")
    if not at or not plus or not _TAG.match(tag):
        return None
    return tag
