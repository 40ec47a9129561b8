"""Trigger decisions: whether each trigger fired for an enduser's event, and if not why
(docs/operator-view.md §2).

Written by the trigger evaluation path (`triggers.dispatch.dispatch_event`) for webhooks,
`POST /v1/events` and time-based scans; read by the patient timeline and `journeys why`.

- One row per (trigger, enduser, event): the insert skips a row that exists (`ON CONFLICT DO
  NOTHING`), so a redelivered webhook, a retried delivery after a released claim, or a scan
  retried by Temporal records nothing twice; the first decision is the one kept (a retry's
  "throttled" is the first copy's own firing).
- Bounded (docs/decisions.md D25): each write also deletes, in the same transaction, rows older
  than `retention` and the enduser's rows beyond the newest `per_enduser`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, delete, func, or_, select
from sqlalchemy.engine import Engine
from sqlmodel import col

from store.db import insert_for, session_for
from store.tables import TriggerDecisionRow

if TYPE_CHECKING:
    from settings import EngineSettings

DEFAULT_RETENTION = timedelta(days=30)
DEFAULT_PER_ENDUSER = 500


@dataclass(frozen=True)
class DecisionRecord:
    """What one decision writes (the store's view; `triggers.models.Decision` is the engine's)."""

    trigger_id: str
    title: str
    enduser_id: str
    event_id: str
    event_type: str
    fired: bool
    decided_at: datetime
    stage: str | None = None
    reason: str = ""
    values_seen: dict[str, Any] | None = None
    source: str = "event"
    firing_workflow_id: str | None = None

    def row(self) -> dict[str, Any]:
        return {
            "trigger_id": self.trigger_id[:200],
            "title": self.title[:300],
            "enduser_id": self.enduser_id[:64],
            "event_id": self.event_id[:400],
            "event_type": self.event_type[:100],
            "fired": self.fired,
            "stage": self.stage,
            "reason": self.reason,
            "values_seen": self.values_seen,
            "source": self.source[:16],
            "firing_workflow_id": (self.firing_workflow_id or None)
            and self.firing_workflow_id[:500],
            "decided_at": self.decided_at,
        }


# Stages at which a trigger stops before the event itself matched it (its status, or the event's
# filters: another form, another tag): the least an operator asks about.
_UNTOLD_STAGES = frozenset({"status", "event"})


def _telling(decision: DecisionRecord) -> int:
    """How much a decision tells: 2 fired, 1 stopped after the event matched, 0 otherwise."""
    if decision.fired:
        return 2
    return 0 if decision.stage in _UNTOLD_STAGES else 1


class TriggerDecisions:
    def __init__(
        self,
        engine: Engine,
        *,
        retention: timedelta = DEFAULT_RETENTION,
        per_enduser: int = DEFAULT_PER_ENDUSER,
    ) -> None:
        if retention <= timedelta(0) or per_enduser < 1:
            raise ValueError("trigger decision retention and per-enduser bound must be positive")
        self.engine = engine
        self.retention = retention
        self.per_enduser = per_enduser

    @classmethod
    def from_settings(cls, engine: Engine, settings: EngineSettings) -> TriggerDecisions:
        """With the configured bounds (TRIGGER_DECISIONS_RETENTION_DAYS,
        TRIGGER_DECISIONS_PER_ENDUSER; docs/decisions.md D25)."""
        return cls(
            engine,
            retention=timedelta(days=settings.trigger_decisions_retention_days),
            per_enduser=settings.trigger_decisions_per_enduser,
        )

    def record(self, decisions: Sequence[DecisionRecord], *, now: datetime | None = None) -> int:
        """Insert the decisions not stored yet and prune (one transaction). Returns how many rows
        were new."""
        decisions = self._within_bound(decisions)
        if not decisions:
            return 0
        now = now or datetime.now(UTC)
        table = TriggerDecisionRow.__table__
        with session_for(self.engine) as session:
            insert = insert_for(session.get_bind().dialect.name)
            # RETURNING counts what was inserted (rowcount is -1 on psycopg for this form).
            statement = (
                insert(table)
                .on_conflict_do_nothing(index_elements=["trigger_id", "enduser_id", "event_id"])
                .returning(table.c.id)
            )
            # One statement for the whole evaluation (multi-row VALUES): one event against 1,000
            # triggers was 1,000 statements, most of a webhook's response time.
            inserted = session.execute(statement, [decision.row() for decision in decisions])
            written = len(inserted.all())
            session.execute(delete(table).where(table.c.decided_at < now - self.retention))
            for enduser_id in {d.enduser_id for d in decisions}:
                self._trim(session, enduser_id)
            session.commit()
        return written

    def _within_bound(self, decisions: Sequence[DecisionRecord]) -> list[DecisionRecord]:
        """The decisions the per-enduser bound lets stay, in their order: an event of one
        enduser decided by more triggers than the bound (1,000 Form Submitted triggers, 500
        kept) would write rows only to delete them in the same transaction, which was half of
        its dispatch. Of those, the newest stay; among decisions of one instant, those that
        tell most (fired, then stopped past the event's own filters) before the rest, then the
        last written, as the trim would keep them."""
        by_enduser: dict[str, list[int]] = {}
        for index, decision in enumerate(decisions):
            by_enduser.setdefault(decision.enduser_id, []).append(index)
        if all(len(indexes) <= self.per_enduser for indexes in by_enduser.values()):
            return list(decisions)
        kept: set[int] = set()
        for indexes in by_enduser.values():
            ranked = sorted(
                indexes, key=lambda i: (decisions[i].decided_at, _telling(decisions[i]))
            )
            kept.update(ranked[-self.per_enduser :])
        return [decision for index, decision in enumerate(decisions) if index in kept]

    def _trim(self, session: Any, enduser_id: str) -> None:
        """Keep the enduser's newest `per_enduser` rows: find the first row past the bound (one
        step along the (enduser_id, decided_at) index) and delete it and everything older."""
        table = TriggerDecisionRow.__table__
        first_over = session.execute(
            select(table.c.decided_at, table.c.id)
            .where(table.c.enduser_id == enduser_id)
            .order_by(table.c.decided_at.desc(), table.c.id.desc())
            .offset(self.per_enduser)
            .limit(1)
        ).first()
        if first_over is None:
            return
        at, ident = first_over
        session.execute(
            delete(table).where(
                table.c.enduser_id == enduser_id,
                or_(
                    table.c.decided_at < at,
                    and_(table.c.decided_at == at, table.c.id <= ident),
                ),
            )
        )

    def of_enduser(
        self,
        enduser_id: str,
        *,
        trigger_ids: Sequence[str] | None = None,
        limit: int = 100,
    ) -> list[TriggerDecisionRow]:
        """The enduser's decisions, oldest first (the newest `limit`)."""
        with session_for(self.engine) as session:
            query = select(TriggerDecisionRow).where(
                col(TriggerDecisionRow.enduser_id) == enduser_id
            )
            if trigger_ids is not None:
                query = query.where(col(TriggerDecisionRow.trigger_id).in_(list(trigger_ids)))
            query = query.order_by(
                col(TriggerDecisionRow.decided_at).desc(), col(TriggerDecisionRow.id).desc()
            ).limit(limit)
            rows = [row[0] for row in session.execute(query)]
            return list(reversed(rows))

    def count(self, enduser_id: str | None = None) -> int:
        with session_for(self.engine) as session:
            query = select(func.count()).select_from(TriggerDecisionRow)
            if enduser_id is not None:
                query = query.where(col(TriggerDecisionRow.enduser_id) == enduser_id)
            return int(session.execute(query).scalar_one())
