"""Webhook deliveries already accepted: duplicate and replay detection.

A delivery is claimed (one INSERT on a unique key) before it is processed, so two copies arriving
at once cannot both be processed, on SQLite or PostgreSQL. A delivery whose processing failed is
released again, so Tellescope's (or an operator's) retry can succeed.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Literal

from sqlalchemy import delete, func
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from store.db import session_for
from store.tables import ProcessedWebhookRow

Claim = Literal["new", "duplicate", "conflict"]


class ProcessedWebhooks:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def claim(
        self,
        *,
        delivery_key: str,
        body_sha256: str,
        kind: str,
        operation: str,
        record_ids: list[str],
        webhook_timestamp: str,
    ) -> Claim:
        """`new`: this caller processes it. `duplicate`: the same delivery (same body) was
        claimed before. `conflict`: the same key with another body (a tampered replay)."""
        row = ProcessedWebhookRow(
            delivery_key=delivery_key,
            body_sha256=body_sha256,
            kind=kind[:100],
            operation=operation[:16],
            record_ids=record_ids,
            webhook_timestamp=webhook_timestamp[:32],
            status="processing",
            received_at=datetime.now(UTC),
        )
        with session_for(self.engine) as session:
            session.add(row)
            try:
                session.commit()
                return "new"
            except IntegrityError:
                session.rollback()
            existing = session.exec(
                select(ProcessedWebhookRow).where(ProcessedWebhookRow.delivery_key == delivery_key)
            ).first()
        if existing is None:  # released meanwhile: let the caller's retry claim it
            return self.claim(
                delivery_key=delivery_key,
                body_sha256=body_sha256,
                kind=kind,
                operation=operation,
                record_ids=record_ids,
                webhook_timestamp=webhook_timestamp,
            )
        return "duplicate" if existing.body_sha256 == body_sha256 else "conflict"

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
