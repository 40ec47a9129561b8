"""Migrating running enrollments (docs/live-change.md §3, docs/decisions.md D29) on the
time-skipping server: enrollments parked on a timer, a form and a ticket move to a new version,
keep what is done, get one audit row each, and move back on undo."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from models.runtime import FormSubmitted, TicketClosed
from services import migration
from store.migration_audit import MigrationAudit
from tests.workflows.conftest import write_journey
from tests.workflows.test_forms import patch_ids, wait_for
from workflows.journey import JourneyWorkflow
from workflows.patches import PATCH_MIGRATE_VERSION

pytestmark = pytest.mark.asyncio(loop_scope="session")

STEPS = """
journey: {id: moving, title: Moving}
steps:
  - id: send-intake
    events: [{type: onJourneyStart, info: {}}]
    action: {type: sendForm, info: {senderId: u1, formId: f1}}
  - id: make-ticket
    events: [{type: onJourneyStart, info: {}}]
    action: {type: createTicket, info: {title: Call, assignmentStrategy: {type: default, info: {}}, defaultAssignee: u1}}
  - id: reminder
    events: [{type: formUnsubmitted, info: {automationStepId: send-intake, delay: %d, unit: Days}}]
    action: {type: addEnduserTags, info: {tags: [reminded]}}
  - id: %s
    events: [{type: afterAction, info: {automationStepId: send-intake, delay: 5, unit: Days}}]
    action: {type: addEnduserTags, info: {tags: [checked]}}
  - id: thanks
    events: [{type: formResponse, info: {automationStepId: send-intake}}]
    action: {type: setEnduserStatus, info: {status: Submitted %s}}
  - id: after-call
    events: [{type: ticketCompleted, info: {automationStepId: make-ticket}}]
    action: {type: addEnduserTags, info: {tags: [called-%s]}}
"""
OLD_NUDGE = """
  - id: old-nudge
    events: [{type: afterAction, info: {automationStepId: send-intake, delay: 7, unit: Days}}]
    action: {type: addEnduserTags, info: {tags: [nudged]}}
"""
V1 = STEPS % (2, "check-in", "v1", "v1") + OLD_NUDGE
# The reminder a day sooner, check-in renamed, old-nudge gone, the branches say v2.
V2 = STEPS % (1, "check-in-v2", "v2", "v2")
MAP = {"check-in": "check-in-v2"}


async def parked(runtime, tmp_path):
    """One enrollment on v1 parked on timers (reminder, check-in, old-nudge), its form and its
    ticket; then v2 is deployed."""
    runtime.deploy(write_journey(tmp_path / "v1", V1))
    v1 = runtime.plans.current("moving").version
    runtime.tellescope.form_response_ids["send-intake"] = ["fr-1"]
    handle = await runtime.enroll("moving")
    status = await wait_for(
        runtime, handle, lambda s: len(s.pending) == 3 and any("ticket" in w for w in s.waitingFor)
    )
    runtime.deploy(write_journey(tmp_path / "v2", V2))
    v2 = runtime.plans.current("moving").version
    return handle, status, v1, v2


def due(status, step: str) -> datetime:
    (view,) = [p for p in status.pending if p.stepId == step]
    assert view.dueAt is not None
    return datetime.fromisoformat(view.dueAt)


async def migrate(runtime, audit, to_version, mapping=MAP, on_removed="cancel", **extra):
    return await migration.apply_migration(
        runtime.client,
        runtime.plans,
        runtime.ledger,
        audit,
        "moving",
        to_version,
        mapping,
        on_removed,
        by="ops",
        **extra,
    )


async def test_migrate_timer_form_and_ticket_waits_with_audit_rows(runtime, tmp_path):
    audit = MigrationAudit(runtime.plans.engine)
    async with runtime.worker():
        handle, before, v1, v2 = await parked(runtime, tmp_path)
        report = await migrate(runtime, audit, v2)
        assert report.migrated == [runtime.enduser_id], report
        after = await wait_for(runtime, handle, lambda s: s.planVersion == v2)
        assert sorted(p.stepId for p in after.pending) == ["check-in-v2", "reminder"]
        assert due(after, "reminder") == due(before, "reminder") - timedelta(days=1)  # re-timed
        assert due(after, "check-in-v2") == due(before, "check-in")  # same delay: same time
        (nudge,) = runtime.ledger_rows("old-nudge")
        assert nudge.status == "cancelled" and nudge.cancelled_by == "ops"
        assert f"removed by migration {report.migrationId}" in nudge.detail
        (moved,) = runtime.ledger_rows("check-in-v2")
        assert moved.journey_version == v2 and moved.status == "active"
        # the form and the ticket now start v2's branches
        plan = runtime.plans.get("moving", v1)
        await handle.signal(
            JourneyWorkflow.form_submitted,
            FormSubmitted(
                formResponseId="fr-1", automationStepId=plan.tellescopeStepIds["send-intake"]
            ),
        )
        ticket = next(w for w in after.waitingFor if w.startswith("ticket")).split()[1]
        await handle.signal(JourneyWorkflow.ticket_closed, TicketClosed(ticketId=ticket))
        done = await wait_for(runtime, handle, lambda s: s.state == "Submitted v2")
        await wait_for(runtime, handle, lambda s: any(h.stepId == "after-call" for h in s.history))
        assert [p.stepId for p in done.pending] == ["check-in-v2"]  # the reminder cancelled
        await runtime.env.sleep(timedelta(days=6))
        await handle.result()
    steps = runtime.steps_done()
    assert steps.count("send-intake") == steps.count("make-ticket") == 1  # nothing re-ran
    assert steps.count("check-in-v2") == 1 and "old-nudge" not in steps and "reminder" not in steps
    assert "called-v2" in runtime.tellescope.enduser["tags"]
    (row,) = audit.rows(report.migrationId)
    assert (row.enduser_id, row.from_version, row.to_version) == (runtime.enduser_id, v1, v2)
    assert (row.mapping, row.on_removed, row.by, row.outcome) == (MAP, "cancel", "ops", "migrated")


async def test_resumed_migration_signals_once_and_undo_moves_back(runtime, tmp_path):
    audit = MigrationAudit(runtime.plans.engine)
    async with runtime.worker():
        handle, before, v1, v2 = await parked(runtime, tmp_path)
        first = await migrate(runtime, audit, v2, migration_id="m-resume")
        again = await migrate(runtime, audit, v2, migration_id="m-resume")  # resumed: all done
        assert first.migrated == again.migrated == [runtime.enduser_id]
        await wait_for(runtime, handle, lambda s: s.planVersion == v2)
        (undone,) = await migration.undo_migration(
            runtime.client, runtime.plans, audit, "m-resume", by="ops"
        )
        assert undone.migrated == [runtime.enduser_id] and undone.undoes == "m-resume"
        back = await wait_for(runtime, handle, lambda s: s.planVersion == v1)
        first_run = runtime.client.get_workflow_handle(handle.id, run_id=handle.result_run_id)
        history = await first_run.fetch_history()  # the run that took the migration
    assert sorted(p.stepId for p in back.pending) == ["check-in", "reminder"]  # old-nudge: gone
    assert due(back, "reminder") == due(before, "reminder")  # re-timed back
    assert due(back, "check-in") == due(before, "check-in")
    assert [m.migrationId for m in back.migrations] == ["m-resume", "m-resume-undo"]
    (row,) = audit.rows("m-resume-undo")
    assert (row.from_version, row.to_version, row.undoes) == (v2, v1, "m-resume")
    assert row.mapping == {"check-in-v2": "check-in"}
    assert PATCH_MIGRATE_VERSION in patch_ids(history)


async def test_keep_leaves_an_enrollment_whose_step_is_gone_on_its_version(runtime, tmp_path):
    audit = MigrationAudit(runtime.plans.engine)
    async with runtime.worker():
        handle, before, v1, v2 = await parked(runtime, tmp_path)
        report = await migrate(runtime, audit, v2, on_removed="keep")
        status = await handle.query(JourneyWorkflow.status)
    assert report.kept == [runtime.enduser_id]
    assert status.planVersion == v1 and status.pending == before.pending
    (row,) = audit.rows(report.migrationId)
    assert row.outcome == "kept" and "lacks old-nudge" in row.detail


async def test_a_journey_migrates_in_batches_with_progress(runtime, tmp_path):
    audit = MigrationAudit(runtime.plans.engine)
    runtime.deploy(write_journey(tmp_path / "v1", V1))
    endusers = [f"{runtime.enduser_id}-{n}" for n in range(3)]
    async with runtime.worker():
        handles = [await runtime.enroll("moving", e) for e in endusers]
        for handle in handles:
            await wait_for(runtime, handle, lambda s: len(s.pending) == 3)
        runtime.deploy(write_journey(tmp_path / "v2", V2))
        v2 = runtime.plans.current("moving").version
        seen: list[tuple[int, int]] = []
        report = await migrate(
            runtime, audit, v2, batch_size=2, progress=lambda p: seen.append((p.done, p.total))
        )
        for handle in handles:
            await wait_for(runtime, handle, lambda s: s.planVersion == v2)
    assert sorted(report.migrated) == sorted(endusers) and report.batches == 2
    assert seen == [(2, 3), (3, 3)]
    assert sorted(r.enduser_id for r in audit.rows(report.migrationId)) == sorted(endusers)
