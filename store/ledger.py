"""The AutomatedAction ledger: upserts from workflows, reads for statistics and listings."""

from __future__ import annotations

import builtins
from collections.abc import Iterable
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import Table, and_, bindparam, case, func, or_
from sqlalchemy import select as sa_select
from sqlalchemy.engine import Engine
from sqlmodel import select

from models.runtime import LedgerEntry
from store.db import session_for
from store.prepared import Prepared, driver_cursor
from store.tables import AutomatedActionRow

LEDGER_TABLE: Table = AutomatedActionRow.__table__  # type: ignore[attr-defined]
SELECT_CHUNK = 100  # ids per status SELECT of a write (one compiled statement per size up to it)


def _row_values(entry: LedgerEntry) -> dict:
    return {
        "enduser_id": entry.enduserId,
        "journey_id": entry.journeyId,
        "journey_version": entry.journeyVersion,
        "tellescope_journey_id": entry.tellescopeJourneyId,
        "automation_step_id": entry.automationStepId,
        "tellescope_step_id": entry.tellescopeStepId,
        "workflow_id": entry.workflowId,
        "event": entry.event,
        "action": entry.action,
        "status": entry.status,
        "process_after": entry.processAfter,
        "cancel_reason": entry.cancelReason,
        "cancelled_by": entry.cancelledBy,
        "cancel_conditions": entry.cancelConditions,
        "did_delay_for_out_of_office": entry.didDelayForOutOfOffice,
        "error_message": entry.errorMessage,
        "enduser_conditions": entry.enduserConditions,
        "journey_context": entry.journeyContext,
        "skipped": entry.skipped,
        "ab_test_label": entry.abTestLabel,
        "detail": entry.detail,
        "acting_enduser_id": entry.actingEnduserId,
        "unsubmitted_form_count": entry.unsubmittedFormCount,
        "is_nop": entry.isNOP,
    }


class Transition(NamedTuple):
    """A status change one ledger write made: `before` is None for a new row."""

    entry: LedgerEntry
    before: str | None


class StepRow(NamedTuple):
    """The columns the journey pages read of one AutomatedAction (services/journey_page.py)."""

    journey_id: str
    id: str
    enduser_id: str
    step_id: str
    status: str
    cancel_reason: int | None
    process_after: int
    event: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    journey_version: str  # the plan version the action belongs to (versions on the page)
    detail: str  # "paused by ..." / "resumed by ..." (docs/live-change.md §2.1)


class _WriteStatements:
    """The ledger write's statements for one engine (store/prepared.py)."""

    def __init__(self, engine: Engine) -> None:
        table = LEDGER_TABLE
        self.engine = engine
        self.insert = Prepared(
            engine, table.insert().values({c.name: bindparam(c.name) for c in table.c}), table
        )
        unchanged_on_update = ("id", "created_at")
        self.update = Prepared(
            engine,
            table.update()
            .where(table.c.id == bindparam("row_id"))
            .values(
                {c.name: bindparam(c.name) for c in table.c if c.name not in unchanged_on_update}
            ),
            table,
            types={"row_id": "id"},
        )
        self._selects: dict[int, Prepared] = {}

    def select_status(self, count: int) -> Prepared:
        """SELECT id, status for `count` ids (parameters id_0 ... id_<count-1>)."""
        if count not in self._selects:
            table = LEDGER_TABLE
            names = [f"id_{k}" for k in range(count)]
            self._selects[count] = Prepared(
                self.engine,
                sa_select(table.c.id, table.c.status).where(
                    table.c.id.in_([bindparam(name) for name in names])
                ),
                table,
                types=dict.fromkeys(names, "id"),
            )
        return self._selects[count]


class Ledger:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._write_statements: _WriteStatements | None = None

    def _statements(self) -> _WriteStatements:
        if self._write_statements is None:  # a race builds it twice, harmlessly
            self._write_statements = _WriteStatements(self.engine)
        return self._write_statements

    def record(self, entries: Iterable[LedgerEntry]) -> int:
        """Upsert entries by id. Idempotent: a retried batch writes the same rows again. A row
        never moves out of a terminal status (a late duplicate write cannot revive it)."""
        entries = list(entries)
        self.record_transitions(entries)
        return len(entries)

    def record_transitions(self, entries: Iterable[LedgerEntry]) -> list[Transition]:
        """`record`, returning the status changes this write made (a new row, or a row whose
        status differs from the stored one). A retried batch whose first attempt committed
        changes nothing and returns nothing: what the worker counts (docs/metrics.md §2)."""
        entries = list(entries)
        changes: list[Transition] = []
        if not entries:
            return changes
        # Statements compiled once per engine, run on the driver's cursor (store/prepared.py,
        # docs/decisions.md D47): one SELECT, one INSERT and one UPDATE (executemany) per
        # batch, since every worker writes a batch or two per enrollment (D36 left the ORM).
        statements = self._statements()
        inserts: list[Any] = []
        updates: list[Any] = []
        with driver_cursor(self.engine) as cursor:
            ids = list(dict.fromkeys(e.id for e in entries))
            stored: dict[str, str] = {}
            for first in range(0, len(ids), SELECT_CHUNK):
                chunk = ids[first : first + SELECT_CHUNK]
                select_status = statements.select_status(len(chunk))
                cursor.execute(
                    select_status.sql,
                    select_status.parameters({f"id_{k}": i for k, i in enumerate(chunk)}),
                )
                stored.update(cursor.fetchall())
            for entry in entries:
                at = datetime.fromisoformat(entry.at)
                before = stored.get(entry.id)
                if before is None:
                    row = {"id": entry.id, "created_at": at, "updated_at": at}
                    inserts.append(statements.insert.parameters({**row, **_row_values(entry)}))
                    changes.append(Transition(entry, None))
                elif before != "active" and entry.status == "active":
                    continue  # never out of a terminal status
                else:
                    if before != entry.status:
                        changes.append(Transition(entry, before))
                    updates.append(
                        statements.update.parameters(
                            {"row_id": entry.id, "updated_at": at, **_row_values(entry)}
                        )
                    )
                stored[entry.id] = entry.status
            if inserts:
                cursor.executemany(statements.insert.sql, inserts)
            if updates:
                cursor.executemany(statements.update.sql, updates)
        return changes

    def get(self, automated_action_id: str) -> AutomatedActionRow | None:
        with session_for(self.engine) as session:
            return session.get(AutomatedActionRow, automated_action_id)

    def list(
        self,
        *,
        journey_id: str | None = None,
        enduser_id: str | None = None,
        status: str | None = None,
        step_id: str | None = None,
        last_id: str | None = None,
        limit: int = 100,
    ) -> list[AutomatedActionRow]:
        with session_for(self.engine) as session:
            query = select(AutomatedActionRow).order_by(AutomatedActionRow.id)
            if journey_id is not None:
                query = query.where(AutomatedActionRow.journey_id == journey_id)
            if enduser_id is not None:
                query = query.where(AutomatedActionRow.enduser_id == enduser_id)
            if status is not None:
                query = query.where(AutomatedActionRow.status == status)
            if step_id is not None:
                query = query.where(AutomatedActionRow.automation_step_id == step_id)
            if last_id is not None:
                query = query.where(AutomatedActionRow.id > last_id)
            return list(session.exec(query.limit(limit)))

    def journeys_of(self, enduser_id: str) -> list[str]:
        """Readable ids of every journey the enduser has ledger rows in (removeFromAllJourneys)."""
        with session_for(self.engine) as session:
            rows = session.exec(
                select(AutomatedActionRow.journey_id)
                .where(AutomatedActionRow.enduser_id == enduser_id)
                .distinct()
            )
            return sorted(rows)

    def endusers_with_active(self, journey_id: str) -> list[str]:
        """Endusers with a pending (`active`) action in the journey (deleting a journey)."""
        with session_for(self.engine) as session:
            rows = session.exec(
                select(AutomatedActionRow.enduser_id)
                .where(
                    AutomatedActionRow.journey_id == journey_id,
                    AutomatedActionRow.status == "active",
                )
                .distinct()
            )
            return sorted(rows)

    # --- reads for the API ------------------------------------------------------------------

    FILTERABLE = (
        "id",
        "enduser_id",
        "journey_id",
        "tellescope_journey_id",
        "automation_step_id",
        "tellescope_step_id",
        "status",
        "cancel_reason",
        "workflow_id",
    )

    def query(
        self,
        *,
        where: dict[str, Any] | None = None,
        last_id: str | None = None,
        limit: int = 100,
        newest_first: bool = True,
        created_from: datetime | None = None,
        created_to: datetime | None = None,
    ) -> list[AutomatedActionRow]:
        """A page of rows in creation order (newest first by default, as Tellescope pages),
        `where` = column -> value or list of values; `last_id` = the last row of the previous
        page (LookupError when it names no row)."""
        with session_for(self.engine) as session:
            query = select(AutomatedActionRow)
            for column_name, value in (where or {}).items():
                if column_name not in self.FILTERABLE:
                    raise ValueError(f"cannot filter on {column_name}")
                column = getattr(AutomatedActionRow, column_name)
                if isinstance(value, list | tuple | set):
                    query = query.where(column.in_(list(value)))
                else:
                    query = query.where(column == value)
            if created_from is not None:
                query = query.where(AutomatedActionRow.created_at >= created_from)
            if created_to is not None:
                query = query.where(AutomatedActionRow.created_at <= created_to)
            created, ident = AutomatedActionRow.created_at, AutomatedActionRow.id
            if last_id is not None:
                anchor = session.get(AutomatedActionRow, last_id)
                if anchor is None:
                    raise LookupError(f'lastId "{last_id}" names no automated action')
                if newest_first:
                    query = query.where(
                        or_(
                            created < anchor.created_at,
                            and_(created == anchor.created_at, ident < anchor.id),
                        )
                    )
                else:
                    query = query.where(
                        or_(
                            created > anchor.created_at,
                            and_(created == anchor.created_at, ident > anchor.id),
                        )
                    )
            order = (created.desc(), ident.desc()) if newest_first else (created, ident)
            return list(session.exec(query.order_by(*order).limit(limit)))

    def step_counts(self, journey_id: str) -> list[tuple[str, str, str, str | None, int]]:
        """(readable step id, Tellescope step id, status, A/B label, count) for a journey's
        rows (every version), for the statistics endpoint."""
        with session_for(self.engine) as session:
            rows = session.exec(
                select(
                    AutomatedActionRow.automation_step_id,
                    AutomatedActionRow.tellescope_step_id,
                    AutomatedActionRow.status,
                    AutomatedActionRow.ab_test_label,
                    func.count(),
                )
                .where(AutomatedActionRow.journey_id == journey_id)
                .group_by(
                    AutomatedActionRow.automation_step_id,
                    AutomatedActionRow.tellescope_step_id,
                    AutomatedActionRow.status,
                    AutomatedActionRow.ab_test_label,
                )
            )
            return [tuple(row) for row in rows]

    def step_rows(self, journey_id: str | None = None) -> builtins.list[StepRow]:
        """Every row of a journey (or of all journeys), oldest first, narrowed to what the
        journey pages count: patients per step and enrollments per state."""
        row = AutomatedActionRow
        columns = (
            row.id,
            row.enduser_id,
            row.automation_step_id,
            row.status,
            row.cancel_reason,
            row.process_after,
            row.event,
            row.created_at,
            row.updated_at,
            row.journey_version,
            row.detail,
        )
        with session_for(self.engine) as session:
            query = select(row.journey_id, *columns).order_by(row.created_at, row.id)
            if journey_id is not None:
                query = query.where(row.journey_id == journey_id)
            return [StepRow(*found) for found in session.exec(query)]

    def waiting_by_step(
        self, overdue_before_ms: int
    ) -> list[tuple[str, str, int, int, int | None]]:
        """(journey id, step id, active actions, overdue ones, earliest overdue processAfter in
        epoch ms) per step with active actions, for the API's gauges (docs/metrics.md §3). An
        action is overdue when its processAfter is before `overdue_before_ms`, except those
        parked until a trigger fires (waitForTrigger: they have no due time)."""
        row = AutomatedActionRow
        overdue = and_(
            row.process_after < overdue_before_ms,
            func.coalesce(row.event["type"].as_string(), "") != "waitForTrigger",
        )
        with session_for(self.engine) as session:
            rows = session.exec(
                select(
                    row.journey_id,
                    row.automation_step_id,
                    func.count(),
                    func.sum(case((overdue, 1), else_=0)),
                    func.min(case((overdue, row.process_after), else_=None)),
                )
                .where(row.status == "active")
                .group_by(row.journey_id, row.automation_step_id)
            )
            return [(j, s, int(n), int(late or 0), oldest) for j, s, n, late, oldest in rows]
