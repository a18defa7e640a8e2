"""A contact's email carries its id in the Message-ID, so replies and bounces find it.

`<{contact id}@{sender's domain}>`: the contact id is printable ASCII without
spaces or angle brackets (the event contract says so), so it is a valid
Message-ID left part as it stands, and the same contact always has the same
Message-ID, also when a crash makes the notifier send it again.
"""

import re

_MESSAGE_ID = re.compile(
    r"^\s*<([\x21-\x3b\x3d\x3f-\x7e]+)@([\x21-\x3d\x3f-\x7e]+)>\s*$"
)


def message_id_for(contact_id: str, sender_email: str) -> str:
    """The Message-ID of a contact's email, in the sender's domain."""
    domain = sender_email.rpartition("@")[2] or "overdue.invalid"
    return f"<{contact_id}@{domain}>"


def contact_id_in(message_id: str | None) -> str | None:
    """The contact id a Message-ID of ours carries, or None for another's."""
    if not message_id:
        return None
    found = _MESSAGE_ID.match(message_id)
    return found.group(1) if found else None
