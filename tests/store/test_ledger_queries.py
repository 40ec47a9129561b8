"""Ledger reads behind the API: filtered, cursor-paged listing and per-step counts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from models.runtime import LedgerEntry
from store.db import upgrade_database
from store.ledger import Ledger

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def entry(i: int, **overrides) -> LedgerEntry:
    values = {
        "id": f"{i:024x}"[::-1],  # ids not in creation order, as the workflow's random ids
        "enduserId": "e1" if i % 2 else "e2",
        "journeyId": "j",
        "journeyVersion": "v",
        "tellescopeJourneyId": "64f0000000000000000000aa",
        "automationStepId": "s1" if i < 5 else "s2",
        "tellescopeStepId": "a" * 24 if i < 5 else "b" * 24,
        "workflowId": "journey:j:e1",
        "event": {"type": "onJourneyStart", "info": {}},
        "action": {"type": "setEnduserStatus", "info": {"status": "x"}},
        "status": "finished" if i % 3 else "active",
        "processAfter": 0,
        "at": (T0 + timedelta(minutes=i)).isoformat(),
    }
    values.update(overrides)
    return LedgerEntry(**values)


@pytest.fixture
def ledger(database_url) -> Ledger:
    ledger = Ledger(upgrade_database(database_url))
    ledger.record([entry(i) for i in range(10)])
    ledger.record([entry(10, abTestLabel="A", status="finished")])
    return ledger


def test_pages_newest_first_with_last_id(ledger):
    seen = []
    last = None
    while True:
        page = ledger.query(last_id=last, limit=3)
        seen += [row.id for row in page]
        if len(page) < 3:
            break
        last = page[-1].id
    expected = [entry(i).id for i in reversed(range(11))]
    assert seen == expected
    oldest = ledger.query(limit=4, newest_first=False)
    assert [r.id for r in oldest] == expected[::-1][:4]
    after = ledger.query(last_id=oldest[-1].id, limit=2, newest_first=False)
    assert [r.id for r in after] == expected[::-1][4:6]


def test_filters(ledger):
    assert {r.enduser_id for r in ledger.query(where={"enduser_id": "e1"})} == {"e1"}
    assert len(ledger.query(where={"status": ["active"]})) == 4  # 0, 3, 6, 9
    assert len(ledger.query(where={"tellescope_step_id": "b" * 24, "enduser_id": "e2"})) == 3
    window = ledger.query(
        created_from=T0 + timedelta(minutes=2), created_to=T0 + timedelta(minutes=3)
    )
    assert len(window) == 2
    with pytest.raises(LookupError):
        ledger.query(last_id="f" * 24)
    with pytest.raises(ValueError):
        ledger.query(where={"event": "x"})


def test_step_counts(ledger):
    counts = {(s, status, label): n for s, _t, status, label, n in ledger.step_counts("j")}
    assert counts[("s1", "active", None)] == 2  # 0, 3
    assert counts[("s1", "finished", None)] == 3  # 1, 2, 4
    assert counts[("s2", "finished", "A")] == 1
    assert ledger.step_counts("other") == []
