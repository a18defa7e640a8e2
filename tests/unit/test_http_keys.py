"""API keys are shown once and kept only as a hash."""

from shared.http.keys import hash_key, new_api_key, verify_key


def test_a_new_key_is_prefixed_and_unguessable():
    first, second = new_api_key(), new_api_key()

    assert first.startswith("odk_")
    assert len(first) > 40
    assert first != second


def test_a_key_is_stored_as_a_sha256_hash_that_verifies_it():
    key = new_api_key()

    stored = hash_key(key)

    assert stored.startswith("sha256:")
    assert key not in stored
    assert verify_key(key, stored)
    assert not verify_key(new_api_key(), stored)
