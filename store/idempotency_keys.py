"""Idempotency-Key requests: the first response of a request, replayed to its retries.

A client that may retry a request (a timeout, a dropped connection) sends an `Idempotency-Key`
header (the IETF httpapi draft, as Stripe uses it). The first request with a key claims it; its
response is stored and replayed to every later request with the same key and the same body, so
a retried enrollment never starts or restarts anything twice. The same key with another body is
refused (the caller reused a key by mistake). Like webhook claims, a claim is a lease: while the
first request runs, a retry is told to come back later; a claim whose holder died is taken over.
Keys are kept `RETENTION` (24 hours), then purged.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from sqlalchemy import delete, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from store.db import session_for
from store.tables import IdempotencyKeyRow

RETENTION = timedelta(hours=24)
DEFAULT_LEASE = timedelta(seconds=60)


@dataclass(frozen=True)
class Begun:
    """`new`: the caller runs the request and then calls `complete` or `release`. `replay`:
    `status`/`body` are the first response. `mismatch`: the key was used with another body.
    `in_progress`: the first request with this key is still running."""

    outcome: Literal["new", "replay", "mismatch", "in_progress"]
    status: int | None = None
    body: Any = None


class IdempotencyKeys:
    def __init__(self, engine: Engine, *, lease: timedelta = DEFAULT_LEASE) -> None:
        self.engine = engine
        self.lease = lease

    def begin(self, scope: str, key: str, request_sha256: str) -> Begun:
        now = datetime.now(UTC)
        with session_for(self.engine) as session:
            session.add(
                IdempotencyKeyRow(
                    scope=scope[:300], key=key, request_sha256=request_sha256, claimed_at=now
                )
            )
            try:
                session.commit()
                return Begun("new")
            except IntegrityError:
                session.rollback()
            row = self._row(session, scope, key)
            if row is None:  # released meanwhile
                return self.begin(scope, key, request_sha256)
            if row.request_sha256 != request_sha256:
                return Begun("mismatch")
            if row.status == "done":
                return Begun("replay", row.response_status, row.response_body)
            taken = session.execute(
                update(IdempotencyKeyRow)
                .where(
                    IdempotencyKeyRow.id == row.id,
                    IdempotencyKeyRow.status == "in_progress",
                    IdempotencyKeyRow.claimed_at < now - self.lease,
                )
                .values(claimed_at=now)
            )
            session.commit()
            return Begun("new" if taken.rowcount == 1 else "in_progress")

    def complete(self, scope: str, key: str, status: int, body: Any) -> None:
        with session_for(self.engine) as session:
            session.execute(
                update(IdempotencyKeyRow)
                .where(IdempotencyKeyRow.scope == scope[:300], IdempotencyKeyRow.key == key)
                .values(
                    status="done",
                    response_status=status,
                    response_body=body,
                    completed_at=datetime.now(UTC),
                )
            )
            session.commit()

    def release(self, scope: str, key: str) -> None:
        """Forget a claim whose request changed nothing (it failed before acting), so that a
        retry runs it afresh."""
        with session_for(self.engine) as session:
            session.execute(
                delete(IdempotencyKeyRow).where(
                    IdempotencyKeyRow.scope == scope[:300], IdempotencyKeyRow.key == key
                )
            )
            session.commit()

    def purge(self, older_than: timedelta = RETENTION) -> int:
        cutoff = datetime.now(UTC) - older_than
        with session_for(self.engine) as session:
            result = session.execute(
                delete(IdempotencyKeyRow).where(IdempotencyKeyRow.claimed_at < cutoff)
            )
            session.commit()
            return result.rowcount or 0

    @staticmethod
    def _row(session: Any, scope: str, key: str) -> IdempotencyKeyRow | None:
        return session.exec(
            select(IdempotencyKeyRow).where(
                IdempotencyKeyRow.scope == scope[:300], IdempotencyKeyRow.key == key
            )
        ).first()
