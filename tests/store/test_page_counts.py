"""What the journey pages count, from the ledger on SQLite and PostgreSQL (docs/decisions.md
D24): patients per step in the state of their newest action, enrollments per state, errors in
the last day, and waiting patients with their due time in the organisation's zone; active
patients per plan version and paused patients (docs/decisions.md D28 and D29)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from compiler import compile_paths
from models.runtime import LedgerEntry
from services.journey_page import (
    enrollment_states,
    errors_since,
    live,
    paused_endusers,
    step_counts,
    versions,
    waiting,
)
from store.db import upgrade_database
from store.ledger import Ledger
from tests.api.conftest import ORGANIZATION, journey_yaml

T0 = datetime(2027, 1, 5, 15, 0, tzinfo=UTC)  # 10:00 in New York


@pytest.fixture(scope="module")
def plan(tmp_path_factory):
    folder = tmp_path_factory.mktemp("journey")
    (folder / "j.yaml").write_text(journey_yaml("j", "J"))
    (folder / "organization.yaml").write_text(ORGANIZATION)
    return compile_paths([folder]).plans[0]


def entry(n: int, enduser: str, step: str, status: str, minutes: int, **extra) -> LedgerEntry:
    values = {
        "id": f"{n:024x}",
        "enduserId": enduser,
        "journeyId": "j",
        "journeyVersion": "v",
        "tellescopeJourneyId": "64f0000000000000000000aa",
        "automationStepId": step,
        "tellescopeStepId": "a" * 24,
        "workflowId": f"journey:j:{enduser}",
        "event": {"type": "afterAction", "info": {"automationStepId": "start", "delayInMS": 0}},
        "action": {"type": "setEnduserStatus", "info": {"status": "x"}},
        "status": status,
        "processAfter": int((T0 + timedelta(days=2)).timestamp() * 1000),
        "at": (T0 + timedelta(minutes=minutes)).isoformat(),
        **extra,
    }
    return LedgerEntry(**values)


@pytest.fixture
def ledger(database_url) -> Ledger:
    ledger = Ledger(upgrade_database(database_url))
    two_days = {
        "type": "afterAction",
        "info": {"automationStepId": "start", "delayInMS": 172_800_000},
    }
    ledger.record(
        [
            # e1: started, restarted (its first `later` cancelled), waiting at `later` again
            entry(1, "e1", "start", "finished", 0),
            entry(2, "e1", "later", "cancelled", 1, cancelReason=1),
            entry(3, "e1", "start", "finished", 2),
            entry(4, "e1", "later", "active", 3, event=two_days),
            # e2: waiting for a trigger at `side`
            entry(5, "e2", "start", "finished", 4),
            entry(
                6,
                "e2",
                "side",
                "active",
                5,
                event={
                    "type": "waitForTrigger",
                    "info": {"automationStepId": "later", "triggerId": "t1"},
                },
            ),
            # e3: removed by the API; e4: its last action failed; e5: done
            entry(7, "e3", "start", "finished", 6),
            entry(8, "e3", "later", "cancelled", 7, cancelReason=0),
            entry(9, "e4", "start", "error", 8, errorMessage="no phone"),
            entry(10, "e5", "start", "finished", 9),
        ]
    )
    # another journey's rows do not count
    ledger.record([entry(11, "e1", "start", "error", 10, journeyId="other")])
    return ledger


def test_patients_not_actions_per_step(ledger, plan):
    rows = ledger.step_rows("j")
    assert [r.id for r in rows] == [f"{n:024x}" for n in range(1, 11)]  # oldest first
    assert step_counts(plan, rows) == {
        "start": {"waiting": 0, "done": 4, "cancelled": 0, "failed": 1},
        "later": {"waiting": 1, "done": 0, "cancelled": 1, "failed": 0},
        "side": {"waiting": 1, "done": 0, "cancelled": 0, "failed": 0},
    }
    assert enrollment_states(rows) == {"active": 2, "finished": 1, "removed": 1, "failed": 1}
    assert len(ledger.step_rows()) == 11


def test_errors_in_the_last_day(ledger):
    rows = ledger.step_rows("j")
    assert errors_since(rows, T0) == 1
    assert errors_since(rows, T0 + timedelta(minutes=9)) == 0


def test_waiting_patients_with_due_time_in_the_organisations_zone(ledger, plan):
    lists = waiting(plan, ledger.step_rows("j"))
    (later,) = lists["later"]
    assert later.enduserId == "e1" and later.href == "/journeys/j/enrollments/e1"
    assert later.dueAt == "2027-01-07T10:00-05:00" and later.due == "Thu 07 Jan 2027 10:00 EST"
    assert later.waitsFor == "timer (2 days)"
    (side,) = lists["side"]
    assert side.dueAt is None and side.waitsFor == "trigger t1"
    data = live(plan, ledger, now=T0 + timedelta(hours=1))
    assert (
        data["timezone"] == "America/New_York" and data["updatedAt"] == "2027-01-05T11:00:00-05:00"
    )
    assert data["errorsLastDay"] == 1
    assert data["steps"]["later"]["counts"]["waiting"] == 1


def test_active_patients_per_version_each_once_in_their_newest_rows_version(ledger, plan):
    old = {"journeyVersion": "old"}
    ledger.record(
        [
            # e1's newest row is on the plan's version; e6 is active on `old` only; e7's older
            # row is on `old` but its newest on the plan's: each patient counts once
            entry(20, "e1", "later", "active", 20, journeyVersion=plan.version),
            entry(21, "e6", "later", "active", 21, **old),
            entry(22, "e7", "start", "finished", 22, **old),
            entry(23, "e7", "later", "active", 23, journeyVersion=plan.version),
            entry(24, "e8", "start", "finished", 24, **old),  # done: not active anywhere
        ]
    )
    rows = ledger.step_rows("j")
    assert versions(plan, rows) == [
        {"version": plan.version, "current": True, "active": 2, "paused": 0},
        {"version": "old", "current": False, "active": 1, "paused": 0},  # written last
        {"version": "v", "current": False, "active": 1, "paused": 0},  # e2 at `side`
    ]
    data = live(plan, ledger, now=T0)
    assert sum(v["active"] for v in data["versions"]) == data["enrollments"]["active"] == 4


def test_paused_patients_from_the_newest_pause_or_resume_note(ledger, plan):
    two_days = {"type": "afterAction", "info": {"automationStepId": "start", "delayInMS": 1}}
    ledger.record([entry(4, "e1", "later", "active", 30, event=two_days, detail="paused by op")])
    ledger.record([entry(6, "e2", "side", "active", 31, detail="paused by op")])
    rows = ledger.step_rows("j")
    assert paused_endusers(rows) == {"e1", "e2"}
    ledger.record([entry(6, "e2", "side", "active", 32, detail="resumed by op")])
    rows = ledger.step_rows("j")
    assert paused_endusers(rows) == {"e1"}
    (later,) = waiting(plan, rows)["later"]
    assert later.paused is True
    (side,) = waiting(plan, rows)["side"]
    assert side.paused is False
    data = live(plan, ledger, now=T0)
    assert data["paused"] == 1 and data["steps"]["later"]["paused"] == 1
    assert data["versions"] == [
        {"version": plan.version, "current": True, "active": 0, "paused": 0},
        {"version": "v", "current": False, "active": 2, "paused": 1},
    ]
