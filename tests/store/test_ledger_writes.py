"""The ledger's writes (store/prepared.py: statements compiled once, run on the driver's cursor)
store exactly what SQLAlchemy Core stores for the same row, on SQLite and PostgreSQL, and keep
the write's rules: one transaction, transitions counted once, no way out of a terminal status."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from models.runtime import LedgerEntry
from store.db import upgrade_database
from store.ledger import LEDGER_TABLE, SELECT_CHUNK, Ledger, _row_values
from store.prepared import driver_cursor

T0 = datetime(2026, 3, 1, 9, 30, 15, 123456, tzinfo=UTC)


def entry(i: int, status: str = "active", **overrides) -> LedgerEntry:
    values = {
        "id": f"act{i:029d}",
        "enduserId": "64f0000000000000000000e1",
        "journeyId": "welcome",
        "journeyVersion": "v3",
        "tellescopeJourneyId": "64f0000000000000000000aa",
        "automationStepId": "hello",
        "tellescopeStepId": "64f0000000000000000000bb",
        "workflowId": "journey:welcome:64f0000000000000000000e1",
        "event": {"type": "afterAction", "info": {"delayInMS": 60000, "unit": "Minutes"}},
        "action": {"type": "addEnduserTags", "info": {"tags": ["new", "é"]}},
        "status": status,
        "processAfter": 1_772_000_000_000 + i,
        "at": (T0 + timedelta(seconds=i)).isoformat(),
    }
    values.update(overrides)
    return LedgerEntry(**values)


EVERY_FIELD = {
    "cancelReason": 3,
    "cancelledBy": "64f00000000000000000cccc",
    "cancelConditions": [{"type": "formResponses", "unsubmittedFormCount": 2}],
    "didDelayForOutOfOffice": True,
    "errorMessage": "Tellescope answered 409: conflict",
    "enduserConditions": {"$and": [{"condition": {"state": "CA"}}]},
    "journeyContext": {"formResponseId": "64f00000000000000000dddd"},
    "skipped": "conditions",
    "abTestLabel": "B",
    "detail": "paused by ops",
    "actingEnduserId": "64f0000000000000000000e2",
    "unsubmittedFormCount": 2,
    "isNOP": True,
}


def stored_columns(engine, ids: list[str]) -> dict[str, tuple]:
    """Each row as the database holds it, read without SQLAlchemy's type conversion."""
    statement = select(LEDGER_TABLE).where(LEDGER_TABLE.c.id.in_(ids))
    compiled = statement.compile(dialect=engine.dialect, compile_kwargs={"literal_binds": True})
    with driver_cursor(engine) as cursor:
        cursor.execute(str(compiled))
        return {row[0]: tuple(row) for row in cursor.fetchall()}


@pytest.fixture
def ledger(database_url) -> Ledger:
    return Ledger(upgrade_database(database_url))


@pytest.mark.parametrize("fields", [{}, EVERY_FIELD], ids=["defaults", "every-field"])
def test_rows_are_stored_as_sqlalchemy_core_stores_them(ledger, fields):
    ours = entry(1, "error", **fields)
    core = ours.model_copy(update={"id": entry(2).id})
    ledger.record([ours])
    at = datetime.fromisoformat(core.at)
    with ledger.engine.begin() as connection:
        connection.execute(
            LEDGER_TABLE.insert(),
            [{"id": core.id, "created_at": at, "updated_at": at, **_row_values(core)}],
        )
    rows = stored_columns(ledger.engine, [ours.id, core.id])
    assert rows[ours.id][1:] == rows[core.id][1:]
    # and the ORM reads our row back as written
    read = ledger.get(ours.id)
    assert read is not None
    assert read.cancel_conditions == fields.get("cancelConditions")
    assert read.is_nop is fields.get("isNOP", False)
    assert read.created_at.replace(tzinfo=UTC) == T0 + timedelta(seconds=1)


def test_updates_keep_created_at_and_rewrite_the_rest(ledger):
    first = entry(5)
    ledger.record([first])
    later = entry(5, "finished", at=(T0 + timedelta(hours=1)).isoformat(), **EVERY_FIELD)
    assert [(t.entry.id, t.before) for t in ledger.record_transitions([later])] == [
        (first.id, "active")
    ]
    row = ledger.get(first.id)
    assert row is not None
    assert row.status == "finished"
    assert row.created_at.replace(tzinfo=UTC) == T0 + timedelta(seconds=5)
    assert row.updated_at.replace(tzinfo=UTC) == T0 + timedelta(hours=1)
    assert row.detail == "paused by ops"
    assert row.journey_context == EVERY_FIELD["journeyContext"]


def test_a_batch_larger_than_one_select_counts_each_transition_once(ledger):
    count = SELECT_CHUNK * 2 + 7
    created = ledger.record_transitions([entry(i) for i in range(count)])
    assert len(created) == count and all(t.before is None for t in created)
    # finish every other one, then try to revive all of them and finish the rest
    finished = ledger.record_transitions([entry(i, "finished") for i in range(0, count, 2)])
    assert len(finished) == len(range(0, count, 2))
    mixed = [entry(i) for i in range(count)] + [entry(i, "cancelled") for i in range(1, count, 2)]
    changes = ledger.record_transitions(mixed)
    assert sorted(t.entry.id for t in changes) == sorted(entry(i).id for i in range(1, count, 2))
    assert {t.before for t in changes} == {"active"}
    statuses = {row.id: row.status for row in ledger.list(limit=count + 1)}
    assert len(statuses) == count
    assert all(statuses[entry(i).id] == "finished" for i in range(0, count, 2))
    assert all(statuses[entry(i).id] == "cancelled" for i in range(1, count, 2))
    # a retried batch changes nothing and counts nothing
    assert ledger.record_transitions(mixed) == []


def test_a_write_that_raises_leaves_nothing(ledger):
    row = entry(9)
    with pytest.raises(RuntimeError, match="after the insert"):
        with driver_cursor(ledger.engine) as cursor:
            insert = ledger._statements().insert
            at = datetime.fromisoformat(row.at)
            values = {"id": row.id, "created_at": at, "updated_at": at, **_row_values(row)}
            cursor.execute(insert.sql, insert.parameters(values))
            raise RuntimeError("after the insert")
    assert ledger.get(row.id) is None
    ledger.record([row])
    assert ledger.get(row.id) is not None
