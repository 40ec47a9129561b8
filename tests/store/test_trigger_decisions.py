"""Trigger decisions on SQLite and PostgreSQL: one row per (trigger, enduser, event), the first
decision kept, and the retention bounds of docs/decisions.md D25 enforced as rows are written."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from store.db import upgrade_database
from store.trigger_decisions import DecisionRecord, TriggerDecisions

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


def decision(event: str, *, enduser: str = "e1", at: datetime = NOW, **extra) -> DecisionRecord:
    fields = {
        "trigger_id": "welcome",
        "title": "Welcome",
        "enduser_id": enduser,
        "event_id": event,
        "event_type": "Tag Added",
        "fired": False,
        "decided_at": at,
        "stage": "enduserCondition",
        "reason": "the enduser does not meet the trigger's enduserCondition",
        "values_seen": {"state": "CA", "Age": "1990-01-02"},
    } | extra
    return DecisionRecord(**fields)


def test_fired_and_not_fired_are_stored_once_per_event(database_url):
    store = TriggerDecisions(upgrade_database(database_url))
    fired = decision(
        "ev-1",
        fired=True,
        stage=None,
        reason="",
        firing_workflow_id="trigger:welcome:e1:ev-1",
        trigger_id="other",
    )
    assert store.record([decision("ev-1"), fired], now=NOW) == 2
    # the same event decided again (a redelivery): nothing new, the first decision kept
    assert store.record([decision("ev-1", stage="throttle", reason="later")], now=NOW) == 0
    rows = store.of_enduser("e1")
    assert [(r.trigger_id, r.fired, r.stage) for r in rows] == [
        ("welcome", False, "enduserCondition"),
        ("other", True, None),
    ]
    assert rows[0].values_seen == {"state": "CA", "Age": "1990-01-02"}
    assert rows[0].reason == "the enduser does not meet the trigger's enduserCondition"
    assert rows[1].firing_workflow_id == "trigger:welcome:e1:ev-1"
    assert store.of_enduser("e1", trigger_ids=["other"])[0].fired is True
    assert store.count() == 2


def test_rows_past_retention_are_pruned_when_writing(database_url):
    store = TriggerDecisions(upgrade_database(database_url), retention=timedelta(days=30))
    store.record([decision("old", enduser="e2", at=NOW - timedelta(days=31))], now=NOW)
    assert store.count("e2") == 0  # already past the bound when written
    store.record([decision("kept", enduser="e2", at=NOW - timedelta(days=29))], now=NOW)
    store.record([decision("new", enduser="e3")], now=NOW + timedelta(days=2))
    assert store.count("e2") == 0  # e3's write pruned e2's expired row
    assert [r.event_id for r in store.of_enduser("e3")] == ["new"]


def test_per_enduser_bound_keeps_the_newest(database_url):
    store = TriggerDecisions(upgrade_database(database_url), per_enduser=3)
    for minute in range(5):
        store.record([decision(f"ev-{minute}", at=NOW + timedelta(minutes=minute))], now=NOW)
    store.record([decision("other", enduser="e9")], now=NOW)
    assert [r.event_id for r in store.of_enduser("e1")] == ["ev-2", "ev-3", "ev-4"]
    assert store.count("e9") == 1


def test_bounds_must_be_positive(database_url):
    engine = upgrade_database(database_url)
    with pytest.raises(ValueError, match="positive"):
        TriggerDecisions(engine, per_enduser=0)


def test_bounds_come_from_the_settings_and_hold_for_one_instant(database_url):
    """One event decided by many triggers at one instant: the bound still holds (ties broken
    by insertion order, the last written kept), and the rows past it are never written."""
    from settings import EngineSettings

    settings = EngineSettings(trigger_decisions_retention_days=7, trigger_decisions_per_enduser=2)
    store = TriggerDecisions.from_settings(upgrade_database(database_url), settings)
    assert (store.retention, store.per_enduser) == (timedelta(days=7), 2)
    batch = [decision("ev", trigger_id=f"t{i}") for i in range(4)]
    assert store.record(batch, now=NOW) == 2
    assert [r.trigger_id for r in store.of_enduser("e1")] == ["t2", "t3"]
    store.record([decision("late", at=NOW - timedelta(days=8))], now=NOW)
    assert store.count("e1") == 2 and "late" not in {r.event_id for r in store.of_enduser("e1")}


def test_an_event_over_the_bound_keeps_the_decisions_that_tell_most(database_url):
    """More triggers of the event's type than the per-enduser bound: what an operator asks about
    stays (the firing, then triggers stopped after the event matched them: condition, scope),
    and triggers that only listened for something else (stage `event`) make up the rest, the
    last written first; written in the order decided. Another enduser's rows are not touched."""
    store = TriggerDecisions(upgrade_database(database_url), per_enduser=4)
    other_form = {"stage": "event", "reason": "formId is not f1", "values_seen": None}
    batch = [
        decision("ev", trigger_id="t0", **other_form),
        decision("ev", trigger_id="t1", fired=True, stage=None, reason=""),
        decision("ev", trigger_id="t2", **other_form),
        decision("ev", trigger_id="t3", stage="journey", reason="not enrolled"),
        decision("ev", trigger_id="t4", **other_form),
        decision("ev", trigger_id="t5", **other_form),
        decision("ev", trigger_id="x", enduser="e2", **other_form),
    ]
    assert store.record(batch, now=NOW) == 5
    assert [r.trigger_id for r in store.of_enduser("e1")] == ["t1", "t3", "t4", "t5"]
    assert [r.trigger_id for r in store.of_enduser("e2")] == ["x"]
