"""Webhook deliveries already accepted: duplicate and replay detection, with leased claims.

A delivery is claimed (one INSERT on a unique key) before it is processed, so two copies arriving
at once cannot both be processed, on SQLite or PostgreSQL. The claim is a lease
(docs/decisions.md D13):

- a copy that arrives while the first is still `processing` is told `in_progress` (the receiver
  answers 409 with Retry-After, so the sender retries and learns the real outcome later); it is
  never acknowledged before the effect is durable;
- a copy that arrives after the first finished (`processed`) is a `duplicate`: acknowledged,
  not processed again;
- a claim still `processing` after `lease` (its holder died: an API killed mid-request) is taken
  over by the next copy, which processes it;
- a delivery whose processing failed is released, so a retry can succeed.

Processing is idempotent downstream (workflow ids, signal dedupe), so a takeover that follows a
holder which did act before dying does not act twice.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Literal

from sqlalchemy import delete, func, insert, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from store.db import session_for
from store.tables import ProcessedWebhookRow

Claim = Literal["new", "duplicate", "conflict", "in_progress"]

# How long a claim may stay `processing` before another copy of the delivery may take it over.
# Longer than any healthy processing of one delivery (bounded by Temporal's RPC timeouts).
DEFAULT_LEASE = timedelta(seconds=30)


class ProcessedWebhooks:
    def __init__(self, engine: Engine, *, lease: timedelta = DEFAULT_LEASE) -> None:
        self.engine = engine
        self.lease = lease

    def claim(
        self,
        *,
        delivery_key: str,
        body_sha256: str,
        kind: str,
        operation: str,
        record_ids: list[str],
        webhook_timestamp: str,
        lease: timedelta | None = None,
    ) -> Claim:
        """`new`: this caller processes it (a first copy, or one taking over an expired lease).
        `in_progress`: another caller holds a live claim. `duplicate`: the same delivery (same
        body) was processed before. `conflict`: the same key with another body (a replay that
        changed the body), whatever the claim's state."""
        now = datetime.now(UTC)
        row = {
            "delivery_key": delivery_key,
            "body_sha256": body_sha256,
            "kind": kind[:100],
            "operation": operation[:16],
            "record_ids": record_ids,
            "webhook_timestamp": webhook_timestamp[:32],
            "status": "processing",
            "received_at": now,
        }
        # The first copy's claim is one Core INSERT (the ORM's unit of work cost twice the time,
        # and a webhook's signal waits for the claim).
        try:
            with self.engine.begin() as connection:
                connection.execute(insert(ProcessedWebhookRow.__table__).values(**row))
            return "new"
        except IntegrityError:
            pass
        with session_for(self.engine) as session:
            existing = session.exec(
                select(ProcessedWebhookRow).where(ProcessedWebhookRow.delivery_key == delivery_key)
            ).first()
            if existing is None:  # released meanwhile: claim it afresh
                return self.claim(
                    delivery_key=delivery_key,
                    body_sha256=body_sha256,
                    kind=kind,
                    operation=operation,
                    record_ids=record_ids,
                    webhook_timestamp=webhook_timestamp,
                    lease=lease,
                )
            if existing.body_sha256 != body_sha256:
                return "conflict"
            if existing.status == "processed":
                return "duplicate"
            # Still `processing`: take the claim over only when its lease has run out, in one
            # conditional UPDATE so that of two late copies exactly one wins.
            taken = session.execute(
                update(ProcessedWebhookRow)
                .where(
                    ProcessedWebhookRow.delivery_key == delivery_key,
                    ProcessedWebhookRow.status == "processing",
                    ProcessedWebhookRow.received_at < now - (lease or self.lease),
                )
                .values(received_at=now)
            )
            session.commit()
            return "new" if taken.rowcount == 1 else "in_progress"

    def finish(self, delivery_key: str) -> None:
        with session_for(self.engine) as session:
            row = session.exec(
                select(ProcessedWebhookRow).where(ProcessedWebhookRow.delivery_key == delivery_key)
            ).first()
            if row is not None:
                row.status = "processed"
                session.add(row)
                session.commit()

    def release(self, delivery_key: str) -> None:
        """Forget a claim whose processing failed."""
        with session_for(self.engine) as session:
            session.execute(
                delete(ProcessedWebhookRow).where(ProcessedWebhookRow.delivery_key == delivery_key)
            )
            session.commit()

    def get(self, delivery_key: str) -> ProcessedWebhookRow | None:
        with session_for(self.engine) as session:
            return session.exec(
                select(ProcessedWebhookRow).where(ProcessedWebhookRow.delivery_key == delivery_key)
            ).first()

    def recent(self, limit: int = 100) -> list[ProcessedWebhookRow]:
        with session_for(self.engine) as session:
            query = select(ProcessedWebhookRow).order_by(ProcessedWebhookRow.id.desc())
            return list(session.exec(query.limit(limit)))

    def count(self) -> int:
        with session_for(self.engine) as session:
            return session.exec(select(func.count()).select_from(ProcessedWebhookRow)).one()

    def purge(self, older_than: timedelta) -> int:
        """Drop claims older than `older_than` (deliveries that old are refused as stale)."""
        cutoff = datetime.now(UTC) - older_than
        with session_for(self.engine) as session:
            result = session.execute(
                delete(ProcessedWebhookRow).where(ProcessedWebhookRow.received_at < cutoff)
            )
            session.commit()
            return result.rowcount or 0
