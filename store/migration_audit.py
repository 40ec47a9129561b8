"""Audit rows of migrations of running enrollments (table `enrollment_migrations`, migration
0007; docs/decisions.md D29): one row per (migration, enduser), written `pending` before the
enrollment is signalled and updated with the outcome, so an interrupted migration resumes where
it stopped and an undo knows whom to move back."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from store.db import session_for
from store.tables import EnrollmentMigrationRow

FINAL = frozenset({"migrated", "kept", "notRunning"})  # pending / failed are tried again


class MigrationAudit:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def begin(
        self,
        *,
        migration_id: str,
        journey_id: str,
        enduser_id: str,
        from_version: str,
        to_version: str,
        mapping: dict[str, Any],
        on_removed: str,
        by: str,
        undoes: str | None = None,
    ) -> EnrollmentMigrationRow:
        """The (migration, enduser) row, created `pending` if it does not exist yet."""
        found = self.row(migration_id, enduser_id)
        if found is not None:
            return found
        row = EnrollmentMigrationRow(
            migration_id=migration_id,
            journey_id=journey_id,
            enduser_id=enduser_id,
            from_version=from_version,
            to_version=to_version,
            mapping=mapping,
            on_removed=on_removed,
            by=by,
            at=datetime.now(UTC),
            outcome="pending",
            undoes=undoes,
        )
        try:
            with session_for(self.engine) as session:
                session.add(row)
                session.commit()
        except IntegrityError:  # a concurrent run of the same migration wrote it first
            existing = self.row(migration_id, enduser_id)
            assert existing is not None
            return existing
        return row

    def finish(self, migration_id: str, enduser_id: str, outcome: str, detail: str = "") -> None:
        with session_for(self.engine) as session:
            row = session.exec(
                select(EnrollmentMigrationRow).where(
                    EnrollmentMigrationRow.migration_id == migration_id,
                    EnrollmentMigrationRow.enduser_id == enduser_id,
                )
            ).one()
            row.outcome, row.detail = outcome, detail
            session.add(row)
            session.commit()

    def row(self, migration_id: str, enduser_id: str) -> EnrollmentMigrationRow | None:
        with session_for(self.engine) as session:
            return session.exec(
                select(EnrollmentMigrationRow).where(
                    EnrollmentMigrationRow.migration_id == migration_id,
                    EnrollmentMigrationRow.enduser_id == enduser_id,
                )
            ).first()

    def rows(self, migration_id: str) -> list[EnrollmentMigrationRow]:
        with session_for(self.engine) as session:
            return list(
                session.exec(
                    select(EnrollmentMigrationRow)
                    .where(EnrollmentMigrationRow.migration_id == migration_id)
                    .order_by(EnrollmentMigrationRow.id)
                )
            )
