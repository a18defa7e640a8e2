"""A creditor's profile as the ledger keeps it; the policy travels beside it."""

from shared.events.creditors import CreditorProfile

__all__ = ["CreditorProfile"]
