"""API keys of the engine's own API, stored hashed.

A key reads `jk_<id>.<secret>`: the id finds the row, the secret is checked against
`sha256(salt + secret)` with a constant-time comparison. The secret is 256 random bits, so a
fast salted hash is the right tool (a slow password hash guards low-entropy secrets and would
cost every request milliseconds). The key itself is never stored: it is shown once, at creation.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy.engine import Engine
from sqlmodel import select

from store.db import session_for
from store.tables import ApiKeyRow

KEY_PATTERN = re.compile(r"^jk_([0-9a-f]{12})\.([A-Za-z0-9_-]{43})$")
_DUMMY_SALT = bytes(16)
_DUMMY_HASH = hashlib.sha256(_DUMMY_SALT + b"x" * 43).hexdigest()
LAST_USED_EVERY = timedelta(minutes=10)  # how stale `last_used_at` may get (saves writes)
# Keys verified in the last VERIFIED_TTL_SECONDS are not read again: the API checks the key of
# every request, and the read plus its threadpool hop were a sixth of an enrollment request's
# CPU. Revoking a key in this process forgets it at once; a revocation by another process (the
# CLI) takes effect here within VERIFIED_TTL_SECONDS.
VERIFIED_TTL_SECONDS = 2.0
_VERIFIED: dict[tuple[str, str], tuple[float, ApiKeyRow]] = {}
_VERIFIED_KEPT = 1024


def _fingerprint(key: str) -> str:
    """What the verified-keys cache is keyed by (never the key itself)."""
    return hashlib.sha256(key.encode("utf-8", "replace")).hexdigest()


def hash_secret(salt: bytes, secret: str) -> str:
    return hashlib.sha256(salt + secret.encode("ascii")).hexdigest()


class ApiKeys:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def create(self, name: str = "") -> tuple[str, ApiKeyRow]:
        """A new key: returns the key (to show once) and its stored row."""
        key_id = secrets.token_hex(6)
        secret = secrets.token_urlsafe(32)
        salt = secrets.token_bytes(16)
        row = ApiKeyRow(
            id=key_id,
            name=name,
            salt=salt.hex(),
            key_hash=hash_secret(salt, secret),
            created_at=datetime.now(UTC),
        )
        with session_for(self.engine) as session:
            session.add(row)
            session.commit()
            session.refresh(row)
        return f"jk_{key_id}.{secret}", row

    def verify_cached(self, key: str) -> ApiKeyRow | None:
        """`verify`'s answer for a key verified less than VERIFIED_TTL_SECONDS ago, without a
        database read; None when it must be verified (again)."""
        cached = _VERIFIED.get((str(self.engine.url), _fingerprint(key)))
        if cached is not None and time.monotonic() - cached[0] < VERIFIED_TTL_SECONDS:
            return cached[1]
        return None

    def verify(self, key: str) -> ApiKeyRow | None:
        """The row of a valid, unrevoked key; None otherwise. The same hashing and comparison
        run whether or not the id exists, so timing does not tell ids apart."""
        match = KEY_PATTERN.match(key or "")
        key_id, secret = (match.group(1), match.group(2)) if match else ("", "x" * 43)
        row = None
        if match:
            with session_for(self.engine) as session:
                row = session.get(ApiKeyRow, key_id)
        salt = bytes.fromhex(row.salt) if row is not None else _DUMMY_SALT
        expected = row.key_hash if row is not None else _DUMMY_HASH
        valid = hmac.compare_digest(hash_secret(salt, secret), expected)
        if row is None or not valid or row.revoked_at is not None:
            return None
        self._touch(row)
        if len(_VERIFIED) >= _VERIFIED_KEPT:
            _VERIFIED.clear()
        _VERIFIED[(str(self.engine.url), _fingerprint(key))] = (time.monotonic(), row)
        return row

    def _touch(self, row: ApiKeyRow) -> None:
        now = datetime.now(UTC)
        if row.last_used_at is not None and now - row.last_used_at < LAST_USED_EVERY:
            return
        with session_for(self.engine) as session:
            stored = session.get(ApiKeyRow, row.id)
            if stored is not None:
                stored.last_used_at = now
                session.add(stored)
                session.commit()

    def list(self) -> list[ApiKeyRow]:
        with session_for(self.engine) as session:
            return list(session.exec(select(ApiKeyRow).order_by(ApiKeyRow.created_at)))

    def revoke(self, key_id: str) -> bool:
        with session_for(self.engine) as session:
            row = session.get(ApiKeyRow, key_id)
            if row is None or row.revoked_at is not None:
                return False
            row.revoked_at = datetime.now(UTC)
            session.add(row)
            session.commit()
        _VERIFIED.clear()
        return True
