"""Migration audit rows (docs/decisions.md D29, migration 0007) on SQLite and PostgreSQL: one
row per (migration, enduser), created once, updated with the outcome, listed in order."""

from __future__ import annotations

from store.db import upgrade_database
from store.migration_audit import FINAL, MigrationAudit


def begin(audit: MigrationAudit, enduser_id: str, **extra):
    return audit.begin(
        migration_id=extra.pop("migration_id", "m-1"),
        journey_id="onboarding",
        enduser_id=enduser_id,
        from_version="v1",
        to_version="v2",
        mapping={"check-in": "check-in-v2"},
        on_removed="cancel",
        by="ops",
        **extra,
    )


def test_one_row_per_enrollment_updated_with_its_outcome(database_url):
    audit = MigrationAudit(upgrade_database(database_url))
    first = begin(audit, "e1")
    again = begin(audit, "e1")  # a resumed migration finds the row
    assert first.id == again.id and again.outcome == "pending"
    begin(audit, "e2")
    audit.finish("m-1", "e1", "migrated", "2 pending step(s) moved")
    audit.finish("m-1", "e2", "kept", "version v2 lacks old-nudge")
    rows = audit.rows("m-1")
    assert [(r.enduser_id, r.outcome, r.detail) for r in rows] == [
        ("e1", "migrated", "2 pending step(s) moved"),
        ("e2", "kept", "version v2 lacks old-nudge"),
    ]
    row = rows[0]
    assert (row.journey_id, row.from_version, row.to_version, row.by) == (
        "onboarding",
        "v1",
        "v2",
        "ops",
    )
    assert row.mapping == {"check-in": "check-in-v2"} and row.at is not None
    assert {"migrated", "kept", "notRunning"} == FINAL


def test_an_undo_has_rows_of_its_own(database_url):
    audit = MigrationAudit(upgrade_database(database_url))
    begin(audit, "e1")
    undo = begin(audit, "e1", migration_id="m-1-undo", undoes="m-1")
    assert undo.undoes == "m-1" and audit.row("m-1", "e1") is not None
    assert [r.migration_id for r in audit.rows("m-1-undo")] == ["m-1-undo"]
    assert audit.rows("m-unknown") == []
