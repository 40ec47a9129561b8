"""API keys are stored hashed and verified in constant time; revoked keys stop working."""

from __future__ import annotations

from sqlalchemy import text

from store.api_keys import ApiKeys
from store.db import upgrade_database


def test_key_verifies_and_only_its_hash_is_stored(database_url):
    engine = upgrade_database(database_url)
    keys = ApiKeys(engine)
    key, row = keys.create("ci")
    assert key.startswith(f"jk_{row.id}.")
    secret = key.split(".", 1)[1]
    with engine.connect() as connection:
        stored = [tuple(r) for r in connection.execute(text("SELECT * FROM api_keys"))]
    assert len(stored) == 1
    assert not any(secret in str(value) for value in stored[0])
    found = keys.verify(key)
    assert found is not None and found.id == row.id and found.name == "ci"
    assert keys.list()[0].last_used_at is not None


def test_wrong_malformed_and_revoked_keys_are_refused(database_url):
    keys = ApiKeys(upgrade_database(database_url))
    key, row = keys.create()
    other, _ = keys.create("other")
    tampered = key[:-1] + ("A" if key[-1] != "A" else "B")
    assert keys.verify(tampered) is None
    assert keys.verify(key.split(".")[0] + "." + other.split(".")[1]) is None  # id/secret swapped
    for bad in ("", "jk_", "nonsense", key + "x", key.upper(), "jk_000000000000." + "a" * 43):
        assert keys.verify(bad) is None, bad
    assert keys.revoke(row.id) is True
    assert keys.verify(key) is None
    assert keys.revoke(row.id) is False  # already revoked
    assert keys.verify(other) is not None
