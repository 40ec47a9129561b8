"""What the metrics read from the ledger (docs/metrics.md §2, §3): the status changes a write
made (a retried batch changes nothing, so counts nothing), and the waiting/overdue aggregates
per step, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

from temporalio.common import MetricMeter

from activities.action_metrics import cancel_reason_label, count_transitions
from store.db import upgrade_database
from store.ledger import Ledger
from tests.store.test_ledger_queries import T0, entry

# Below 2**31: process_after is a 32-bit INTEGER column on PostgreSQL (reported separately).
NOW_MS = 2_000_000_000


def test_a_retried_batch_changes_no_status(database_url):
    ledger = Ledger(upgrade_database(database_url))
    first = [entry(1, status="active"), entry(2, status="finished")]
    changes = ledger.record_transitions(first)
    assert [(c.entry.id, c.before) for c in changes] == [(first[0].id, None), (first[1].id, None)]
    assert ledger.record_transitions(first) == []  # the retry of a committed batch
    done = entry(1, status="error", errorMessage="Missing phone", errorClass="TellescopeRejected")
    assert [(c.entry.status, c.before) for c in ledger.record_transitions([done])] == [
        ("error", "active")
    ]
    assert ledger.record_transitions([done]) == []
    # A late duplicate "active" write never revives a terminal row, and counts nothing.
    assert ledger.record_transitions([entry(1, status="active")]) == []
    assert ledger.record([done, entry(3)]) == 2  # `record` still answers the batch size


def test_waiting_and_overdue_per_step(database_url):
    ledger = Ledger(upgrade_database(database_url))
    hour = 3_600_000
    ledger.record(
        [
            entry(0, status="active", processAfter=NOW_MS + hour),  # s1: due later
            entry(1, status="active", processAfter=NOW_MS - hour),  # s1: an hour overdue
            entry(2, status="active", processAfter=NOW_MS - 2 * hour),  # s1: two hours
            entry(3, status="finished", processAfter=NOW_MS - 5 * hour),  # not active
            entry(
                6,
                status="active",
                processAfter=NOW_MS - 3 * hour,
                event={"type": "waitForTrigger", "info": {"triggerId": "t"}},
            ),  # s2: parked, never overdue
        ]
    )
    rows = sorted(ledger.waiting_by_step(NOW_MS))
    assert rows == [("j", "s1", 3, 2, NOW_MS - 2 * hour), ("j", "s2", 1, 0, None)]


class _Recorder:
    """A stand-in MetricMeter that keeps what was added."""

    def __init__(self) -> None:
        self.added: list[tuple[str, dict]] = []

    def with_additional_attributes(self, attributes) -> _Recorder:
        return self  # the activity's own labels (activity type, task queue) are not asserted

    def create_counter(self, name: str, description: str | None = None, unit=None):
        recorder = self

        class _Counter:
            def add(self, value: int, attributes=None) -> None:
                recorder.added.append((name, dict(attributes or {})))

        return _Counter()


def test_transitions_are_counted_with_ids_only(database_url):
    ledger = Ledger(upgrade_database(database_url))
    meter = _Recorder()
    changes = ledger.record_transitions(
        [
            entry(1, status="active"),
            entry(2, status="finished"),
            entry(3, status="cancelled", cancelReason=3),
            entry(6, status="error", errorClass="TellescopeRejected"),
        ]
    )
    count_transitions(changes, meter=meter)  # type: ignore[arg-type]
    assert sorted(meter.added, key=lambda a: a[0]) == [
        (
            "journeys_actions_cancelled_total",
            {"journey": "j", "step": "s1", "reason": "incoming_communication"},
        ),
        (
            "journeys_actions_errored_total",
            {"journey": "j", "step": "s2", "error_class": "TellescopeRejected"},
        ),
        ("journeys_actions_finished_total", {"journey": "j", "step": "s1"}),
    ]
    assert cancel_reason_label(None) == cancel_reason_label(99) == "unknown"
    assert isinstance(MetricMeter.noop, MetricMeter)


def test_one_batch_inserts_updates_and_keeps_every_column(database_url):
    """The write is three Core statements per batch (docs/decisions.md D36): a batch mixing a
    new row, an update of a stored one and the same action twice leaves what the ORM did: every
    column of the last write, created_at of the first, a terminal row never revived."""
    ledger = Ledger(upgrade_database(database_url))
    ledger.record([entry(1, status="active"), entry(2, status="finished")])
    later = T0 + timedelta(hours=1)
    changes = ledger.record_transitions(
        [
            entry(1, status="cancelled", cancelReason=2, cancelledBy="ops", at=later.isoformat()),
            entry(3, status="active", journeyContext={"formResponseId": "fr-1"}),
            entry(3, status="finished", detail="done", at=later.isoformat()),
            entry(2, status="active"),  # a late duplicate of a finished action
        ]
    )
    assert [(c.entry.id, c.entry.status, c.before) for c in changes] == [
        (entry(1).id, "cancelled", "active"),
        (entry(3).id, "active", None),
        (entry(3).id, "finished", "active"),
    ]
    cancelled = ledger.get(entry(1).id)
    assert cancelled is not None
    assert (cancelled.status, cancelled.cancel_reason, cancelled.cancelled_by) == (
        "cancelled",
        2,
        "ops",
    )
    assert cancelled.created_at.replace(tzinfo=None) == T0.replace(tzinfo=None) + timedelta(
        minutes=1
    )
    assert cancelled.updated_at.replace(tzinfo=None) == later.replace(tzinfo=None)
    third = ledger.get(entry(3).id)
    assert third is not None
    assert (third.status, third.detail, third.journey_context) == ("finished", "done", None)
    assert third.event == {"type": "onJourneyStart", "info": {}}
    finished = ledger.get(entry(2).id)
    assert finished is not None and finished.status == "finished"
