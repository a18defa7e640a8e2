"""API keys: shown once to the creditor, stored only as a hash.

The ledger issues them; every service checks a key against the hashes the
ledger publishes on `ledger.creditors`.
"""

import hashlib
import hmac
import secrets

PREFIX = "odk_"
HASH_SCHEME = "sha256:"


def new_api_key() -> str:
    """A fresh key: `odk_` and 32 random bytes, URL-safe."""
    return PREFIX + secrets.token_urlsafe(32)


def hash_key(key: str) -> str:
    """`sha256:<hex>`; the key itself has enough entropy to need no salt."""
    return HASH_SCHEME + hashlib.sha256(key.encode()).hexdigest()


def verify_key(key: str, stored_hash: str) -> bool:
    """Whether `key` hashes to `stored_hash`, compared in constant time."""
    return hmac.compare_digest(hash_key(key), stored_hash)
