"""Identifiers derived from what they name, so a replay produces the same ones."""

from uuid import NAMESPACE_URL, UUID, uuid5

_NAMESPACE = uuid5(NAMESPACE_URL, "https://overdue.invalid/ids")


def stable_id(*parts: str) -> UUID:
    """The same parts always give the same UUID; different parts, different ones."""
    # Length prefixes keep ("a/b", "c") apart from ("a", "b/c").
    text = "".join(f"{len(part)}:{part}" for part in parts)
    return uuid5(_NAMESPACE, text)


def contact_id(creditor: str, debtor: str, case_id: str | None, step: str) -> str:
    """The id of the contact for one step of a case, or of no case (SPEC §6)."""
    return str(stable_id("contact", creditor, debtor, case_id or "", step))
