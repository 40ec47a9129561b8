"""Migration dry run (docs/live-change.md §3, docs/decisions.md D29): running enrollments on the
time-skipping server, previewed against a new version, nothing changed."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from models.runtime import FormSubmitted
from services import migration
from services.errors import InvalidInput, NotFound
from tests.workflows.conftest import write_journey
from tests.workflows.test_forms import wait_for
from workflows.journey import JourneyWorkflow

pytestmark = pytest.mark.asyncio(loop_scope="session")

V1 = """
journey: {id: migrating, title: Migrating}
steps:
  - id: send-intake
    events: [{type: onJourneyStart, info: {}}]
    action: {type: sendForm, info: {senderId: u1, formId: f1}}
  - id: reminder
    events: [{type: formUnsubmitted, info: {automationStepId: send-intake, delay: 2, unit: Days}}]
    action: {type: addEnduserTags, info: {tags: [reminded]}}
  - id: check-in
    events: [{type: afterAction, info: {automationStepId: send-intake, delay: 5, unit: Days}}]
    action: {type: addEnduserTags, info: {tags: [checked]}}
  - id: old-nudge
    events: [{type: afterAction, info: {automationStepId: send-intake, delay: 7, unit: Days}}]
    action: {type: addEnduserTags, info: {tags: [nudged]}}
"""

# The reminder comes a day sooner, check-in is renamed, old-nudge is gone.
V2 = """
journey: {id: migrating, title: Migrating}
steps:
  - id: send-intake
    events: [{type: onJourneyStart, info: {}}]
    action: {type: sendForm, info: {senderId: u1, formId: f1}}
  - id: reminder
    events: [{type: formUnsubmitted, info: {automationStepId: send-intake, delay: 1, unit: Days}}]
    action: {type: addEnduserTags, info: {tags: [reminded]}}
  - id: check-in-v2
    events: [{type: afterAction, info: {automationStepId: send-intake, delay: 5, unit: Days}}]
    action: {type: addEnduserTags, info: {tags: [checked]}}
"""


async def two_enrollments(runtime, tmp_path):
    """A waits on the reminder's timer, check-in, old-nudge and its form; B submitted its
    form (no reminder)."""
    runtime.deploy(write_journey(tmp_path / "v1", V1))
    v1 = runtime.plans.current("migrating").version
    runtime.tellescope.form_response_ids["send-intake"] = ["fr-a", "fr-b"]
    a, b = f"{runtime.enduser_id}-a", f"{runtime.enduser_id}-b"
    first = await runtime.enroll("migrating", a)
    await wait_for(runtime, first, lambda s: len(s.pending) == 3)
    second = await runtime.enroll("migrating", b)
    await wait_for(runtime, second, lambda s: len(s.pending) == 3)
    plan = runtime.plans.get("migrating", v1)
    await second.signal(
        JourneyWorkflow.form_submitted,
        FormSubmitted(
            formResponseId="fr-b",
            automationStepId=plan.tellescopeStepIds["send-intake"],
        ),
    )
    await wait_for(runtime, second, lambda s: len(s.pending) == 2)
    runtime.deploy(write_journey(tmp_path / "v2", V2))
    v2 = runtime.plans.current("migrating").version
    assert v2 != v1
    return (a, first), (b, second), v1, v2


async def test_dry_run_reports_every_enrollment_and_changes_nothing(runtime, tmp_path):
    async with runtime.worker():
        (a, first), (b, second), v1, v2 = await two_enrollments(runtime, tmp_path)
        before = [await h.query(JourneyWorkflow.status) for h in (first, second)]
        preview = await migration.preview_migration(
            runtime.client,
            runtime.plans,
            runtime.ledger,
            "migrating",
            v2,
            {"check-in": "check-in-v2"},
            "cancel",
        )
        after = [await h.query(JourneyWorkflow.status) for h in (first, second)]
    assert after == before  # nothing changed: same version, same pending steps and due times
    assert {e.enduserId for e in preview.enrollments} == {a, b}
    assert {e.fromVersion for e in preview.enrollments} == {v1}
    assert preview.waitingNow == {"check-in": 2, "old-nudge": 2, "reminder": 1}
    assert preview.waitingAfter == {"check-in-v2": 2, "reminder": 1}
    assert preview.cancelled == {"old-nudge": 2}
    assert preview.retimed == {"reminder": 1}
    one = next(e for e in preview.enrollments if e.enduserId == a)
    moves = {m.stepId: m for m in one.moves}
    reminder = moves["reminder"]
    assert reminder.change == "retimed" and reminder.dueAt and reminder.toDueAt
    shift = datetime.fromisoformat(reminder.dueAt) - datetime.fromisoformat(reminder.toDueAt)
    assert shift == timedelta(days=1)  # one day sooner: 1 day after it was created
    assert (moves["check-in"].change, moves["check-in"].toStepId) == ("mapped", "check-in-v2")
    assert moves["check-in"].toDueAt == moves["check-in"].dueAt  # same delay: same due time
    assert (moves["old-nudge"].change, moves["old-nudge"].toStepId) == ("cancelled", None)


async def test_dry_run_keeping_removed_steps_and_bad_input(runtime, tmp_path):
    async with runtime.worker():
        (a, _), (b, _), v1, v2 = await two_enrollments(runtime, tmp_path)
        kept = await migration.preview_migration(
            runtime.client, runtime.plans, runtime.ledger, "migrating", v2, {}, "keep"
        )
        assert kept.cancelled == {}
        # both wait for old-nudge, which v2 lacks: with keep they stay on v1 (as applying does)
        assert {e.outcome for e in kept.enrollments} == {"kept"}
        # check-in has no step of that name in v2 and no mapping: it is kept as it was
        assert kept.waitingAfter == {"check-in": 2, "old-nudge": 2, "reminder": 1}
        same = await migration.preview_migration(
            runtime.client, runtime.plans, runtime.ledger, "migrating", v1, {}, "keep"
        )
        assert sorted(same.alreadyOnTarget) == sorted([a, b]) and same.enrollments == []
        with pytest.raises(NotFound, match='has no version "nope"'):
            await migration.preview_migration(
                runtime.client, runtime.plans, runtime.ledger, "migrating", "nope", {}, "keep"
            )
        with pytest.raises(InvalidInput, match='has no step "gone"') as error:
            await migration.preview_migration(
                runtime.client,
                runtime.plans,
                runtime.ledger,
                "migrating",
                v2,
                {"check-in": "gone"},
                "keep",
            )
        assert error.value.path == "map.check-in"
    with pytest.raises(InvalidInput) as bad:
        migration.parse_mapping(["a=b", "oops"])
    assert bad.value.path == "--map[1]"
