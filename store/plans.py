"""Deployed journey versions: store, fetch by (journey, version), and pick the current one."""

from __future__ import annotations

import threading
import time
import zlib
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from sqlalchemy import text, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from models.plan import JourneyPlan
from store.db import session_for
from store.tables import DeploymentEventRow, JourneyVersionRow


class PlanNotFound(LookupError):
    pass


# resolve_head answers, per (database, journey reference), for HEAD_TTL_SECONDS: the API resolves
# the journey on every enrollment request, and the query was a tenth of the request's CPU. A
# deploy or rollback in this process clears the cache at once; one made by another process (the
# CLI, another API replica) reaches new enrollments here within HEAD_TTL_SECONDS.
HEAD_TTL_SECONDS = 1.0
_HEADS: dict[tuple[str, str], tuple[float, JourneyHead]] = {}
_HEADS_KEPT = 1024
# current_heads answers per database, for HEAD_TTL_SECONDS too: the trigger engine reads them for
# every event, and the query was a fifth of an event's time against 1,000 triggers.
_CURRENT_HEADS: dict[str, tuple[float, list[JourneyHead]]] = {}
# version_heads answers per database, for HEAD_TTL_SECONDS too: a webhook's signal is routed by
# step id over every stored version, and the query was a sixth of its time before the signal.
_VERSION_HEADS: dict[str, tuple[float, list[JourneyHead]]] = {}
_clock = time.monotonic  # the TTLs' clock (tests move it)

# Plans as enrollments run them (`PlanStore.enrollment_plan`), the last few per process: a version
# is named by its content's hash, so a kept one never goes stale. Sync activities read it from
# a thread pool, hence the lock.
ENROLLMENT_PLANS_KEPT = 64
_ENROLLMENT_PLANS: OrderedDict[tuple[str, str], JourneyPlan] = OrderedDict()
_ENROLLMENT_PLANS_LOCK = threading.Lock()


def _remembered(
    cache: dict[str, tuple[float, list[JourneyHead]]],
    key: str,
    read: Callable[[], list[JourneyHead]],
    *,
    fresh: bool = False,
) -> list[JourneyHead]:
    """`read()`'s answer for `key`, reused for HEAD_TTL_SECONDS unless `fresh`."""
    cached = cache.get(key)
    now = _clock()
    if not fresh and cached is not None and now - cached[0] < HEAD_TTL_SECONDS:
        return cached[1]
    heads = read()
    if len(cache) >= _HEADS_KEPT:
        cache.clear()
    cache[key] = (now, heads)
    return heads


@dataclass(frozen=True)
class JourneyHead:
    """What a request needs of a journey's current version: its ids, not its plan or source."""

    journey_id: str
    version: str
    tellescope_journey_id: str


class PlanStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @staticmethod
    def forget_heads() -> None:
        """Drop cached `resolve_head`, `recent_current_heads` and `recent_version_heads` answers
        (after this process changed a current version)."""
        _HEADS.clear()
        _CURRENT_HEADS.clear()
        _VERSION_HEADS.clear()

    @staticmethod
    def forget_enrollment_plans() -> None:
        """Drop the kept `enrollment_plan` answers (tests counting store reads)."""
        with _ENROLLMENT_PLANS_LOCK:
            _ENROLLMENT_PLANS.clear()

    def save(
        self,
        plan: JourneyPlan,
        *,
        source: str = "",
        deployed_by: str = "",
        tellescope_journey_id: str | None = None,
        make_current: bool = True,
    ) -> tuple[JourneyVersionRow, bool]:
        """Store a version (a no-op when that exact version exists) and optionally make it the
        current one. Returns the row and whether it was newly created."""
        with session_for(self.engine) as session:
            row = session.exec(
                select(JourneyVersionRow).where(
                    JourneyVersionRow.journey_id == plan.journeyId,
                    JourneyVersionRow.version == plan.version,
                )
            ).first()
            created = row is None
            if row is None:
                row = JourneyVersionRow(
                    journey_id=plan.journeyId,
                    version=plan.version,
                    plan=plan.model_dump(mode="json", exclude_unset=True),
                    source=source,
                    source_path=plan.source,
                    tellescope_journey_id=tellescope_journey_id or plan.tellescopeJourneyId,
                    deployed_at=datetime.now(UTC),
                    deployed_by=deployed_by,
                )
                session.add(row)
            if make_current and not row.is_current:
                for other in session.exec(
                    select(JourneyVersionRow).where(
                        JourneyVersionRow.journey_id == plan.journeyId,
                        JourneyVersionRow.is_current == True,  # noqa: E712 (SQL expression)
                    )
                ):
                    other.is_current = False
                    session.add(other)
                row.is_current = True
                session.add(row)
            session.commit()
            session.refresh(row)
            self.forget_heads()
            return row, created

    @contextmanager
    def locked(self, journey_id: str) -> Iterator[Session]:
        """A session holding the journey's deploy lock until it commits or closes: one change of
        a journey's current version at a time, across processes (the CLI, API replicas).

        PostgreSQL: a transaction-scoped advisory lock keyed on the journey id. SQLite: a write
        statement first, which takes the database's write lock for the whole transaction (a
        deferred transaction's reads would otherwise see a version another writer is replacing).
        """
        with session_for(self.engine) as session:
            if self.engine.dialect.name == "postgresql":
                key = zlib.crc32(f"journey:{journey_id}".encode())
                session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})
            else:
                session.execute(
                    update(JourneyVersionRow)
                    .where(JourneyVersionRow.journey_id == journey_id)
                    .values(journey_id=JourneyVersionRow.journey_id)
                )
            yield session

    def activate(
        self,
        plan: JourneyPlan,
        *,
        kind: Literal["deploy", "rollback"],
        by: str,
        source: str = "",
        tellescope_journey_id: str | None = None,
    ) -> tuple[Literal["created", "current", "unchanged"], str | None]:
        """Make `plan` the journey's current version and record one audit event, under the
        journey's deploy lock: of concurrent activations of one version exactly one changes
        anything, and each event's previous version is the one it really replaced.

        Returns (`created` a new stored version | `current` a stored one made current again |
        `unchanged` it already was current, nothing recorded; the version current before)."""
        with self.locked(plan.journeyId) as session:
            current = session.exec(
                select(JourneyVersionRow).where(
                    JourneyVersionRow.journey_id == plan.journeyId,
                    JourneyVersionRow.is_current == True,  # noqa: E712 (SQL expression)
                )
            ).first()
            previous = current.version if current is not None else None
            if current is not None and current.version == plan.version:
                if tellescope_journey_id and current.tellescope_journey_id != tellescope_journey_id:
                    current.tellescope_journey_id = tellescope_journey_id
                    session.add(current)
                    session.commit()
                    self.forget_heads()
                return "unchanged", previous
            row = session.exec(
                select(JourneyVersionRow).where(
                    JourneyVersionRow.journey_id == plan.journeyId,
                    JourneyVersionRow.version == plan.version,
                )
            ).first()
            status: Literal["created", "current"] = "current" if row is not None else "created"
            if row is None:
                row = JourneyVersionRow(
                    journey_id=plan.journeyId,
                    version=plan.version,
                    plan=plan.model_dump(mode="json", exclude_unset=True),
                    source=source,
                    source_path=plan.source,
                    tellescope_journey_id=tellescope_journey_id or plan.tellescopeJourneyId,
                    deployed_at=datetime.now(UTC),
                    deployed_by=by,
                )
            elif tellescope_journey_id:
                row.tellescope_journey_id = tellescope_journey_id
            if current is not None:
                current.is_current = False
                session.add(current)
            row.is_current = True
            session.add(row)
            session.add(
                DeploymentEventRow(
                    journey_id=plan.journeyId,
                    version=plan.version,
                    previous_version=previous,
                    kind=kind,
                    by=by[:200],
                    at=datetime.now(UTC),
                )
            )
            session.commit()
        self.forget_heads()
        return status, previous

    def delete(self, journey_id: str, *, by: str) -> str | None:
        """Mark the journey deleted: no version of it is current any more (it no longer resolves
        for enrollments, and its triggers leave `current_heads`), with one audit event (kind
        `delete`, the version that was current). Under the journey's deploy lock; returns that
        version, or None when no version was current (already deleted: nothing recorded).
        Deploying the journey again makes it current again."""
        with self.locked(journey_id) as session:
            current = session.exec(
                select(JourneyVersionRow).where(
                    JourneyVersionRow.journey_id == journey_id,
                    JourneyVersionRow.is_current == True,  # noqa: E712 (SQL expression)
                )
            ).first()
            if current is None:
                return None
            current.is_current = False
            session.add(current)
            session.add(
                DeploymentEventRow(
                    journey_id=journey_id,
                    version=current.version,
                    previous_version=current.version,
                    kind="delete",
                    by=by[:200],
                    at=datetime.now(UTC),
                )
            )
            version = current.version
            session.commit()
        self.forget_heads()
        return version

    def get(self, journey_id: str, version: str) -> JourneyPlan:
        with session_for(self.engine) as session:
            row = session.exec(
                select(JourneyVersionRow).where(
                    JourneyVersionRow.journey_id == journey_id,
                    JourneyVersionRow.version == version,
                )
            ).first()
        if row is None:
            raise PlanNotFound(f'journey "{journey_id}" has no version "{version}"')
        return JourneyPlan.model_validate(row.plan)

    def enrollment_plan(self, journey_id: str, version: str) -> JourneyPlan:
        """The plan an enrollment runs: the version without the journey's triggers (the workflow
        never reads them, trigger firings arrive as signals, and the plan is stored in every
        enrollment's history: with 1,000 triggers it was 668 KB, a third of Temporal's 2 MB
        payload limit, BENCHMARKS.md "Profiles and fixes"). Every enrollment start needs one, so
        the last few are kept (a read and a validation of the whole plan per start otherwise).
        Callers must not change it."""
        key = (journey_id, version)
        with _ENROLLMENT_PLANS_LOCK:
            plan = _ENROLLMENT_PLANS.get(key)
            if plan is not None:
                _ENROLLMENT_PLANS.move_to_end(key)
                return plan
        plan = self.get(journey_id, version).model_copy(update={"triggers": []})
        with _ENROLLMENT_PLANS_LOCK:
            _ENROLLMENT_PLANS[key] = plan
            while len(_ENROLLMENT_PLANS) > ENROLLMENT_PLANS_KEPT:
                _ENROLLMENT_PLANS.popitem(last=False)
        return plan

    def current(self, journey_id: str) -> JourneyVersionRow:
        with session_for(self.engine) as session:
            row = session.exec(
                select(JourneyVersionRow).where(
                    JourneyVersionRow.journey_id == journey_id,
                    JourneyVersionRow.is_current == True,  # noqa: E712
                )
            ).first()
        if row is None:
            raise PlanNotFound(f'journey "{journey_id}" is not deployed')
        return row

    def versions(self, journey_id: str | None = None) -> list[JourneyVersionRow]:
        with session_for(self.engine) as session:
            query = select(JourneyVersionRow).order_by(JourneyVersionRow.deployed_at)
            if journey_id is not None:
                query = query.where(JourneyVersionRow.journey_id == journey_id)
            return list(session.exec(query))

    # --- deployments ------------------------------------------------------------------------

    def journey_ids(self) -> list[str]:
        """Every journey that has a deployed version (current or not)."""
        with session_for(self.engine) as session:
            return sorted(set(session.exec(select(JourneyVersionRow.journey_id).distinct())))

    def current_rows(self) -> list[JourneyVersionRow]:
        with session_for(self.engine) as session:
            return list(
                session.exec(
                    select(JourneyVersionRow)
                    .where(JourneyVersionRow.is_current == True)  # noqa: E712
                    .order_by(JourneyVersionRow.journey_id)
                )
            )

    def current_heads(self) -> list[JourneyHead]:
        """The current version of every journey as ids only (no plan JSON or YAML source to
        decode), in deployment order: what the trigger engine reads for every event."""
        columns = (
            JourneyVersionRow.journey_id,
            JourneyVersionRow.version,
            JourneyVersionRow.tellescope_journey_id,
        )
        with session_for(self.engine) as session:
            rows = session.exec(
                select(*columns)
                .where(JourneyVersionRow.is_current == True)  # noqa: E712
                .order_by(JourneyVersionRow.deployed_at)
            )
            return [JourneyHead(*row) for row in rows]

    def recent_current_heads(self) -> list[JourneyHead]:
        """`current_heads`, remembered for HEAD_TTL_SECONDS like `resolve_head`: a deploy or
        rollback in this process is seen at once, one by another process within that time."""
        return _remembered(_CURRENT_HEADS, str(self.engine.url), self.current_heads)

    def recent_version_heads(self, *, fresh: bool = False) -> list[JourneyHead]:
        """`version_heads`, remembered for HEAD_TTL_SECONDS like `recent_current_heads`;
        `fresh` reads them now (and remembers that)."""
        return _remembered(_VERSION_HEADS, str(self.engine.url), self.version_heads, fresh=fresh)

    def version_heads(self) -> list[JourneyHead]:
        """Every stored version (current or not) as ids only, in deployment order: what routing
        a webhook by step id reads (an enrollment may run any stored version)."""
        columns = (
            JourneyVersionRow.journey_id,
            JourneyVersionRow.version,
            JourneyVersionRow.tellescope_journey_id,
        )
        with session_for(self.engine) as session:
            rows = session.exec(select(*columns).order_by(JourneyVersionRow.deployed_at))
            return [JourneyHead(*row) for row in rows]

    def current_plans(self) -> list[JourneyPlan]:
        return [JourneyPlan.model_validate(row.plan) for row in self.current_rows()]

    def resolve(self, journey_ref: str) -> JourneyVersionRow:
        """The current version of a journey named by its readable id or by its Tellescope
        journey id (Tellescope-compatible endpoints receive the latter)."""
        with session_for(self.engine) as session:
            for column in (JourneyVersionRow.journey_id, JourneyVersionRow.tellescope_journey_id):
                row = session.exec(
                    select(JourneyVersionRow).where(
                        column == journey_ref,
                        JourneyVersionRow.is_current == True,  # noqa: E712
                    )
                ).first()
                if row is not None:
                    return row
        raise PlanNotFound(f'Could not find a journey "{journey_ref}"')

    def resolve_head(self, journey_ref: str) -> JourneyHead:
        """`resolve` without loading the row: three columns, no JSON plan or YAML source to
        decode, remembered for HEAD_TTL_SECONDS (the API resolves a journey on every enrollment
        request)."""
        key = (str(self.engine.url), journey_ref)
        cached = _HEADS.get(key)
        if cached is not None and time.monotonic() - cached[0] < HEAD_TTL_SECONDS:
            return cached[1]
        head = self._read_head(journey_ref)
        if len(_HEADS) >= _HEADS_KEPT:
            _HEADS.clear()
        _HEADS[key] = (time.monotonic(), head)
        return head

    def _read_head(self, journey_ref: str) -> JourneyHead:
        columns = (
            JourneyVersionRow.journey_id,
            JourneyVersionRow.version,
            JourneyVersionRow.tellescope_journey_id,
        )
        with session_for(self.engine) as session:
            for column in (JourneyVersionRow.journey_id, JourneyVersionRow.tellescope_journey_id):
                found = session.exec(
                    select(*columns).where(
                        column == journey_ref,
                        JourneyVersionRow.is_current == True,  # noqa: E712
                    )
                ).first()
                if found is not None:
                    return JourneyHead(*found)
        raise PlanNotFound(f'Could not find a journey "{journey_ref}"')

    def row(self, journey_id: str, version: str) -> JourneyVersionRow:
        """One version; `version` may be a unique prefix (at least 4 characters)."""
        with session_for(self.engine) as session:
            rows = list(
                session.exec(
                    select(JourneyVersionRow).where(
                        JourneyVersionRow.journey_id == journey_id,
                        JourneyVersionRow.version.startswith(version, autoescape=True),
                    )
                )
            )
        exact = [r for r in rows if r.version == version]
        if exact:
            return exact[0]
        if len(rows) == 1 and len(version) >= 4:
            return rows[0]
        if len(rows) > 1 and len(version) >= 4:
            raise PlanNotFound(f'version "{version}" of journey "{journey_id}" is ambiguous')
        raise PlanNotFound(f'journey "{journey_id}" has no version "{version}"')

    def previous(self, journey_id: str) -> JourneyVersionRow | None:
        """The version deployed most recently before the current one (None if there is none)."""
        current = self.current(journey_id)
        earlier = [
            r
            for r in self.versions(journey_id)
            if r.id != current.id and r.deployed_at <= current.deployed_at
        ]
        return earlier[-1] if earlier else None

    def tellescope_journey_id(self, journey_id: str) -> str | None:
        """The Tellescope journey record this journey maps to: the current version's, else the
        most recently deployed one's (None: never deployed)."""
        try:
            return self.current(journey_id).tellescope_journey_id
        except PlanNotFound:
            rows = self.versions(journey_id)
            return rows[-1].tellescope_journey_id if rows else None

    def set_tellescope_journey_id(self, journey_id: str, version: str, record_id: str) -> None:
        with session_for(self.engine) as session:
            row = session.exec(
                select(JourneyVersionRow).where(
                    JourneyVersionRow.journey_id == journey_id,
                    JourneyVersionRow.version == version,
                )
            ).first()
            if row is not None:
                row.tellescope_journey_id = record_id
                session.add(row)
                session.commit()
        self.forget_heads()

    def events(self, journey_id: str | None = None) -> list[DeploymentEventRow]:
        with session_for(self.engine) as session:
            query = select(DeploymentEventRow).order_by(DeploymentEventRow.id)
            if journey_id is not None:
                query = query.where(DeploymentEventRow.journey_id == journey_id)
            return list(session.exec(query))
